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

``root`` may be the dataset root or its ``Preprocessed_EEG`` (``ExtractedFeatures``) folder itself, as TorchEEG's
``SEEDDataset(root_path='./Preprocessed_EEG')`` takes it.
"""
from __future__ import annotations

import re
from pathlib import Path

import mne
import numpy as np
from tqdm.auto import tqdm

from ..channels import SEED_CH_NAMES, make_info
from ..config import DataConfig
from ..labels import SEED
from ._readers import (
    EEG_KEY,
    SEED_FEATURE_BANDS,
    check_label,
    check_trial,
    feature_set,
    feature_trials,
    find_folder,
    keep_subjects,
    legacy_positional,
    loadmat,
    matching,
    own_label_space,
)
from .errors import EEGDataError, EEGFileError
from .featureset import FeatureSet, check_normalize
from .recordings import featureset_from_recordings

__all__ = ["SEED_LABEL_NAMES", "SEED_FEATURE_BANDS", "SEED_FEATURE_KINDS", "list_seed_files", "read_seed_labels",
           "iter_seed_eeg", "read_seed_features", "read_seed"]

SFREQ = 200.0
N_TRIALS = 15
#: SEED's label codes -> names of the :data:`~e2llm_lab.labels.SEED` space.
SEED_LABEL_NAMES = {-1: "negative", 0: "neutral", 1: "positive"}
SEED_FEATURE_KINDS = ("de_LDS", "de_movingAve", "psd_LDS", "psd_movingAve", "dasm_LDS", "dasm_movingAve",
                      "rasm_LDS", "rasm_movingAve", "asm_LDS", "asm_movingAve", "dcau_LDS", "dcau_movingAve")
_DATED = re.compile(r"^(\d+)_(\d{8})\.mat$")
_LAYOUT = "SEED's layout <root>/Preprocessed_EEG/<subject>_<date>.mat with label.mat (and <root>/ExtractedFeatures/)"


def _folder(root, name: str) -> Path:
    return find_folder(root, name, dataset="SEED", layout=_LAYOUT)


def _list_files(d: Path) -> dict:
    files: dict = {}
    for s, _date, p in matching(d, _DATED):                  # name order: a subject's sessions in date order
        files.setdefault(s, []).append(p)
    if not files:
        raise EEGFileError(f"{d} holds no <subject>_<date>.mat file (e.g. 1_20131027.mat); is this the SEED "
                           f"dataset's {d.name} folder?")
    return dict(sorted(files.items()))


def list_seed_files(root, folder: str = "Preprocessed_EEG") -> dict:
    """Subject -> its session files in date order, from ``root/folder/<subject>_<date>.mat`` (or ``root`` = folder)."""
    return _list_files(_folder(root, folder))


def read_seed_labels(path) -> list[str]:
    """The 15 clip labels of ``label.mat`` as :data:`~e2llm_lab.labels.SEED` names."""
    mat = loadmat(path, what="SEED's label.mat with key 'label' (15 values in {-1, 0, 1})")
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


def _sessions(d: Path, subjects) -> list:
    """``(subject, session, path)`` of the wanted subjects' files in folder ``d``."""
    files = _list_files(d)
    found = [(s, k + 1, p) for s, paths in files.items() for k, p in enumerate(paths)]
    if subjects is None:
        return keep_subjects(found, None, d)
    keep_subjects(found, subjects, d)                            # refuses a wanted subject with no file
    return [f for s in subjects for f in found if f[0] == s]     # in the order asked


