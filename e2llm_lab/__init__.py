"""e2llm_lab: interpretable EEG emotion analysis with a large language model (the E^2-LLM recipe).

The pipeline, one module per step: ``data`` (synthetic cohorts, readers, FeatureSet) -> ``preprocess``
(filtering, DE features) -> ``encoder``/``pretrain`` (stage 1) -> ``projector`` -> ``llm``/``model`` (Qwen with
EEG tokens) -> ``train`` (stages 2-3) -> ``evaluate`` -> ``interpret`` (figures, attention, EEG tokens).
"""
from .channels import REGION_NAMES, REGIONS, SEED_CH_NAMES, make_info, make_montage
from .colab import setup_notebook
from .config import DEFAULT_BANDS, PRESETS, DataConfig, E2LLMConfig, SyntheticConfig, fast_config
from .data import (
                   EEGFileError,
                   FeatureSet,
                   LeakageError,
                   MissingChannelsError,
                   NoCapChannelsError,
                   check_no_leakage,
                   kfold_by_subject,
                   leave_one_subject_out,
                   load_sample,
                   load_sample_raw,
                   make_cohort,
                   read_raw,
                   read_seed7_features,
                   trial_split,
)
from .emotions import AROUSAL, EMOTIONS, VALENCE, normalize_emotion
from .encoder import EEGEncoder
from .evaluate import evaluate_all, evaluate_generation, generation_summary
from .instructions import EmotionSignatures, make_examples
from .llm import add_lora, load_llm
from .model import E2LLM
from .preprocess import EEGDataError, differential_entropy, extract_features, lds_smooth, preprocess_raw
from .pretrain import pretrain_encoder
from .projector import build_projector
from .quickstart import run_quickstart
from .train import train_stage

__version__ = "0.1.0"

__all__ = [
    "__version__", "setup_notebook", "SEED_CH_NAMES", "REGIONS", "REGION_NAMES", "make_info", "make_montage",
    "DEFAULT_BANDS", "DataConfig", "SyntheticConfig", "E2LLMConfig", "PRESETS", "fast_config",
    "FeatureSet", "LeakageError", "check_no_leakage", "kfold_by_subject", "leave_one_subject_out", "trial_split",
    "load_sample", "load_sample_raw", "make_cohort", "read_raw", "read_seed7_features",
    "EEGFileError", "MissingChannelsError", "NoCapChannelsError",
    "EmotionSignatures", "make_examples", "evaluate_generation", "generation_summary", "evaluate_all",
    "EMOTIONS", "VALENCE", "AROUSAL", "normalize_emotion",
    "EEGDataError", "differential_entropy", "extract_features", "lds_smooth", "preprocess_raw",
    "EEGEncoder", "pretrain_encoder", "build_projector", "load_llm", "add_lora", "E2LLM", "train_stage",
    "run_quickstart",
]
