"""The model: EEG encoder -> projector -> EEG tokens spliced into a causal LM.

- :mod:`.encoder`: :class:`EEGEncoder`, electrode x band tokens -> region tokens (sizes from the data);
- :mod:`.projector`: region tokens -> the LM's hidden size;
- :mod:`.llm`: one loading path for every causal LM (hub id, folder, .gguf, named offline model), dtype, LoRA;
- :mod:`.processor`: chat prompts -> token ids -> padded batches, the only place a prompt is tokenised;
- :mod:`.model`: :class:`E2LLM`, embed (encode, project, splice), forward, generate, save/load.
"""
from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {"EEGEncoder": ".encoder", "EEGProjector": ".projector", "build_projector": ".projector",
            "load_llm": ".llm", "add_lora": ".llm", "check_llm_source": ".llm", "EEGPromptProcessor": ".processor",
            "E2LLM": ".model"}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