def iter_seed_eeg(root, *, subjects=None, labels=None, progress: bool = False):
    """Yield ``(raw, row)`` for every clip of SEED's preprocessed EEG, one subject file at a time.

    Parameters
    ----------
    root : path
        Dataset folder holding ``Preprocessed_EEG/``, or that folder itself.
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
    d = _folder(root, "Preprocessed_EEG")
    yield from _iter_eeg(d, _sessions(d, subjects), labels, progress)


def _iter_eeg(d: Path, files: list, labels, progress: bool):
    labels = read_seed_labels(d / "label.mat") if labels is None else list(labels)
    for i, lab in enumerate(labels):
        check_label(lab, SEED, "labels", f"clip {i + 1}")
    info = make_info(SEED_CH_NAMES, SFREQ)
    for subject, session, path in tqdm(files, desc="SEED files", disable=not progress):
        mat = loadmat(path, what="SEED preprocessed EEG with keys <initials>_eeg1..15")
        keys = {int(m.group(2)): k for k in mat if (m := EEG_KEY.match(k))}
        missing = [t for t in range(1, len(labels) + 1) if t not in keys]
        if missing:
            raise EEGFileError(f"{path} lacks key(s) <initials>_eeg{missing[:5]}; expected <initials>_eeg1.."
                               f"{len(labels)}, found {sorted(k for k in mat if not k.startswith('__'))[:8]}")
        for trial in range(1, len(labels) + 1):
            data = check_trial(mat[keys[trial]], path, keys[trial])
            raw = mne.io.RawArray(data * 1e-6, info.copy(), verbose="error")    # microvolts -> volts
            yield raw, {"subject": subject, "session": session, "trial": trial, "emotion": labels[trial - 1],
                        "source": f"{path} key {keys[trial]}"}
        del mat


def read_seed_features(root, *, subjects=None, labels=None, kind: str = "de_LDS", normalize: str | None = "subject",
                       progress: bool = True) -> FeatureSet:
    """SEED's shipped features (``ExtractedFeatures/``) as a window-level FeatureSet (``n_steps = 1``).

    Parameters
    ----------
    root : path
        Dataset folder holding ``ExtractedFeatures/``, or that folder itself.
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
    folder = _folder(root, "ExtractedFeatures")
    if labels is None:
        # label.mat ships in both folders; given the features folder alone, its sibling Preprocessed_EEG is next
        places = [folder / "label.mat", Path(root) / "Preprocessed_EEG" / "label.mat",
                  folder.parent / "Preprocessed_EEG" / "label.mat"]
        labels = read_seed_labels(next((p for p in places if p.is_file()), places[1]))
    blocks, rows = [], []
    for subject, session, path in tqdm(_sessions(folder, subjects), desc="SEED feature files", disable=not progress):
        mat = loadmat(path, what=f"SEED features with keys {kind}1..15")
        feature_trials(mat, path, kind, len(labels), lambda trial: labels[trial - 1], SEED,
                       {"subject": subject, "session": session}, blocks, rows)
    return feature_set(blocks, rows, bands=SEED_FEATURE_BANDS, feature=f"seed_{kind}", label_space=SEED,
                       normalize=normalize, root=folder)


@legacy_positional("cfg")
def read_seed(root, *, cfg: DataConfig = DataConfig(), subjects=None, label_space=None, labels=None,
              from_features: bool = False, kind: str = "de_LDS", progress: bool = True) -> FeatureSet:
    """SEED as a FeatureSet: DE computed here from the preprocessed EEG, or the shipped features.

    Parameters
    ----------
    root : path
        The dataset root, or its ``Preprocessed_EEG`` (``ExtractedFeatures`` with ``from_features``) folder itself.
    cfg : DataConfig
        Preprocessing and DE settings (raw path); ``cfg.normalize`` applies to both paths.
    label_space : optional
        Only SEED's own space (the default).
    from_features : bool
        Read ``ExtractedFeatures/`` (:func:`read_seed_features`) instead of computing DE.
    """
    own_label_space(label_space, SEED, "SEED")
    if from_features:
        return read_seed_features(root, subjects=subjects, labels=labels, kind=kind, normalize=cfg.normalize,
                                  progress=progress)
    d = _folder(root, "Preprocessed_EEG")
    files = _sessions(d, subjects)
    return featureset_from_recordings(_iter_eeg(d, files, labels, False), cfg, total=len(files) * N_TRIALS,
                                      progress=progress, label_space=SEED)
