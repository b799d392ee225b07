"""Reader for the SEED dataset (Zheng & Lu 2015) in its official layout (the data need a licence from BCMI, SJTU).

Layout::

    <root>/Preprocessed_EEG/label.mat                 key 'label': 15 values in {-1, 0, 1} (negative/neutral/positive)
    <root>/Preprocessed_EEG/<subject>_<date>.mat      keys '<initials>_eeg1'..'<initials>_eeg15': (62, n_times),
                                                      200 Hz, microvolts, SEED channel order
    <root>/ExtractedFeatures/<subject>_<date>.mat     keys de_LDS1..15, de_movingAve1..15, psd_LDS1..15, ...:
                                                      (62, n_windows, 5) over 1-s windows

Each subject took part three times; a subject's sessions are its dated files in date order. The 15 film clips
of a session carry the same labels in every session (``label.mat``). Labels map onto the :data:`~e2llm_lab.labels.SEED`
space: -1 negative, 0 neutral, 1 positive.

The module also holds the small helpers the other MATLAB-file readers share (reading a .mat with the toolkit's
errors, numbered keys, a window-level FeatureSet from precomputed features).
"""
from __future__ import annotations

import re
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import scipy.io
from tqdm.auto import tqdm

from ..channels import SEED_CH_NAMES, make_info
from ..config import DataConfig
from ..labels import SEED, LabelSpace
from .errors import EEGDataError, EEGFileError
from .featureset import FeatureSet, check_normalize

__all__ = ["SEED_LABEL_NAMES", "SEED_FEATURE_BANDS", "SEED_FEATURE_KINDS", "list_seed_files", "read_seed_labels",
           "iter_seed_eeg", "read_seed_features", "read_seed"]

SFREQ = 200.0
N_TRIALS = 15
#: SEED's label codes -> names of the :data:`~e2llm_lab.labels.SEED` space.
SEED_LABEL_NAMES = {-1: "negative", 0: "neutral", 1: "positive"}
#: Bands of the SEED family's shipped features (the dataset's ReadMe): delta 1-3, theta 4-7, alpha 8-13,
#: beta 14-30, gamma 31-50 Hz.
SEED_FEATURE_BANDS = (("delta", 1.0, 3.0), ("theta", 4.0, 7.0), ("alpha", 8.0, 13.0), ("beta", 14.0, 30.0),
                      ("gamma", 31.0, 50.0))
SEED_FEATURE_KINDS = ("de_LDS", "de_movingAve", "psd_LDS", "psd_movingAve", "dasm_LDS", "dasm_movingAve",
                      "rasm_LDS", "rasm_movingAve", "asm_LDS", "asm_movingAve", "dcau_LDS", "dcau_movingAve")
_DATED = re.compile(r"^(\d+)_(\d{8})\.mat$")
_EEG_KEY = re.compile(r"^(.+)_eeg(\d+)$")


# -- helpers shared by the MATLAB-file readers -------------------------------------------------------------------
def _loadmat(path: Path, *, what: str, **kwargs) -> dict:
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


def _sort_key(s):
    """Subjects and sessions sort as numbers where they are numbers ('2' before '10'), names after."""
    return (isinstance(s, str), s)


def _as_id(text: str):
    return int(text) if str(text).isdigit() else text


def _check_trial(a: np.ndarray, path, key: str, n_chans: int = len(SEED_CH_NAMES)) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != n_chans or a.shape[1] < 2:
        raise EEGDataError(f"{path} key '{key}': expected EEG of shape ({n_chans}, n_times), got shape {a.shape}; "
                           f"the file is not in the dataset's official layout")
    if not np.isfinite(a).all():
        raise EEGDataError(f"{path} key '{key}' holds NaN/Inf values; download the file again")
    return a


def _check_label(label, space: LabelSpace, path, where: str) -> str:
    if label not in space.labels:
        raise EEGDataError(f"{path} {where}: label {label!r} is outside the {space.name!r} label space "
                           f"{space.labels}; the label file is damaged or of another dataset")
    return label


