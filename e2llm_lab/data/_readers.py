"""What the dataset readers share: finding the dataset's folder, reading .mat files, checking trials, and the
window-level FeatureSet of precomputed SEED-family features.

Every reader takes ``read_<name>(root, *, subjects=None, label_space=None, **options)``; :func:`legacy_positional`
keeps the older positional forms (``read_bids(root, task)``, ``read_seed(root, cfg)``) working.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

from ..channels import SEED_CH_NAMES
from ..labels import LabelSpace, get_label_space
from .errors import DatasetFolderError, EEGDataError, EEGFileError
from .featureset import FeatureSet

__all__ = ["SEED_FEATURE_BANDS", "EEG_KEY", "NOT_TRIALS", "find_folder", "legacy_positional", "own_label_space",
           "loadmat", "sort_key", "as_id", "check_trial", "check_label", "feature_rows", "feature_set",
           "feature_trials"]

#: Bands of the SEED family's shipped features (the datasets' ReadMe): delta 1-3, theta 4-7, alpha 8-13,
#: beta 14-30, gamma 31-50 Hz.
SEED_FEATURE_BANDS = (("delta", 1.0, 3.0), ("theta", 4.0, 7.0), ("alpha", 8.0, 13.0), ("beta", 14.0, 30.0),
                      ("gamma", 31.0, 50.0))
#: Trial keys of SEED and SEED-IV EEG files: ``<initials>_eeg<k>``.
EEG_KEY = re.compile(r"^(.+)_eeg(\d+)$")
#: Starts of annotations MNE and recorders add that are never trials (lower case).
NOT_TRIALS = ("bad", "edge", "boundary")


# -- the reader signature ------------------------------------------------------------------------------------------
def find_folder(root, name: str, *, dataset: str, layout: str, holds=None) -> Path:
    """The dataset's folder ``name``: ``root/name`` when it exists, else ``root`` itself when it is that folder.

    TorchEEG readers take the inner folder as their root (``SEEDIVDataset(root_path='./eeg_raw_data')``); here
    both the dataset root and the folder itself work. One line is printed when the folder itself was given.

    Parameters
    ----------
    root : path
        The dataset root (holding ``name/``) or the folder ``name`` itself.
    name : str
        The folder's name in the dataset's layout, e.g. ``"eeg_raw_data"``.
    dataset, layout : str
        The dataset's name and its expected layout, for messages.
    holds : callable, optional
        ``holds(root) -> bool``: ``root`` holds the folder's files (then its name does not matter). Default: the
        folder itself is recognised by its name (any case).

    Raises
    ------
    DatasetFolderError
        Neither form exists; the message names both paths looked for.
    """
    root = Path(root)
    inner = root / name
    if inner.is_dir():
        return inner
    if root.is_dir() and (holds(root) if holds is not None else root.name.lower() == name.lower()):
        print(f"{dataset}: reading {root} as the {name} folder itself (not a dataset root holding {name}/)")
        return root
    raise DatasetFolderError(f"{inner} not found, and {root} is not {dataset}'s {name} folder itself; expected "
                             f"{layout}. Give the dataset root (the folder holding {name}/) or the {name} folder")


def legacy_positional(*names: str):
    """Accept the keyword-only ``names`` positionally after ``root``, as the reader took them before.

    ``@legacy_positional("task")`` on ``read_bids(root, *, task=None, ...)`` keeps ``read_bids(root, "film")``
    working; the signature shown (``inspect.signature``) stays the keyword-only one.
    """
    def wrap(reader):
        @functools.wraps(reader)
        def call(root, *args, **kwargs):
            if len(args) > len(names):
                raise TypeError(f"{reader.__name__}() takes root and at most {len(names)} more positional "
                                f"argument(s) ({', '.join(names)}); pass the rest by keyword")
            for name, value in zip(names, args):
                if name in kwargs:
                    raise TypeError(f"{reader.__name__}() got multiple values for argument {name!r}")
                kwargs[name] = value
            return reader(root, **kwargs)
        return call
    return wrap


def own_label_space(label_space, space: LabelSpace, dataset: str) -> LabelSpace:
    """``space`` (the dataset's fixed labels); ``label_space`` may only name that same space."""
    if label_space is None or get_label_space(label_space) == space:
        return space
    raise ValueError(f"{dataset}'s labels are the {space.name!r} space {space.labels}; label_space="
                     f"{getattr(label_space, 'name', label_space)!r} cannot hold them. Leave label_space out, or "
                     f"map the labels afterwards with FeatureSet.relabel")


# -- .mat files and trials -----------------------------------------------------------------------------------------
def loadmat(path: Path, *, what: str, **kwargs) -> dict:
    """``scipy.io.loadmat`` with the toolkit's errors: a missing, v7.3 or unreadable file names itself."""
    path = Path(path)
    if not path.is_file():
        raise EEGFileError(f"{path} not found; expected {what}" + ("" if path.parent.is_dir() else
                                                                   f" (folder {path.parent} does not exist either)"))
    try:
        return scipy.io.loadmat(path, **kwargs)
    except NotImplementedError as err:     # MATLAB v7.3 (HDF5) files
        raise EEGFileError(f"{path} is a MATLAB v7.3 (HDF5) file; re-save it in MATLAB with save(..., '-v7') "
                           f"or convert it with h5py") from err
    except (ValueError, OSError, TypeError) as err:
        raise EEGFileError(f"{path} is not a readable .mat file ({err}); expected {what}. Download it again") from err


# -- file listing -----------------------------------------------------------------------------------------------
def matching(folder: Path, pattern, *, dirs: bool = False) -> list[tuple]:
    """``(*groups, path)`` of every file (``dirs=True``: folder) in ``folder`` whose name matches ``pattern``, in name
    order, each group an int where it is digits: a dataset's layout described by one regex."""
    folder = Path(folder)
    entries = sorted(folder.iterdir()) if folder.is_dir() else []
    return [(*(as_id(g) for g in m.groups()), p) for p in entries
            if (p.is_dir() if dirs else p.is_file()) and (m := pattern.match(p.name))]


def keep_subjects(found: list[tuple], subjects, where: Path, *, noun: str = "file") -> list[tuple]:
    """The entries of ``found`` (subject first) of the wanted ``subjects`` (all when None), in subject order.

    Raises ``EEGFileError`` naming every wanted subject that has no entry and the subjects found in ``where``.
    """
    if subjects is None:
        return sorted(found, key=lambda f: (sort_key(f[0]), *f[1:-1]))
    have = sorted({f[0] for f in found}, key=sort_key)
    missing = [s for s in subjects if s not in have]
    if missing:
        raise EEGFileError(f"subject(s) {missing} have no {noun} in {where}; found {have[:10]}"
                           + (" ..." if len(have) > 10 else ""))
    wanted = set(subjects)
    return sorted((f for f in found if f[0] in wanted), key=lambda f: (sort_key(f[0]), *f[1:-1]))


def sort_key(s):
    """Subjects and sessions sort as numbers where they are numbers ('2' before '10'), names after."""
    return (isinstance(s, str), s)


def as_id(text: str):
    """A subject or session id: an int where the text is digits ('01' -> 1), else the text."""
    return int(text) if str(text).isdigit() else text


def check_trial(a: np.ndarray, path, key: str, n_chans: int = len(SEED_CH_NAMES)) -> np.ndarray:
    """One trial's EEG as float64, shape (n_chans, n_times); raise naming the file and key when it is not."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != n_chans or a.shape[1] < 2:
        raise EEGDataError(f"{path} key '{key}': expected EEG of shape ({n_chans}, n_times), got shape {a.shape}; "
                           f"the file is not in the dataset's official layout")
    if not np.isfinite(a).all():
        raise EEGDataError(f"{path} key '{key}' holds NaN/Inf values; download the file again")
    return a


def check_label(label, space: LabelSpace, path, where: str) -> str:
    """``label`` when it is one of ``space``'s labels; raise naming the file and place otherwise."""
    if label not in space.labels:
        raise EEGDataError(f"{path} {where}: label {label!r} is outside the {space.name!r} label space "
                           f"{space.labels}; the label file is damaged or of another dataset")
    return label


# -- precomputed features ------------------------------------------------------------------------------------------
def feature_set(blocks, rows, *, bands, feature: str, label_space: LabelSpace, normalize,
                ch_names=SEED_CH_NAMES, root=None) -> FeatureSet:
    """Window-level FeatureSet from per-trial feature blocks of shape (n_windows, n_chans, n_bands)."""
    if not blocks:
        raise EEGFileError(f"no labelled features found under {root}; check the folder and the subjects asked for")
    X = np.concatenate(blocks)[:, None]                             # (N, C, F) -> (N, 1, C, F)
    fs = FeatureSet(X, pd.DataFrame(rows), ch_names, bands, feature=feature, label_space=label_space)
    return fs.normalized(normalize)


def feature_rows(block: np.ndarray, row: dict, label_space: LabelSpace) -> list[dict]:
    """One meta row per window of ``block`` (n_windows, ...), with the label's valence and arousal."""
    label = row["emotion"]
    base = {"subject": row["subject"], "session": row["session"], "trial": row["trial"], "emotion": label,
            "valence": label_space.valence_of(label), "arousal": label_space.arousal_of(label)}
    extra = {k: v for k, v in row.items() if k not in base and k != "source"}
    return [{**base, "start_window": w, **extra} for w in range(block.shape[0])]


def feature_trials(mat: dict, path, kind: str, n_trials: int, label_of, space: LabelSpace, row: dict,
                   blocks: list, rows: list) -> None:
    """Append the checked feature arrays ``<kind>1..<n_trials>`` of one SEED-family file to ``blocks`` and ``rows``.

    Each array is (62, n_windows, 5) in the file and (n_windows, 62, 5) in ``blocks``; ``label_of(trial)`` gives
    the trial's label.
    """
    for trial in range(1, n_trials + 1):
        key = f"{kind}{trial}"
        if key not in mat:
            raise EEGFileError(f"{path} has no key '{key}'; expected {kind}1..{n_trials} "
                               f"(found {sorted(k for k in mat if not k.startswith('__'))[:8]})")
        a = np.asarray(mat[key], dtype=np.float32)
        if a.ndim != 3 or a.shape[0] != len(SEED_CH_NAMES) or a.shape[2] != len(SEED_FEATURE_BANDS):
            raise EEGDataError(f"{path} key '{key}': expected (62, n_windows, 5), got shape {a.shape}")
        if not np.isfinite(a).all():
            raise EEGDataError(f"{path} key '{key}' holds NaN/Inf values; download the file again")
        block = a.transpose(1, 0, 2)                                   # (62, W, 5) -> (W, 62, 5)
        blocks.append(block)
        rows += feature_rows(block, {**row, "trial": trial, "emotion": label_of(trial)}, space)
