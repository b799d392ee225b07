"""e2llm_lab: interpretable EEG emotion analysis with a large language model (the E^2-LLM recipe).

The folders tell the pipeline, and imports run down this list (``tests/test_layers.py``):

- the base: ``config``, ``labels``, ``emotions``, ``channels``, ``errors`` and the ``_*`` helpers;
- ``data``: readers, filtering and DE features, the FeatureSet, splits and the leakage guard, the audit;
- ``text``: the chat format and EEG tokens, task templates, evidence (rationales), reading answers;
- ``models``: encoder, projector, the causal LM, the prompt processor, E2LLM;
- ``training``: stage 1 (``pretrain``), stages 2-3 (``train``), ``pipeline`` (stages 1-3 chained), checkpoints;
- ``evaluate`` and ``interpret``: the evaluation protocol; attributions, attention, figures, the explorer;
- ``apps``: quickstart, reference models, builds, Colab setup, the ``e2llm-lab`` command.

``import e2llm_lab`` is cheap: each public name is imported from its module on first use (PEP 562), so the
command line answers ``--help`` or refuses a bad argument before torch, transformers or MNE are loaded.
"""
from __future__ import annotations

import importlib

from . import _compat
from ._version import __version__

_compat.install()           # old module paths (e2llm_lab.model, e2llm_lab.llm, ...) forward to their homes, warning

#: Public name -> the module (relative to this package) that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("setup_notebook",), ".apps.colab"),
    **dict.fromkeys(("SEED_CH_NAMES", "REGIONS", "REGION_NAMES", "make_info", "make_montage"), ".channels"),
    **dict.fromkeys(("DEFAULT_BANDS", "DataConfig", "SyntheticConfig", "E2LLMConfig", "PRESETS", "fast_config"),
                    ".config"),
    **dict.fromkeys(("FeatureSet", "LeakageError", "check_no_leakage", "kfold_by_subject", "leave_one_subject_out",
                     "trial_split", "load_sample", "load_sample_raw", "make_cohort", "read_raw", "read_seed7_features",
                     "EEGFileError", "MissingChannelsError", "NoCapChannelsError", "Split", "split", "HeldOut",
                     "held_out_rows"), ".data"),
    **dict.fromkeys(("LabelSpace", "LabelSpaceError", "LABEL_SPACES", "get_label_space", "quadrant_label"),
                    ".labels"),
    **dict.fromkeys(("EmotionSignatures", "make_examples"), ".text.instructions"),
    **dict.fromkeys(("evaluate_generation", "generation_summary", "evaluate_all"), ".evaluate"),
    **dict.fromkeys(("EMOTIONS", "VALENCE", "AROUSAL", "normalize_emotion"), ".emotions"),
    "EEGDataError": ".data.errors",
    **dict.fromkeys(("differential_entropy", "lds_smooth"), ".data.de"),
    "preprocess_raw": ".data.filtering",
    "extract_features": ".data.recordings",
    "EEGEncoder": ".models.encoder",
    "pretrain_encoder": ".training.pretrain",
    "build_projector": ".models.projector",
    **dict.fromkeys(("load_llm", "add_lora"), ".models.llm"),
    "E2LLM": ".models.model",
    "train_stage": ".training.train",
    **dict.fromkeys(("TrainedRun", "resolve_config", "train_e2llm"), ".training.pipeline"),
    "run_quickstart": ".apps.quickstart",
    "CheckpointError": ".errors",
    "configure_threads": "._threads",
}

#: Subpackages and modules reachable as attributes (``e2llm_lab.interpret``) without importing them first.
_SUBMODULES = frozenset({"data", "text", "models", "training", "evaluate", "interpret", "apps", "channels", "config",
                         "emotions", "errors", "labels"})

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    """Import a public name (or a submodule) on first access and keep it in the package namespace."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _compat.MOVED:                                  # an old module path: warns, then forwards
        return _compat.moved_module(name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