def _feature_set(blocks, rows, *, bands, feature: str, label_space: LabelSpace, normalize,
                 ch_names=SEED_CH_NAMES, root=None) -> FeatureSet:
    """Window-level FeatureSet from per-trial feature blocks of shape (n_windows, n_chans, n_bands)."""
    if not blocks:
        raise EEGFileError(f"no labelled features found under {root}; check the folder and the subjects asked for")
    X = np.concatenate(blocks)[:, None]                             # (N, C, F) -> (N, 1, C, F)
    fs = FeatureSet(X, pd.DataFrame(rows), ch_names, bands, feature=feature, label_space=label_space)
    return fs.normalized(normalize)


def _feature_rows(block: np.ndarray, row: dict, label_space: LabelSpace) -> list[dict]:
    label = row["emotion"]
    base = {"subject": row["subject"], "session": row["session"], "trial": row["trial"], "emotion": label,
            "valence": label_space.valence_of(label), "arousal": label_space.arousal_of(label)}
    extra = {k: v for k, v in row.items() if k not in base and k != "source"}
    return [{**base, "start_window": w, **extra} for w in range(block.shape[0])]


# -- SEED ------------------------------------------------------------------------------------------------------
def _feature_trials(mat: dict, path, kind: str, n_trials: int, label_of, space: LabelSpace, row: dict,
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
        rows += _feature_rows(block, {**row, "trial": trial, "emotion": label_of(trial)}, space)


def list_seed_files(root, folder: str = "Preprocessed_EEG") -> dict:
    """Subject -> its session files in date order, from ``root/folder/<subject>_<date>.mat``."""
    d = Path(root) / folder
    if not d.is_dir():
        raise EEGFileError(f"{d} not found; expected the SEED layout {root}/Preprocessed_EEG (and "
                           f"{root}/ExtractedFeatures) holding <subject>_<date>.mat files")
    files: dict = {}
    for p in d.glob("*.mat"):
        m = _DATED.match(p.name)
        if m:
            files.setdefault(int(m.group(1)), []).append((m.group(2), p))
    if not files:
        raise EEGFileError(f"{d} holds no <subject>_<date>.mat file (e.g. 1_20131027.mat); is this the SEED "
                           f"dataset's {folder} folder?")
    return {s: [p for _, p in sorted(files[s])] for s in sorted(files)}


def read_seed_labels(path) -> list[str]:
    """The 15 clip labels of ``label.mat`` as :data:`~e2llm_lab.labels.SEED` names."""
    mat = _loadmat(path, what="SEED's label.mat with key 'label' (15 values in {-1, 0, 1})")
    if "label" not in mat:
        raise EEGFileError(f"{path} has no key 'label' (keys: {sorted(k for k in mat if not k.startswith('__'))}); "
                           f"expected SEED's label.mat")
    codes = np.asarray(mat["label"]).ravel()
    if codes.size != N_TRIALS:
        raise EEGDataError(f"{path} key 'label': expected {N_TRIALS} values, got shape {np.shape(mat['label'])}")
    bad = [c for c in codes.tolist() if c not in SEED_LABEL_NAMES]
    if bad:
        raise EEGDataError(f"{path} key 'label': value(s) {bad[:5]} outside the SEED codes {{-1, 0, 1}} "
                           f"(negative, neutral, positive)")
    return [SEED_LABEL_NAMES[int(c)] for c in codes]


def _sessions(root, folder: str, subjects) -> list:
    files = list_seed_files(root, folder)
    wanted = sorted(files, key=_sort_key) if subjects is None else list(subjects)
    missing = [s for s in wanted if s not in files]
    if missing:
        raise EEGFileError(f"subject(s) {missing} have no file in {Path(root) / folder}; found {sorted(files)}")
    return [(s, k + 1, p) for s in wanted for k, p in enumerate(files[s])]


def iter_seed_eeg(root, *, subjects=None, labels=None, progress: bool = False):
    """Yield ``(raw, row)`` for every clip of SEED's preprocessed EEG, one subject file at a time.

    Parameters
    ----------
    root : path
        Dataset folder holding ``Preprocessed_EEG/``.
    subjects : list of int, optional
        Default all found.
    labels : list of str, optional
        15 labels of the :data:`~e2llm_lab.labels.SEED` space; default ``Preprocessed_EEG/label.mat``.
    progress : bool
        A progress bar over session files.

    Yields
    ------
    raw : mne.io.RawArray
        62 channels in volts, SEED order, 200 Hz.
    row : dict
        subject, session (1..3 in date order), trial (1..15), emotion, source.
    """
    files = _sessions(root, "Preprocessed_EEG", subjects)
    labels = read_seed_labels(Path(root) / "Preprocessed_EEG" / "label.mat") if labels is None else list(labels)
    for i, lab in enumerate(labels):
        _check_label(lab, SEED, "labels", f"clip {i + 1}")
    info = make_info(SEED_CH_NAMES, SFREQ)
    for subject, session, path in tqdm(files, desc="SEED files", disable=not progress):
        mat = _loadmat(path, what="SEED preprocessed EEG with keys <initials>_eeg1..15")
        keys = {int(m.group(2)): k for k in mat if (m := _EEG_KEY.match(k))}
        missing = [t for t in range(1, len(labels) + 1) if t not in keys]
        if missing:
            raise EEGFileError(f"{path} lacks key(s) <initials>_eeg{missing[:5]}; expected <initials>_eeg1.."
                               f"{len(labels)}, found {sorted(k for k in mat if not k.startswith('__'))[:8]}")
        for trial in range(1, len(labels) + 1):
            data = _check_trial(mat[keys[trial]], path, keys[trial])
            raw = mne.io.RawArray(data * 1e-6, info.copy(), verbose="error")    # microvolts -> volts
            yield raw, {"subject": subject, "session": session, "trial": trial, "emotion": labels[trial - 1],
                        "source": f"{path} key {keys[trial]}"}
        del mat


def read_seed_features(root, *, subjects=None, labels=None, kind: str = "de_LDS", normalize: str | None = "subject",
                       progress: bool = True) -> FeatureSet:
    """SEED's shipped features (``ExtractedFeatures/``) as a window-level FeatureSet (``n_steps = 1``).

    Parameters
    ----------
    kind : str
        Key stem, one of :data:`SEED_FEATURE_KINDS` with 5 bands per channel (``de_LDS``, ``de_movingAve``,
        ``psd_LDS``, ``psd_movingAve``).
    normalize : {"subject", None}

    Returns
    -------
    FeatureSet
        X of shape (n_windows_total, 1, 62, 5) over 1-s windows, bands :data:`SEED_FEATURE_BANDS`, label space SEED.
    """
    if kind not in ("de_LDS", "de_movingAve", "psd_LDS", "psd_movingAve"):
        raise ValueError(f"kind={kind!r}; allowed: 'de_LDS', 'de_movingAve', 'psd_LDS', 'psd_movingAve' (the "
                         f"asymmetry features are not per electrode)")
    check_normalize(normalize)
    folder = Path(root) / "ExtractedFeatures"
    label_file = folder / "label.mat"
    if labels is None:
        labels = read_seed_labels(label_file if label_file.is_file() else Path(root) / "Preprocessed_EEG" / "label.mat")
    blocks, rows = [], []
    for subject, session, path in tqdm(_sessions(root, "ExtractedFeatures", subjects), desc="SEED feature files",
                                       disable=not progress):
        mat = _loadmat(path, what=f"SEED features with keys {kind}1..15")
        _feature_trials(mat, path, kind, len(labels), lambda trial: labels[trial - 1], SEED,
                        {"subject": subject, "session": session}, blocks, rows)
    return _feature_set(blocks, rows, bands=SEED_FEATURE_BANDS, feature=f"seed_{kind}", label_space=SEED,
                        normalize=normalize, root=folder)


def read_seed(root, cfg: DataConfig = DataConfig(), *, subjects=None, labels=None, from_features: bool = False,
              kind: str = "de_LDS", progress: bool = True) -> FeatureSet:
    """SEED as a FeatureSet: DE computed here from the preprocessed EEG, or the shipped features.

    Parameters
    ----------
    cfg : DataConfig
        Preprocessing and DE settings (raw path); ``cfg.normalize`` applies to both paths.
    from_features : bool
        Read ``ExtractedFeatures/`` (:func:`read_seed_features`) instead of computing DE.
    """
    if from_features:
        return read_seed_features(root, subjects=subjects, labels=labels, kind=kind, normalize=cfg.normalize,
                                  progress=progress)
    from ..preprocess import featureset_from_recordings

    n = len(_sessions(root, "Preprocessed_EEG", subjects)) * N_TRIALS
    return featureset_from_recordings(iter_seed_eeg(root, subjects=subjects, labels=labels), cfg, total=n,
                                      progress=progress, label_space=SEED)
