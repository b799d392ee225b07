"""The tiny offline model's builder: a loadable Qwen3 model, deterministic, within the size budget."""
import inspect
import json

import pytest
import torch
import transformers

from e2llm_lab.build import CURRICULUM, _tiny_config, build_tiny_llm
from e2llm_lab.llm import EEG_TOKENS, chat_prompt, load_llm

_SMOKE = dict(vocab_size=400, hidden_size=32, n_layers=1, n_heads=1, steps=6, batch_size=4, n_sentences=100,
              n_questions=200, progress=False)


@pytest.fixture(scope="module")
def smoke_build(tmp_path_factory):
    return build_tiny_llm(tmp_path_factory.mktemp("tiny") / "model", seed=3, **_SMOKE)


def test_builder_writes_a_qwen3_model_the_auto_classes_load(smoke_build):
    model, tok = load_llm(smoke_build, device="cpu")
    assert type(model).__name__ == "Qwen3ForCausalLM" and model.dtype == torch.float32
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 1
    assert model.get_input_embeddings().weight.shape[0] == len(tok) <= 400      # EEG tokens were built in
    ids = tok.convert_tokens_to_ids(list(EEG_TOKENS))
    assert tok("".join(EEG_TOKENS), add_special_tokens=False)["input_ids"] == ids
    enc = tok(chat_prompt(tok, "Which feeling is the most positive? (a) fear (b) joy (c) sadness"),
              return_tensors="pt", add_special_tokens=False)
    out = model(**enc, labels=enc["input_ids"])
    assert out.logits.shape == (1, enc["input_ids"].shape[1], len(tok)) and torch.isfinite(out.loss)
    info = json.loads((smoke_build / "warmup.json").read_text())
    assert [s["name"] for s in info["stages"]] == [name for name, _, _ in CURRICULUM]
    assert info["steps"] == pytest.approx(6, abs=3) and info["seed"] == 3


def test_builder_is_deterministic(smoke_build, tmp_path):
    from safetensors.torch import load_file

    again = build_tiny_llm(tmp_path / "again", seed=3, **_SMOKE)
    a, b = load_file(smoke_build / "model.safetensors"), load_file(again / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (smoke_build / "tokenizer.json").read_text() == (again / "tokenizer.json").read_text()


def test_default_model_fits_the_shipped_size_budget():
    """The default recipe's weights stay under 16 MB in fp32 (data_samples/ allows no larger file)."""
    d = {k: p.default for k, p in inspect.signature(build_tiny_llm).parameters.items()}
    cfg = _tiny_config(d["vocab_size"], d["hidden_size"], d["n_layers"], d["n_heads"])
    with torch.device("meta"):
        n = sum(p.numel() for p in transformers.Qwen3ForCausalLM(cfg).parameters())
    assert 1e6 < n and 4 * n < 16 * 2**20
