"""Data layer: synthetic cohorts, file readers (MNE formats, SEED-VII) and the FeatureSet container."""
from .bids import read_bids
from .datasets import DATASETS, read_dataset
from .deap import read_deap
from .dreamer import read_dreamer
from .errors import EEGDataError, EEGFileError, MissingChannelsError, NoCapChannelsError
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
from .io import read_raw
from .samples import load_sample, load_sample_raw
from .seed import read_seed
from .seed4 import read_seed4
from .seed5 import read_seed5
from .seed7 import iter_seed7_eeg, read_seed7_features, read_seed7_labels
from .synthetic import iter_cohort, make_cohort, planted_effects_table, planted_mask

__all__ = [
    "FeatureSet", "LeakageError", "check_no_leakage", "kfold_by_subject", "leave_one_subject_out",
    "subject_holdout", "trial_split", "EEGDataError", "EEGFileError", "MissingChannelsError", "NoCapChannelsError",
    "read_raw", "load_sample", "load_sample_raw",
    "iter_seed7_eeg", "read_seed7_features", "read_seed7_labels", "DATASETS", "read_dataset", "read_seed",
    "read_seed4", "read_seed5", "read_deap", "read_dreamer", "read_faced", "read_bids", "features_from_events",
    "iter_event_trials", "read_events_folder", "iter_cohort", "make_cohort",
    "planted_effects_table", "planted_mask",
]
