"""Reader for DEAP (Koelstra et al. 2012), its preprocessed MATLAB files (the data need an EULA from QMUL).

Layout::

    <root>/data_preprocessed_matlab/s01.mat .. s32.mat
        data    (40, 40, 8064)  trials x channels x samples, 128 Hz, microvolts; channels 1-32 EEG in DEAP's
                                Geneva order (:data:`DEAP_EEG_CHANNELS`), 33-40 peripheral; the first 3 s of
                                each trial are a pre-trial baseline
        labels  (40, 4)         valence, arousal, dominance, liking ratings, 1-9

Trials become :data:`~e2llm_lab.labels.VA_QUADRANTS` labels with :func:`~e2llm_lab.labels.quadrant_label` (a rating
above ``threshold``, default the scale's midpoint 5, counts as high); the four ratings stay as meta columns
``rating_valence``, ``rating_arousal``, ``rating_dominance``, ``rating_liking``.

``root`` may be the dataset root or its ``data_preprocessed_matlab`` folder itself. The Python copy
(``data_preprocessed_python/*.dat``, which TorchEEG's ``DEAPDataset`` reads) is a pickle, which the toolkit never loads.
"""
from __future__ import annotations

import re
from pathlib import Path

import mne
import numpy as np
from tqdm.auto import tqdm

from ..config import DataConfig
from ..labels import VA_QUADRANTS, quadrant_label
from ._readers import check_trial, find_folder, keep_subjects, legacy_positional, loadmat, matching, own_label_space
from .errors import DatasetFolderError, EEGDataError, EEGFileError
from .featureset import FeatureSet
from .io import conform_to_cap
from .recordings import featureset_from_recordings

__all__ = ["DEAP_EEG_CHANNELS", "list_deap_files", "iter_deap_eeg", "read_deap"]

SFREQ = 128.0
BASELINE_S = 3.0
N_TRIALS = 40
#: DEAP's 32 EEG channels in the order of its preprocessed files (the Geneva order of its documentation).
DEAP_EEG_CHANNELS = ("Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1", "Oz",
                     "Pz", "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6", "CP2", "P4", "P8",
                     "PO4", "O2")
RATINGS = ("valence", "arousal", "dominance", "liking")
_FILE = re.compile(r"^s(\d+)\.mat$")


def _refuse_pickles(path) -> None:
    raise EEGFileError(f"{path}: DEAP's Python files (data_preprocessed_python/*.dat) are pickles, which e2llm_lab "
                       f"never loads (a pickle can run code). Use the MATLAB copy of the same data instead: "
                       f"<root>/data_preprocessed_matlab/s01.mat .. s32.mat (read_deap(<root>) or "
                       f"`e2llm-lab prepare --dataset deap <root>`)")


def list_deap_files(root, *, subjects=None) -> list[tuple]:
    """``(subject, path)`` of ``root/data_preprocessed_matlab/sNN.mat`` (or ``root`` = that folder), by number."""
    root = Path(root)
    if root.suffix == ".dat" or root.name == "data_preprocessed_python":
        _refuse_pickles(root)
    try:
        base = find_folder(root, "data_preprocessed_matlab", dataset="DEAP",
                           layout=f"DEAP's layout {root}/data_preprocessed_matlab/s01.mat ..")
    except DatasetFolderError:
        if (root / "data_preprocessed_python").is_dir():
            _refuse_pickles(root / "data_preprocessed_python")
        raise
    found = matching(base, _FILE)
    if not found:
        raise EEGFileError(f"{base} holds no sNN.mat file (s01.mat .. s32.mat); is this DEAP's "
                           f"data_preprocessed_matlab folder?")
    return keep_subjects(found, subjects, base)


