"""Every dataset reader by name: ``read_dataset(name, root, **options) -> FeatureSet``.

========  =================================================================  ================
name      what ``root`` holds                                                label space
========  =================================================================  ================
seed7     SEED-VII: EEG_preprocessed/<subject>.mat (+ EEG_features/)        seed7
seed      SEED: Preprocessed_EEG/<subject>_<date>.mat + label.mat           seed
seed4     SEED-IV: eeg_raw_data/<session>/<subject>_<date>.mat              seed4
seed5     SEED-V: EEG_raw/<subject>_<session>_<date>.cnt                    seed5
deap      DEAP: data_preprocessed_matlab/sNN.mat                            va_quadrants
dreamer   DREAMER: DREAMER.mat                                              va_quadrants
faced     FACED: Data/subNNN/data.bdf + evt.bdf                             faced
bids      a BIDS root (needs task=, label_column=)                          from the labels
events    an EEG file or a folder of them, with annotations + mapping=      from the mapping
========  =================================================================  ================
"""
from __future__ import annotations

from ..config import DataConfig
from .featureset import FeatureSet

__all__ = ["DATASETS", "read_dataset"]

#: Dataset names :func:`read_dataset` knows.
DATASETS = ("seed7", "seed", "seed4", "seed5", "deap", "dreamer", "faced", "bids", "events")


def _seed7(root, cfg, *, labels=None, from_features=False, kind="de_LDS", subjects=None, progress=True):
    from ..preprocess import featureset_from_recordings
    from .seed7 import iter_seed7_eeg, read_seed7_features

    if from_features:
        return read_seed7_features(root, labels, subjects=subjects, kind=kind, normalize=cfg.normalize)
    return featureset_from_recordings(iter_seed7_eeg(root, labels, subjects=subjects), cfg, progress=progress)


def _reader(name: str):
    if name == "seed7":
        return _seed7
    if name == "seed":
        from .seed import read_seed
        return read_seed
    if name == "seed4":
        from .seed4 import read_seed4
        return read_seed4
    if name == "seed5":
        from .seed5 import read_seed5
        return read_seed5
    if name == "deap":
        from .deap import read_deap
        return read_deap
    if name == "dreamer":
        from .dreamer import read_dreamer
        return read_dreamer
    if name == "faced":
        from .faced import read_faced
        return read_faced
    if name == "bids":
        from .bids import read_bids

        def bids(root, cfg, *, task=None, **options):
            if not task:
                raise ValueError("the bids dataset needs task= (--task): the BIDS task whose recordings to read")
            return read_bids(root, task, cfg=cfg, **options)
        return bids
    if name == "events":
        from .events import read_events_folder

        def events(root, cfg, *, mapping=None, **options):
            return read_events_folder(root, mapping, cfg=cfg, **options)
        return events
    raise ValueError(f"dataset {name!r}; allowed: {DATASETS}")


def read_dataset(name: str, root, *, cfg: DataConfig = DataConfig(), **options) -> FeatureSet:
    """Read a dataset by name into a window-level FeatureSet (``n_steps = 1``) carrying its label space.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    root : path
        The dataset's folder (or file, for ``events`` and ``dreamer``).
    cfg : DataConfig
        Preprocessing and DE settings where DE is computed here.
    **options
        Passed to the reader: ``subjects``, ``from_features``/``kind`` (seed7, seed, seed4), ``labels`` (seed7,
        seed), ``threshold`` (deap, dreamer), ``task``/``label_column``/``mapping``/``label_space`` (bids),
        ``mapping``/``label_space``/``duration`` (events), ``progress``.
    """
    reader = _reader(name)
    try:
        return reader(root, cfg, **options)
    except TypeError as err:
        if "unexpected keyword argument" in str(err):
            raise ValueError(f"dataset {name!r} does not take that option ({err})") from None
        raise
