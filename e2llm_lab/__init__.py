"""e2llm_lab: interpretable EEG emotion analysis with a large language model (the E^2-LLM recipe).

The pipeline, one module per step: ``data`` (synthetic cohorts, readers, FeatureSet) -> ``preprocess``
(filtering, DE features) -> ``encoder``/``pretrain`` (stage 1) -> ``projector`` -> ``llm``/``model`` (Qwen with
EEG tokens) -> ``train`` (stages 2-3) -> ``pipeline`` (the split; stages 1-3 chained) -> ``evaluate`` ->
``interpret`` (figures, attention, EEG tokens).

``import e2llm_lab`` is cheap: each public name is imported from its module on first use (PEP 562), so the
command line answers ``--help`` or refuses a bad argument before torch, transformers or MNE are loaded.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> the module (relative to this package) that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("setup_notebook",), ".colab"),
    **dict.fromkeys(("SEED_CH_NAMES", "REGIONS", "REGION_NAMES", "make_info", "make_montage"), ".channels"),
    **dict.fromkeys(("DEFAULT_BANDS", "DataConfig", "SyntheticConfig", "E2LLMConfig", "PRESETS", "fast_config"),
                    ".config"),
    **dict.fromkeys(("FeatureSet", "LeakageError", "check_no_leakage", "kfold_by_subject", "leave_one_subject_out",
                     "trial_split", "load_sample", "load_sample_raw", "make_cohort", "read_raw", "read_seed7_features",
                     "EEGFileError", "MissingChannelsError", "NoCapChannelsError"), ".data"),
    **dict.fromkeys(("LabelSpace", "LabelSpaceError", "LABEL_SPACES", "get_label_space", "quadrant_label"),
                    ".labels"),
    **dict.fromkeys(("EmotionSignatures", "make_examples"), ".text.instructions"),
    **dict.fromkeys(("evaluate_generation", "generation_summary", "evaluate_all"), ".evaluate"),
    **dict.fromkeys(("EMOTIONS", "VALENCE", "AROUSAL", "normalize_emotion"), ".emotions"),
    **dict.fromkeys(("EEGDataError", "differential_entropy", "extract_features", "lds_smooth", "preprocess_raw"),
                    ".preprocess"),
    "EEGEncoder": ".encoder",
    "pretrain_encoder": ".pretrain",
    "build_projector": ".projector",
    **dict.fromkeys(("load_llm", "add_lora"), ".llm"),
    "E2LLM": ".model",
    "train_stage": ".train",
    **dict.fromkeys(("Split", "TrainedRun", "resolve_config", "split", "train_e2llm"), ".pipeline"),
    "run_quickstart": ".quickstart",
    "CheckpointError": ".errors",
    "configure_threads": "._threads",
}

#: Subpackages and modules reachable as attributes (``e2llm_lab.interpret``) without importing them first.
_SUBMODULES = frozenset({"data", "evaluate", "interpret", "channels", "colab", "config", "emotions", "encoder",
                         "errors", "heldout", "instructions", "labels", "llm", "model", "pipeline", "preprocess",
                         "pretrain", "processor", "projector", "quickstart", "text", "train"})

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    """Import a public name (or a submodule) on first access and keep it in the package namespace."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
