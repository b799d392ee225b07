"""The language model: one loading path for every Qwen causal LM, the tiny offline model, dtype choice, LoRA.

Every model loads through ``AutoModelForCausalLM`` / ``AutoTokenizer`` from a hub id or a local folder, never
with ``trust_remote_code``. Without hub access the default is the tiny offline Qwen3-architecture model in
``data_samples/tiny_qwen3``, rebuilt by :func:`build_tiny_llm` (``e2llm-lab build-tiny-llm``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers
from packaging.version import Version
from tqdm.auto import tqdm

from ._atomic import write_text_atomic
from ._device import resolve_device
from .config import LLMConfig
from .instructions import EEG_END, EEG_START, EEG_TOKEN, SYSTEM_PROMPT

__all__ = ["EEG_TOKENS", "CHATML_TEMPLATE", "tiny_llm_path", "check_llm_source", "choose_dtype", "load_llm", "add_eeg_tokens",
           "add_lora", "chat_prompt", "save_tokenizer", "warmup_texts", "build_tiny_llm"]

EEG_TOKENS = (EEG_START, EEG_TOKEN, EEG_END)
# ChatML, as Qwen uses; the assistant's reasoning sits inline in a <think> ... </think> block.
CHATML_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
                   "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
                   "{% endif %}")
# transformers 4.56 renamed from_pretrained's torch_dtype to dtype; Colab may have either side.
_DTYPE_KW = "dtype" if Version(transformers.__version__) >= Version("4.56.0") else "torch_dtype"


def tiny_llm_path() -> Path:
    """Folder of the shipped tiny offline model."""
    from .data.samples import sample_dir

    path = sample_dir() / "tiny_qwen3"
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"tiny model not found at {path}; rebuild it with `e2llm-lab build-tiny-llm`")
    return path


def _looks_like_path(name: str) -> bool:
    # hub ids are "owner/name"; anything else that reads as a path is one
    return (name.startswith(("/", "./", "../", "~", ".")) or "\\" in name or name.count("/") > 1
            or Path(name).expanduser().exists())


def _hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the hub cannot be reached (offline mode, DNS, no route), found in a few seconds; None if it can."""
    import os
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return "HF_HUB_OFFLINE is set"
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
    except OSError as err:
        return f"{url.hostname}: {err.strerror or type(err).__name__}"
    return None


