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

Every reader has the signature ``read_<name>(root, *, cfg=DataConfig(), subjects=None, label_space=None,
progress=True, **options) -> FeatureSet``; :data:`READERS` maps each name to it, for :func:`read_dataset` and
``e2llm-lab prepare --dataset``. Where a dataset keeps its files in one folder (SEED, SEED-IV, SEED-V, SEED-VII,
DEAP, FACED), ``root`` may also be that folder itself, as TorchEEG's ``root_path`` takes it.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

from ..config import DataConfig
from .bids import read_bids
from .deap import read_deap
from .dreamer import read_dreamer
from .events import read_events_folder
from .faced import read_faced
from .featureset import FeatureSet
from .seed import read_seed
from .seed4 import read_seed4
from .seed5 import read_seed5
from .seed7 import read_seed7

__all__ = ["READERS", "DATASETS", "reader_options", "read_dataset"]

#: Dataset name -> its reader, ``reader(root, *, cfg, subjects=None, label_space=None, **options) -> FeatureSet``.
READERS: dict[str, Callable[..., FeatureSet]] = {
    "seed7": read_seed7, "seed": read_seed, "seed4": read_seed4, "seed5": read_seed5, "deap": read_deap,
    "dreamer": read_dreamer, "faced": read_faced, "bids": read_bids, "events": read_events_folder,
}
#: Dataset names :func:`read_dataset` knows.
DATASETS = tuple(READERS)


def reader_options(name: str) -> tuple[str, ...]:
    """The keyword options dataset ``name``'s reader takes (besides ``cfg``)."""
    if name not in READERS:
        raise ValueError(f"dataset {name!r}; allowed: {DATASETS}")
    params = inspect.signature(READERS[name]).parameters.values()
    return tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name != "cfg")


def read_dataset(name: str, root, *, cfg: DataConfig = DataConfig(), **options) -> FeatureSet:
    """Read a dataset by name into a window-level FeatureSet (``n_steps = 1``) carrying its label space.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    root : path
        The dataset's folder or the folder of its files (or a file, for ``events`` and ``dreamer``).
    cfg : DataConfig
        Preprocessing and DE settings where DE is computed here.
    **options
        Passed to the reader (:func:`reader_options` lists them): ``subjects``, ``label_space``, ``progress`` (all);
        ``from_features``/``kind`` (seed7, seed, seed4), ``labels`` (seed7, seed), ``threshold`` (deap, dreamer),
        ``task``/``label_column``/``mapping`` (bids), ``mapping``/``duration`` (events).

    Raises
    ------
    ValueError
        An unknown dataset, or an option its reader does not take (naming the ones it does).
    """
    allowed = reader_options(name)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise ValueError(f"dataset {name!r} does not take the option(s) {unknown}; it takes {list(allowed)}")
    return READERS[name](root, cfg=cfg, **options)
