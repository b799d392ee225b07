"""The language model: one loading path for every Qwen causal LM, the tiny offline model, dtype choice, LoRA.

Every model loads through ``AutoModelForCausalLM`` / ``AutoTokenizer`` from a hub id or a local folder, never
with ``trust_remote_code``. Without hub access the default is the tiny offline Qwen3-architecture model in
``data_samples/tiny_qwen3``, rebuilt by :func:`e2llm_lab.build.build_tiny_llm` (``e2llm-lab build-tiny-llm``).
"""
from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import torch
import transformers
from packaging.version import Version

from ._atomic import write_text_atomic
from ._device import resolve_device
from .errors import damaged, find_damaged
from .config import LLMConfig
from .instructions import EEG_END, EEG_START, EEG_TOKEN, SYSTEM_PROMPT

__all__ = ["EEG_TOKENS", "CHATML_TEMPLATE", "tiny_llm_path", "check_llm_source", "choose_dtype", "load_llm",
           "add_eeg_tokens", "add_lora", "quiet_peft", "chat_prompt", "save_tokenizer"]

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

    Raises
    ------
    CheckpointError
        When a file of a local model folder is truncated or corrupt (the message names it).
    """
    path = str(name_or_path) if name_or_path is not None else str(tiny_llm_path())
    dev = resolve_device(device)
    if dtype == "auto":
        torch_dtype = choose_dtype(dev)
    elif dtype in ("float32", "bfloat16"):
        torch_dtype = getattr(torch, dtype)
    else:
        raise ValueError(f"dtype={dtype!r}; allowed: 'auto', 'float32', 'bfloat16'")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        model = transformers.AutoModelForCausalLM.from_pretrained(path, **{_DTYPE_KW: torch_dtype}).to(dev)
    except Exception as err:
        # a truncated or corrupt file of a local folder: name it (transformers' and tokenizers' messages do not)
        bad = find_damaged(path) if Path(path).is_dir() else None
        if bad is None:
            raise
        redo = " (the tiny offline model: `e2llm-lab build-tiny-llm`)" if Path(path) == tiny_llm_path() else ""
        raise damaged(bad, err, f"copy the model folder {path} again or re-save it{redo}") from err
    add_eeg_tokens(model, tokenizer)
    return model, tokenizer


def add_lora(model, cfg: LLMConfig = LLMConfig()):
    """Wrap ``model`` with LoRA adapters on all linear layers (peft); only the adapters train."""
    from peft import LoraConfig, get_peft_model

    if cfg.gradient_checkpointing:
        # transformers 5 renamed it; 4.51-4.57 (Colab until 2026) only know the old name
        enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
        enable()
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    with quiet_peft():
        return get_peft_model(model, lora)


@contextlib.contextmanager
def quiet_peft():
    """Silence, around one peft call, the deprecation transformers 5 raises when peft reads
    ``model.is_gradient_checkpointing``: nothing a student can act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


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
