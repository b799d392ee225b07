"""Data layer: synthetic cohorts, file readers (MNE formats, SEED-VII) and the FeatureSet container."""
from .errors import EEGDataError, EEGFileError, MissingChannelsError, NoCapChannelsError
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
from .seed7 import iter_seed7_eeg, read_seed7_features, read_seed7_labels
from .synthetic import iter_cohort, make_cohort, planted_effects_table, planted_mask

__all__ = [
    "FeatureSet", "LeakageError", "check_no_leakage", "kfold_by_subject", "leave_one_subject_out",
    "subject_holdout", "trial_split", "EEGDataError", "EEGFileError", "MissingChannelsError", "NoCapChannelsError",
    "read_raw", "load_sample", "load_sample_raw",
    "iter_seed7_eeg", "read_seed7_features", "read_seed7_labels", "iter_cohort", "make_cohort",
    "planted_effects_table", "planted_mask",
]
