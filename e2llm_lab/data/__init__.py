"""Data layer: synthetic cohorts, file readers (MNE formats, SEED family, DEAP, DREAMER, FACED, BIDS), preprocessing
and DE features, and the FeatureSet container.

The layer sits below the rest of the package: its modules import only the base modules (``config``, ``channels``,
``labels``, ``emotions``, ``errors``, ``_atomic``, ``_threads``, ``_device``) and each other (tests/test_layers.py).
"""
from .bids import read_bids
from .datasets import DATASETS, READERS, read_dataset
from .de import differential_entropy, lds_smooth
from .deap import read_deap
from .dreamer import read_dreamer
from .errors import DatasetFolderError, EEGDataError, EEGFileError, MissingChannelsError, NoCapChannelsError
from .events import features_from_events, iter_event_trials, read_events_folder
from .faced import read_faced
from .featureset import (
                         FeatureSet,
                         LeakageError,
                         check_no_leakage,
                         kfold_by_subject,
                         leave_one_subject_out,
                         subject_holdout,
                         trial_split,
)
from .filtering import preprocess_raw
from .io import read_raw
from .recordings import extract_features, featureset_from_recordings
from .samples import load_sample, load_sample_raw
from .seed import read_seed
from .seed4 import read_seed4
from .seed5 import read_seed5
from .seed7 import iter_seed7_eeg, read_seed7, read_seed7_features, read_seed7_labels
from .synthetic import iter_cohort, make_cohort, planted_effects_table, planted_mask

__all__ = [
    "FeatureSet", "LeakageError", "check_no_leakage", "kfold_by_subject", "leave_one_subject_out",
    "subject_holdout", "trial_split", "EEGDataError", "EEGFileError", "DatasetFolderError", "MissingChannelsError",
    "NoCapChannelsError", "read_raw", "load_sample", "load_sample_raw", "preprocess_raw", "differential_entropy",
    "lds_smooth", "extract_features", "featureset_from_recordings",
    "iter_seed7_eeg", "read_seed7", "read_seed7_features", "read_seed7_labels", "DATASETS", "READERS", "read_dataset",
    "read_seed", "read_seed4", "read_seed5", "read_deap", "read_dreamer", "read_faced", "read_bids",
    "features_from_events", "iter_event_trials", "read_events_folder", "iter_cohort", "make_cohort",
    "planted_effects_table", "planted_mask",
]
