import pytest
import torch
import transformers

from e2llm_lab.instructions import EEG_TOKEN
from e2llm_lab.llm import EEG_TOKENS, add_eeg_tokens, add_lora, chat_prompt, choose_dtype, load_llm, tiny_llm_path


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
    prompt = chat_prompt(tok, "EEG: " + "<|eeg_start|>" + EEG_TOKEN * 12 + "<|eeg_end|>\nWhich emotion is the person feeling?")
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**ids, max_new_tokens=200, do_sample=False, pad_token_id=tok.pad_token_id)
    text = tok.decode(out[0, ids["input_ids"].shape[1]:])
    assert text.startswith("<think> Closest learned signature") and "</think>" in text and "Emotion:" in text


def test_dtype_rule():
    assert choose_dtype("cpu") == torch.float32
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
    from e2llm_lab.llm import save_tokenizer

    _assert_portable(tiny_llm_path())
    save_tokenizer(tiny[1], tmp_path)
    _assert_portable(tmp_path)
    back = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert back("<|eeg|> hello")["input_ids"] == tiny[1]("<|eeg|> hello")["input_ids"]
    assert set(back("hi")) == {"input_ids", "attention_mask"}
