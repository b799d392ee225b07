"""A BIDS EEG dataset -> FeatureSet, through mne-bids (Appelhoff et al. 2019, JOSS 4:1896).

Each ``sub-<label>[_ses-<label>]_task-<task>_eeg.<ext>`` recording is read with ``mne_bids.read_raw_bids``; its
``_events.tsv`` gives the trials: a row's ``onset`` and ``duration`` (seconds from the first sample) and the column
that holds the label (``label_column``, e.g. ``trial_type`` or ``emotion``). Rows whose label is ``n/a`` or a
BAD/EDGE mark are not trials. Subjects ``01``, ``02``, ... become 1, 2, ... (numbers sort as numbers); sessions
likewise (1 when absent).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import mne
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..config import DataConfig
from ._readers import NOT_TRIALS, as_id, legacy_positional, sort_key
from .errors import EEGDataError, EEGFileError
from .events import event_label_space, iter_event_trials
from .featureset import FeatureSet
from .io import conform_to_cap
from .recordings import featureset_from_recordings

__all__ = ["list_bids_recordings", "read_bids_events", "iter_bids_eeg", "read_bids"]


def list_bids_recordings(root, task: str, *, subjects=None, sessions=None) -> list:
    """The ``mne_bids.BIDSPath`` of every EEG recording of ``task``, by subject then session."""
    import mne_bids

    root = Path(root)
    if not (root / "dataset_description.json").is_file():
        raise EEGFileError(f"{root} is not a BIDS root (no dataset_description.json); give the folder that holds "
                           f"dataset_description.json and the sub-* folders")
    paths = mne_bids.find_matching_paths(root, tasks=task, datatypes="eeg", suffixes="eeg",
                                         extensions=[".edf", ".bdf", ".vhdr", ".set", ".fif", ".cnt"])
    # "01" and 1 name the same subject: compare as numbers where they are numbers
    if subjects is not None:
        paths = [p for p in paths if as_id(p.subject) in {as_id(str(s)) for s in subjects}]
    if sessions is not None:
        paths = [p for p in paths if as_id(p.session or "1") in {as_id(str(s)) for s in sessions}]
    if not paths:
        tasks = mne_bids.get_entity_vals(root, "task")
        raise EEGFileError(f"{root} holds no EEG recording of task {task!r}" +
                           (f" for subject(s) {list(subjects)}" if subjects else "") + f"; its tasks: {tasks}")
    return sorted(paths, key=lambda p: (sort_key(as_id(p.subject)), sort_key(as_id(p.session or "1")),
                                        p.run or ""))


def _label_text(v) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip().lower() in ("n/a", "nan", ""):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def read_bids_events(bids_path, label_column: str) -> pd.DataFrame:
    """The recording's ``_events.tsv``: columns onset, duration, label (rows with a label only)."""
    tsv = bids_path.copy().update(suffix="events", extension=".tsv").fpath
    if not Path(tsv).is_file():
        raise EEGFileError(f"{tsv} not found; a BIDS recording needs its _events.tsv to give trials and labels")
    table = pd.read_csv(tsv, sep="\t", na_values=["n/a"], keep_default_na=True)
    for col in ("onset", label_column):
        if col not in table.columns:
            raise EEGFileError(f"{tsv} has no column {col!r}; its columns: {list(table.columns)}. Pass "
                               f"label_column= one of them")
    labels = [_label_text(v) for v in table[label_column]]
    labels = [None if v is None or v.lower().startswith(NOT_TRIALS) else v for v in labels]
    dur = table["duration"] if "duration" in table.columns else pd.Series(np.nan, index=table.index)
    out = pd.DataFrame({"onset": pd.to_numeric(table["onset"], errors="coerce"),
                        "duration": pd.to_numeric(dur, errors="coerce"), "label": labels})
    return out[out["label"].notna()].reset_index(drop=True)


def _with_events(raw, events: pd.DataFrame, source) -> mne.io.BaseRaw:
    raw = conform_to_cap(raw, missing="present", source=source)
    raw.set_annotations(mne.Annotations(events["onset"].to_numpy(float), events["duration"].fillna(0).to_numpy(float),
                                        events["label"].tolist()))
    return raw


@legacy_positional("task")
def iter_bids_eeg(root, *, task: str | None = None, label_column: str = "trial_type", mapping=None, subjects=None,
                  sessions=None, duration: float | None = None, progress: bool = False):
    """Yield ``(raw, row)`` for every labelled event of every recording of ``task``, one recording at a time.

    Parameters
    ----------
    task : str
        The BIDS task (required; also accepted second, positionally, the older form).
    label_column : str
        Column of ``_events.tsv`` holding the label.
    mapping : dict, optional
        Value of that column -> label; default each value is its own label.
    duration : float, optional
        Trial length in seconds when the ``duration`` column is 0 or n/a (default: until the next event).
    """
    import mne_bids

    _check_task(task)
    for bp in tqdm(list_bids_recordings(root, task, subjects=subjects, sessions=sessions), desc="BIDS recordings",
                   disable=not progress):
        events = read_bids_events(bp, label_column)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                raw = mne_bids.read_raw_bids(bp, verbose="error")
            except Exception as err:                       # mne-bids and MNE raise several types
                raise EEGFileError(f"{bp.fpath}: mne_bids could not read it ({type(err).__name__}: {err})") from err
        source = str(bp.fpath)
        raw = _with_events(raw, events, source)
        lookup = mapping if mapping is not None else {v: v for v in events["label"]}
        yield from iter_event_trials(raw, lookup, duration=duration, subject=as_id(bp.subject),
                                     session=as_id(bp.session) if bp.session else 1, source=source)


def _check_task(task) -> None:
    if not task:
        raise ValueError("the bids dataset needs task= (--task): the BIDS task whose recordings to read")


@legacy_positional("task")
def read_bids(root, *, task: str | None = None, cfg: DataConfig = DataConfig(), subjects=None, label_space=None,
              label_column: str = "trial_type", mapping=None, sessions=None, duration: float | None = None,
              progress: bool = True) -> FeatureSet:
    """A BIDS dataset's EEG of one task -> window-level FeatureSet.

    Parameters
    ----------
    task : str
        The BIDS task (required; also accepted second, positionally, the older form).
    label_space : LabelSpace or str, optional
        Default: a custom space of the labels found (mapping values, or the column's values in order of first
        appearance over all recordings).
    """
    _check_task(task)
    if mapping is None and label_space is None:
        values = []
        for bp in list_bids_recordings(root, task, subjects=subjects, sessions=sessions):
            values += read_bids_events(bp, label_column)["label"].tolist()
        if not values:
            raise EEGDataError(f"no row of the _events.tsv files under {root} has a {label_column!r} value; pass "
                               f"label_column= the column that holds the labels")
        mapping = {v: v for v in dict.fromkeys(values)}
    space = event_label_space(mapping, label_space) if mapping is not None else event_label_space({}, label_space)
    return featureset_from_recordings(
        iter_bids_eeg(root, task=task, label_column=label_column, mapping=mapping, subjects=subjects,
                      sessions=sessions, duration=duration), cfg, progress=progress, label_space=space)