def _read_subject(path: Path):
    what = "DEAP's data (40, 40, 8064) and labels (40, 4)"
    mat = loadmat(path, what=what)
    for key in ("data", "labels"):
        if key not in mat:
            raise EEGFileError(f"{path} has no key '{key}' (keys: {sorted(k for k in mat if not k.startswith('__'))}); "
                               f"expected {what}")
    data, ratings = np.asarray(mat["data"]), np.asarray(mat["labels"], dtype=np.float64)
    if data.ndim != 3 or data.shape[1] < len(DEAP_EEG_CHANNELS) or data.shape[2] <= BASELINE_S * SFREQ:
        raise EEGDataError(f"{path} key 'data': expected (n_trials, 40, n_times) with the 32 EEG channels first and "
                           f"more than {BASELINE_S:.0f} s of samples, got shape {data.shape}")
    if ratings.shape != (data.shape[0], len(RATINGS)):
        raise EEGDataError(f"{path} key 'labels': expected ({data.shape[0]}, 4) ratings (valence, arousal, "
                           f"dominance, liking), got shape {ratings.shape}")
    bad = ratings[~((ratings >= 1) & (ratings <= 9))]
    if bad.size:
        raise EEGDataError(f"{path} key 'labels': rating(s) {bad[:5].tolist()} outside DEAP's 1-9 scale")
    return data, ratings


def iter_deap_eeg(root, *, subjects=None, threshold: float = 5.0, baseline: bool = False, progress: bool = False):
    """Yield ``(raw, row)`` for every DEAP trial, one subject file at a time.

    Parameters
    ----------
    root : path
        The dataset root, or its ``data_preprocessed_matlab`` folder itself.
    threshold : float or (float, float)
        A rating above it counts as high valence/arousal (default 5, the 1-9 scale's midpoint).
    baseline : bool
        Keep the 3-s pre-trial baseline (default: cut it off, the 60-s clip only).

    Yields
    ------
    raw : mne.io.BaseRaw
        32 EEG channels on the SEED cap (``missing="present"``), volts, 128 Hz.
    row : dict
        subject, session (1), trial (1..40), emotion (a VA_QUADRANTS label), the four ratings, source.
    """
    yield from _iter_eeg(list_deap_files(root, subjects=subjects), threshold, baseline, progress)


def _iter_eeg(files: list, threshold, baseline: bool, progress: bool):
    info = mne.create_info(list(DEAP_EEG_CHANNELS), SFREQ, "eeg")
    skip = 0 if baseline else int(BASELINE_S * SFREQ)
    for subject, path in tqdm(files, desc="DEAP subjects", disable=not progress):
        data, ratings = _read_subject(path)
        for t in range(data.shape[0]):
            eeg = check_trial(data[t, :len(DEAP_EEG_CHANNELS), skip:], path, f"data[{t}]", len(DEAP_EEG_CHANNELS))
            raw = mne.io.RawArray(eeg * 1e-6, info.copy(), verbose="error")      # microvolts -> volts
            raw = conform_to_cap(raw, missing="present", source=f"{path} trial {t + 1}")
            v, a = ratings[t, 0], ratings[t, 1]
            yield raw, {"subject": subject, "session": 1, "trial": t + 1,
                        "emotion": quadrant_label(v, a, threshold=threshold),
                        **{f"rating_{r}": float(x) for r, x in zip(RATINGS, ratings[t])},
                        "source": f"{path} trial {t + 1}"}
        del data


@legacy_positional("cfg")
def read_deap(root, *, cfg: DataConfig = DataConfig(), subjects=None, label_space=None, threshold: float = 5.0,
              progress: bool = True) -> FeatureSet:
    """DEAP as a FeatureSet: DE from the preprocessed EEG, labels the rating quadrants (VA_QUADRANTS, the only space).

    ``root`` is the dataset root or its ``data_preprocessed_matlab`` folder itself.
    """
    own_label_space(label_space, VA_QUADRANTS, "DEAP")
    files = list_deap_files(root, subjects=subjects)
    return featureset_from_recordings(_iter_eeg(files, threshold, False, False), cfg, total=len(files) * N_TRIALS,
                                      progress=progress, label_space=VA_QUADRANTS)
