"""A checkpoint on a real LM keeps only what it trained: the added tokens' rows, a bf16 adapter, the base's hash.

The base here is a tiny random Llama written as a GGUF file by the test (no model download): loading it adds the
EEG tokens, so their embedding rows are drawn at random, exactly the case a real LM is in.
"""
import json

import pytest
import torch


@pytest.fixture
def gguf_e2llm(tmp_path, monkeypatch, write_tiny_gguf):
    from e2llm_lab.config import E2LLMConfig, EncoderConfig, LLMConfig
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.llm import add_lora
    from e2llm_lab.models.model import E2LLM

    monkeypatch.setenv("E2LLM_LAB_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "base.gguf"
    write_tiny_gguf(path, seed=0)

    def build(fs):
        torch.manual_seed(0)
        enc = EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1, n_steps=fs.n_steps))
        cfg = E2LLMConfig(llm=LLMConfig(name_or_path=str(path), dtype="float32", lora_r=4, lora_alpha=8))
        model = E2LLM.build(enc, cfg, device="cpu")
        model.llm = add_lora(model.llm, cfg.llm)
        with torch.no_grad():                     # a trained adapter: B is zero at initialisation
            for name, p in model.llm.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.05)
        return model.eval()

    return build, path


def test_added_rows_bf16_adapter_and_base_hash_round_trip(fs, tmp_path, gguf_e2llm):
    from e2llm_lab.models.llm import added_token_rows, base_fingerprint
    from e2llm_lab.models.model import E2LLM

    build, path = gguf_e2llm
    model = build(fs)
    ids = added_token_rows(model.tokenizer)
    n_base = 256 + 3 + 4                                  # the GGUF's vocabulary: the new tokens come after it
    assert len(ids) == 3 and min(ids) >= n_base
    rows = model.llm.get_input_embeddings().weight[ids].detach().clone()
    folder = model.save_pretrained(tmp_path / "ckpt", adapter_dtype="bfloat16", tokenizer=False)

    names = {f.name for f in folder.iterdir()}
    assert {"added_embeddings.safetensors", "base.json", "adapter"} <= names and "tokenizer" not in names
    from safetensors.torch import load_file

    saved = load_file(str(folder / "added_embeddings.safetensors"))
    assert saved["input"].shape == (3, 64) and "output" not in saved          # tied lm_head: one copy
    adapter = load_file(str(folder / "adapter" / "adapter_model.safetensors"))
    assert {v.dtype for v in adapter.values()} == {torch.bfloat16}
    base = json.loads((folder / "base.json").read_text())
    import hashlib

    assert base["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == base_fingerprint(path)["sha256"]

    # a fresh load draws other random rows for the added tokens; the checkpoint puts the trained ones back
    torch.manual_seed(123)
    loaded = E2LLM.from_pretrained(folder, device="cpu")
    assert torch.equal(loaded.llm.get_input_embeddings().weight[ids], rows)
    lora = {k: v for k, v in loaded.llm.state_dict().items() if "lora_" in k}
    orig = {k: v for k, v in model.llm.state_dict().items() if "lora_" in k}
    assert lora.keys() == orig.keys() and len(lora) > 0
    for k in orig:                                                           # bf16-rounded, nothing else
        torch.testing.assert_close(lora[k], orig[k].to(torch.bfloat16).float(), rtol=0, atol=0)
    # same outputs up to the adapter's bf16 rounding
    ids_in = model.tokenizer(["hello"], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        a = model.llm(input_ids=ids_in).logits
        b = loaded.llm(input_ids=ids_in).logits
    assert 0 < (a - b).abs().max() < 1e-2


def test_a_checkpoint_refuses_another_base(fs, tmp_path, gguf_e2llm, write_tiny_gguf):
    from e2llm_lab.models.model import E2LLM

    build, path = gguf_e2llm
    folder = build(fs).save_pretrained(tmp_path / "ckpt", adapter_dtype="bfloat16", tokenizer=False)
    write_tiny_gguf(path, seed=1)                     # the same file name, other weights
    with pytest.raises(ValueError, match=r"trained on other weights of .*base.gguf.*install the version"):
        E2LLM.from_pretrained(folder, device="cpu")