def check_llm_source(name_or_path: str | Path | None) -> str:
    """Check, before any work starts, that a model can be loaded from ``name_or_path``; return where it loads from.

    A folder must hold ``config.json``; a hub id must be in the local Hugging Face cache or reachable (its
    ``config.json`` is fetched, a few kB). Raises ``ValueError`` with one sentence saying what to do.
    """
    if name_or_path is None:
        return str(tiny_llm_path())
    name = str(name_or_path)
    if _looks_like_path(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise ValueError(f"model folder {name} does not exist; pass a folder holding a Qwen checkpoint "
                             f"(config.json, weights, tokenizer) or a hub id such as 'Qwen/Qwen3-0.6B'")
        if not (folder / "config.json").exists():
            raise ValueError(f"model folder {name} holds no config.json; point at the folder that "
                             f"save_pretrained wrote (config.json, weights, tokenizer)")
        return str(folder)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import HfHubHTTPError, HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        raise ValueError(f"{name!r} is neither an existing model folder nor a valid hub id ('owner/name', e.g. "
                         f"'Qwen/Qwen3-0.6B')") from None
    try:
        hf_hub_download(name, "config.json", local_files_only=True)
        return name                                                      # in the local cache
    except Exception:
        pass
    reach = _hub_unreachable()
    if reach:
        raise ValueError(f"cannot reach the Hugging Face hub for {name!r} and it is not in the local cache ({reach}); "
                         f"run where the hub is reachable (Colab), or download it once and pass its folder")
    try:
        hf_hub_download(name, "config.json")
    except HfHubHTTPError as err:
        raise ValueError(f"the Hugging Face hub has no model {name!r} you can read ({type(err).__name__}); check the "
                         f"id (e.g. 'Qwen/Qwen3-0.6B') or log in for a gated model") from None
    except Exception as err:                                             # offline, DNS, proxy, HF_HUB_OFFLINE=1
        raise ValueError(f"cannot reach the Hugging Face hub for {name!r} and it is not in the local cache "
                         f"({type(err).__name__}); run where the hub is reachable (Colab), or download it once "
                         f"and pass its folder") from None
    return name


def choose_dtype(device) -> torch.dtype:
    """bf16 only on CUDA with compute capability >= 8; fp32 otherwise.

    A T4 (capability 7.5) reports bf16 "supported" through slow emulation, and Qwen overflows in fp16.
    """
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8:
        return torch.bfloat16
    return torch.float32


def add_eeg_tokens(model, tokenizer) -> list[int]:
    """Add ``<|eeg_start|>``, ``<|eeg|>``, ``<|eeg_end|>`` as special tokens (if absent) and resize embeddings.

    Returns their ids.
    """
    missing = [t for t in EEG_TOKENS if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_tokens([transformers.AddedToken(t, special=True, normalized=False) for t in missing],
                             special_tokens=True)
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer.convert_tokens_to_ids(list(EEG_TOKENS))


def load_llm(name_or_path: str | Path | None = None, *, device: str = "auto", dtype: str = "auto"):
    """Load a Qwen2/Qwen2.5/Qwen3 causal LM and its tokenizer, with the EEG tokens added.

    Parameters
    ----------
    name_or_path : str or Path, optional
        Hub id (e.g. ``"Qwen/Qwen3-0.6B"``) or local folder; default the tiny offline model.
    device : str
        "auto" (CUDA when available), "cpu", "cuda", ...
    dtype : {"auto", "float32", "bfloat16"}

    Returns
    -------
    model : transformers.PreTrainedModel
    tokenizer : transformers.PreTrainedTokenizerBase
    """
    path = str(name_or_path) if name_or_path is not None else str(tiny_llm_path())
    dev = resolve_device(device)
    if dtype == "auto":
        torch_dtype = choose_dtype(dev)
    elif dtype in ("float32", "bfloat16"):
        torch_dtype = getattr(torch, dtype)
    else:
        raise ValueError(f"dtype={dtype!r}; allowed: 'auto', 'float32', 'bfloat16'")
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModelForCausalLM.from_pretrained(path, **{_DTYPE_KW: torch_dtype}).to(dev)
    add_eeg_tokens(model, tokenizer)
    return model, tokenizer


def add_lora(model, cfg: LLMConfig = LLMConfig()):
    """Wrap ``model`` with LoRA adapters on all linear layers (peft); only the adapters train."""
    from peft import LoraConfig, get_peft_model

    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def chat_prompt(tokenizer, user: str, *, system: str = SYSTEM_PROMPT) -> str:
    """The chat-formatted prompt up to the assistant's turn (the model's own template)."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def save_tokenizer(tokenizer, folder) -> Path:
    """Save a tokenizer so that transformers 4.51 through 5.x can all load it.

    transformers 5 names a plain fast tokenizer's class ``TokenizersBackend`` (unknown before 5.0) and writes
    the chat template to ``chat_template.jinja`` only; older versions read ``tokenizer_config.json``.
    """
    folder = Path(folder)
    tokenizer.save_pretrained(folder)
    path = folder / "tokenizer_config.json"
    cfg = json.loads(path.read_text())
    if cfg.get("tokenizer_class") == "TokenizersBackend":
        cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
        cfg["model_input_names"] = ["input_ids", "attention_mask"]    # 4.x would add token_type_ids
    for key in ("is_local", "local_files_only"):                       # load-time state 5.x writes back
        cfg.pop(key, None)
    if "chat_template" not in cfg and tokenizer.chat_template:
        cfg["chat_template"] = tokenizer.chat_template
    write_text_atomic(path, json.dumps(cfg, indent=2))
    return folder


# -- the tiny offline model ------------------------------------------------------------------------------

def _train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *EEG_TOKENS, "<think>", "</think>"]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                                pad_token="<|endoftext|>")
    fast.chat_template = CHATML_TEMPLATE
    return fast


def warmup_texts(tokenizer, fs, idx, *, n: int, seed: int = 0, n_sentences: int = 600,
                 n_questions: int = 600) -> list[str]:
    """The tiny model's warm-up texts, shuffled: chat-formatted instruction examples of rows ``idx`` (their EEG
    placeholders carry no information yet), scene sentences and multiple-choice questions (:mod:`.knowledge`).

    Never the ``scenario`` task: that family stays held out for zero-shot evaluation.
    """
    from .encoder import region_pooling_matrix
    from .instructions import make_examples
    from .knowledge import knowledge_texts

    sentences, questions = knowledge_texts(seed, n_sentences=n_sentences, n_questions=n_questions)
    n_tasks = max(1, n - len(sentences) - len(questions)) // 5 + 1          # fill the rest with the 5 tasks
    n_eeg = region_pooling_matrix(fs.ch_names).shape[0] + 1
    examples = make_examples(fs, idx, n_per_task=n_tasks, n_eeg_tokens=n_eeg, seed=seed + 1)
    texts = [chat_prompt(tokenizer, ex.prompt) + ex.answer + tokenizer.eos_token + "\n" for ex in examples]
    texts += sentences
    texts += [chat_prompt(tokenizer, q, system="You answer multiple-choice questions.") + a + tokenizer.eos_token
              + "\n" for q, a in questions]
    return [texts[i] for i in np.random.default_rng(seed).permutation(len(texts))]


def build_tiny_llm(out_dir, *, seed: int = 0, vocab_size: int = 1024, hidden_size: int = 128, n_layers: int = 4,
                   steps: int = 600, batch_size: int = 16, n_sentences: int = 1500, n_questions: int = 1500,
                   progress: bool = True) -> Path:
    """Build the tiny offline Qwen3-architecture model deterministically and save it in HF format.

    1. a byte-level BPE tokenizer trained (``tokenizers``) on the package's own text: instruction examples of the
       sample cohort's training subjects and the world knowledge of :mod:`~e2llm_lab.knowledge`; ChatML template;
    2. a ``Qwen3ForCausalLM`` of ``n_layers`` x ``hidden_size``;
    3. a language warm-up: next-token training on chat-formatted instruction examples (their EEG placeholders
       carry no information yet) mixed with what a real LLM brings from pre-training: sentences linking everyday
       scenes to emotions and generic multiple-choice questions. The held-out ``scenario`` task and the
       quickstart's held-out subjects never appear in it.

    Returns the folder (config.json, model.safetensors, tokenizer files).
    """
    from .data.samples import load_sample
    from .encoder import region_pooling_matrix
    from .instructions import corpus
    from .knowledge import knowledge_texts
    from .quickstart import QUICKSTART_TEST_SUBJECTS

    torch.manual_seed(seed)
    fs = load_sample(n_steps=4)
    train = np.flatnonzero(~fs.meta.subject.isin(QUICKSTART_TEST_SUBJECTS).to_numpy())
    n_eeg = region_pooling_matrix(fs.ch_names).shape[0] + 1
    sentences, questions = knowledge_texts(seed, n_sentences=n_sentences, n_questions=n_questions)
    world = sentences + [q for q, _ in questions] + [a for _, a in questions]
    tok = _train_tokenizer(corpus(fs, train, seed=seed, n_eeg_tokens=n_eeg) + world, vocab_size)
    cfg = transformers.Qwen3Config(
        vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=3 * hidden_size, num_hidden_layers=n_layers,
        num_attention_heads=4, num_key_value_heads=2, head_dim=hidden_size // 4, max_position_embeddings=1024,
        tie_word_embeddings=True, rope_theta=10000.0, bos_token_id=None, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id)
    model = transformers.Qwen3ForCausalLM(cfg)
    texts = warmup_texts(tok, fs, train, n=steps * batch_size, seed=seed, n_sentences=n_sentences,
                         n_questions=n_questions)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    model.train()
    for step in tqdm(range(steps), desc="tiny LLM warm-up", disable=not progress):
        batch = tok(texts[step * batch_size:(step + 1) * batch_size], return_tensors="pt", padding=True)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = model(**batch, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    model.eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    save_tokenizer(tok, out)
    write_text_atomic(out / "warmup.json", json.dumps({"seed": seed, "steps": steps, "batch_size": batch_size,
                                                 "n_sentences": n_sentences, "n_questions": n_questions,
                                                 "final_loss": float(loss.detach()), "n_texts": len(texts)}, indent=1))
    return out
