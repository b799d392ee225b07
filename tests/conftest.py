import os
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("E2LLM_FAST", "1")


@pytest.fixture(scope="session")
def tiny_synth_cfg():
    from e2llm_lab.config import SyntheticConfig

    return SyntheticConfig(n_subjects=2, n_trials_per_emotion=1, trial_s=16.0, seed=3)


@pytest.fixture(scope="session")
def tiny_cohort(tiny_synth_cfg):
    from e2llm_lab.data.synthetic import make_cohort

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_cohort(tiny_synth_cfg)


@pytest.fixture
def crash_after_saves(monkeypatch):
    """Make ``module.save_training_state`` raise KeyboardInterrupt right after its n-th save (a simulated crash).

    Returns a function ``arm(module, n)``; the patch is undone when the test ends or by ``arm.undo()``.
    """
    def arm(module, n):
        real = module.save_training_state
        calls = {"n": 0}

        def save_then_crash(*args, **kwargs):
            real(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt(f"simulated crash after save {n}")

        monkeypatch.setattr(module, "save_training_state", save_then_crash)
        arm.undo = lambda: monkeypatch.setattr(module, "save_training_state", real)

    return arm


@pytest.fixture(scope="module")
def fs():
    """The sample cohort in 2-window samples (hop 4): small enough for E2LLM tests on a CPU."""
    from e2llm_lab.data.samples import load_sample

    return load_sample().with_steps(2, stride=4)


@pytest.fixture
def small_e2llm():
    """A factory of small, seeded E2LLM models (tiny encoder + the shipped tiny LLM) in eval mode."""
    import torch

    from e2llm_lab.config import E2LLMConfig, EncoderConfig
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.model import E2LLM

    def build(fs):
        torch.manual_seed(0)
        enc = EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1, n_steps=fs.n_steps))
        return E2LLM.build(enc, E2LLMConfig(), device="cpu").eval()

    return build


# -- a GGUF file written by the tests themselves (any causal LM through one path) -----------------------------

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
           "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
           "{% endif %}")


def _write_tiny_gguf(path, seed=0):
    """A tiny random Llama as a GGUF file, written with gguf's own writer (Q8_0 matrices, byte-level BPE).

    Returns the token embedding matrix before quantisation, shape (vocab, hidden).
    """
    import gguf
    import numpy as np
    from tokenizers.pre_tokenizers import ByteLevel

    hidden, inter, n_layers, n_heads, n_kv, head_dim = 64, 128, 2, 2, 1, 32
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *sorted(ByteLevel.alphabet()), "he", "hel", "hell",
              "hello"]
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama-test")
    w.add_context_length(128)
    w.add_embedding_length(hidden)
    w.add_block_count(n_layers)
    w.add_feed_forward_length(inter)
    w.add_head_count(n_heads)
    w.add_head_count_kv(n_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types([gguf.TokenType.CONTROL] * 3 + [gguf.TokenType.NORMAL] * (len(tokens) - 3))
    w.add_token_merges(["h e", "he l", "hel l", "hell o"])
    w.add_bos_token_id(0)
    w.add_eos_token_id(2)
    w.add_pad_token_id(0)
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)
    rng = np.random.default_rng(seed)

    def matrix(name, shape):
        a = rng.normal(0, 0.05, shape).astype(np.float32)
        w.add_tensor(name, gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0),
                     raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        return a

    emb = matrix("token_embd.weight", (len(tokens), hidden))                  # no output.weight: tied lm_head
    for i in range(n_layers):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden, np.float32))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden, np.float32))
        for name, shape in (("attn_q", (n_heads * head_dim, hidden)), ("attn_k", (n_kv * head_dim, hidden)),
                            ("attn_v", (n_kv * head_dim, hidden)), ("attn_output", (hidden, n_heads * head_dim)),
                            ("ffn_gate", (inter, hidden)), ("ffn_up", (inter, hidden)), ("ffn_down", (hidden, inter))):
            matrix(f"blk.{i}.{name}.weight", shape)
    w.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return emb


@pytest.fixture
def write_tiny_gguf():
    """``write(path, seed=0)``: a tiny random Llama as a GGUF file; returns its token embeddings (vocab, hidden)."""
    return _write_tiny_gguf


@pytest.fixture
def chatml():
    """The ChatML chat template (Jinja) the test GGUF carries."""
    return CHATML
