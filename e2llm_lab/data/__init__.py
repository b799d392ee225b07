"""Data layer: synthetic cohorts, file readers (MNE formats, SEED family, DEAP, DREAMER, FACED, BIDS), preprocessing
and DE features, the FeatureSet container, splits and the leakage guard.

The layer sits right above the base: its modules import only the base modules and each other
(``tests/test_layers.py``). Like the package root, this namespace imports each name from its module on first use
(PEP 562), so ``from e2llm_lab.data.featureset import FeatureSet`` loads no reader and no MNE.
"""
from __future__ import annotations

from .._lazy import lazy_exports

#: Public name -> the module of this package that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("AuditReport", "audit"), ".audit"),
    **dict.fromkeys(("Twin", "find_twins"), ".twins"),
    "read_bids": ".bids",
    **dict.fromkeys(("DATASETS", "READERS", "read_dataset"), ".datasets"),
    **dict.fromkeys(("differential_entropy", "lds_smooth"), ".de"),
    "read_deap": ".deap",
    "read_dreamer": ".dreamer",
    **dict.fromkeys(("DatasetFolderError", "EEGDataError", "EEGFileError", "MissingChannelsError",
                     "NoCapChannelsError"), ".errors"),
    **dict.fromkeys(("features_from_events", "iter_event_trials", "read_events_folder"), ".events"),
    "read_faced": ".faced",
    "FeatureSet": ".featureset",
    "preprocess_raw": ".filtering",
    "read_raw": ".io",
    **dict.fromkeys(("extract_features", "featureset_from_recordings"), ".recordings"),
    **dict.fromkeys(("load_sample", "load_sample_raw"), ".samples"),
    "read_seed": ".seed",
    "read_seed4": ".seed4",
    "read_seed5": ".seed5",
    **dict.fromkeys(("iter_seed7_eeg", "read_seed7", "read_seed7_features", "read_seed7_labels"), ".seed7"),
    **dict.fromkeys(("LeakageError", "check_no_leakage", "kfold_by_subject", "leave_one_subject_out",
                     "subject_holdout", "trial_split", "Split", "split", "HeldOut", "held_out_rows",
                     "training_windows"), ".splits"),
    **dict.fromkeys(("iter_cohort", "make_cohort", "planted_effects_table", "planted_mask"), ".synthetic"),
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
