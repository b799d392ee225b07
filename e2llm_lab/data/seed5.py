"""Reader for the SEED-V dataset (Liu et al. 2021) from its raw recordings (licence from BCMI, SJTU).

Layout::

    <root>/EEG_raw/<subject>_<session>_<date>.cnt     Neuroscan CNT, 62 EEG channels (SEED cap) + M1, M2, VEO,
                                                      HEO, 1000 Hz; one file per subject and session (1..3)

Each session shows 15 film clips; their start and end (seconds from the start of the recording) and labels are the
same for every subject and ship here as :data:`SEED5_TRIALS` (from the dataset's documentation; codes 0 disgust,
1 fear, 2 sad, 3 neutral, 4 happy: the :data:`~e2llm_lab.labels.SEED5` space).

The dataset's ``EEG_DE_features/*.npz`` store pickled Python objects, which the toolkit never loads (a pickle can
run code); :func:`refuse_seed5_features` says so and points to the raw path.

``root`` may be the dataset root or its ``EEG_raw`` folder itself.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from ..config import DataConfig
from ..labels import SEED5
from ._readers import find_folder, keep_subjects, legacy_positional, matching, own_label_space
from .errors import DatasetFolderError, EEGDataError, EEGFileError
from .featureset import FeatureSet
from .io import read_raw
from .recordings import featureset_from_recordings

__all__ = ["SEED5_TRIALS", "list_seed5_files", "iter_seed5_eeg", "refuse_seed5_features", "read_seed5"]

#: Per session (1..3): (start_s, end_s, label code) of its 15 clips, seconds from the recording's start.
SEED5_TRIALS: tuple[tuple[tuple[int, int, int], ...], ...] = tuple(
    tuple(zip(starts, ends, codes)) for starts, ends, codes in (
        ((30, 132, 287, 555, 773, 982, 1271, 1628, 1730, 2025, 2227, 2435, 2667, 2932, 3204),
         (102, 228, 524, 742, 920, 1240, 1568, 1697, 1994, 2166, 2401, 2607, 2901, 3172, 3359),
         (4, 1, 3, 2, 0, 4, 1, 3, 2, 0, 4, 1, 3, 2, 0)),
        ((30, 299, 548, 646, 836, 1000, 1091, 1392, 1657, 1809, 1966, 2186, 2333, 2490, 2741),
         (267, 488, 614, 773, 967, 1059, 1331, 1622, 1777, 1908, 2153, 2302, 2428, 2709, 2817),
         (2, 1, 3, 0, 4, 4, 0, 3, 2, 1, 3, 4, 1, 2, 0)),
        ((30, 353, 478, 674, 825, 908, 1200, 1346, 1451, 1711, 2055, 2307, 2457, 2726, 2888),
         (321, 418, 643, 764, 877, 1147, 1284, 1418, 1679, 1996, 2275, 2425, 2664, 2857, 3066),
         (2, 1, 3, 0, 4, 4, 0, 3, 2, 1, 3, 4, 1, 2, 0)),
    ))
N_TRIALS = 15
_FILE = re.compile(r"^(\d+)_([123])_(\d+)\.cnt$", re.IGNORECASE)


def refuse_seed5_features(path) -> None:
    """Raise: SEED-V's ``EEG_DE_features`` hold pickled objects, which the toolkit never loads."""
    raise EEGFileError(f"{path}: SEED-V's EEG_DE_features .npz files hold pickled Python objects, which e2llm_lab "
                       f"never loads (a pickle can run code). Compute the features from the raw recordings "
                       f"instead: read_seed5(<root>) or `e2llm-lab prepare --dataset seed5 <root>` with "
                       f"<root>/EEG_raw/<subject>_<session>_<date>.cnt")


def list_seed5_files(root, *, subjects=None) -> list[tuple]:
    """``(subject, session, path)`` of every ``root/EEG_raw/<subject>_<session>_<date>.cnt``, subject-major.

    ``root`` may also be the ``EEG_raw`` folder itself.
    """
    root = Path(root)
    if root.suffix.lower() == ".npz" or root.name == "EEG_DE_features":
        refuse_seed5_features(root)
    try:
        base = find_folder(root, "EEG_raw", dataset="SEED-V",
                           layout=f"SEED-V's layout {root}/EEG_raw/<subject>_<session>_<date>.cnt")
    except DatasetFolderError:
        if (root / "EEG_DE_features").is_dir():
            refuse_seed5_features(root / "EEG_DE_features")
        raise
    found = [(s, session, p) for s, session, _date, p in matching(base, _FILE)]
    if not found:
        raise EEGFileError(f"{base} holds no <subject>_<session>_<date>.cnt file (e.g. 1_1_20180804.cnt); is this "
                           f"SEED-V's EEG_raw folder?")
    return keep_subjects(found, subjects, base)


def iter_seed5_eeg(root, *, subjects=None, missing: str = "raise", progress: bool = False):
    """Yield ``(raw, row)`` for every clip of SEED-V's raw recordings, one session file at a time.

    Parameters
    ----------
    root : path
        The dataset root, or its ``EEG_raw`` folder itself.
    missing : {"raise", "interpolate", "present"}
        Absent cap channels (see :func:`~e2llm_lab.data.io.read_raw`).

    Yields
    ------
    raw : mne.io.BaseRaw
        The clip's span of the session, EEG on the SEED cap, volts, the file's rate (1000 Hz).
    row : dict
        subject, session, trial (1..15), emotion, source.
    """
    yield from _iter_eeg(list_seed5_files(root, subjects=subjects), missing, progress)


def _iter_eeg(files: list, missing: str, progress: bool):
    for subject, session, path in tqdm(files, desc="SEED-V files", disable=not progress):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # the documented M1, M2, VEO, HEO channels it drops
            raw = read_raw(path, missing=missing)
        duration = raw.n_times / raw.info["sfreq"]
        for trial, (start, end, code) in enumerate(SEED5_TRIALS[session - 1], start=1):
            if end > duration:
                raise EEGDataError(f"{path}: clip {trial} of session {session} ends at {end} s but the recording "
                                   f"lasts {duration:.1f} s; the file is truncated or not a SEED-V session "
                                   f"recording")
            clip = raw.copy().crop(start, end, include_tmax=False)
            yield clip, {"subject": subject, "session": session, "trial": trial, "emotion": SEED5.labels[code],
                         "source": f"{path} clip {trial} ({start}-{end} s)"}
        del raw


@legacy_positional("cfg")
def read_seed5(root, *, cfg: DataConfig = DataConfig(), subjects=None, label_space=None, from_features: bool = False,
               missing: str = "raise", progress: bool = True) -> FeatureSet:
    """SEED-V as a FeatureSet, DE computed here from ``EEG_raw/`` (label space SEED5, the only one allowed).

    ``root`` is the dataset root or its ``EEG_raw`` folder itself. ``from_features=True`` raises: the shipped
    features are pickles (:func:`refuse_seed5_features`).
    """
    own_label_space(label_space, SEED5, "SEED-V")
    if from_features:
        refuse_seed5_features(Path(root) / "EEG_DE_features")
    files = list_seed5_files(root, subjects=subjects)
    return featureset_from_recordings(_iter_eeg(files, missing, False), cfg, total=len(files) * N_TRIALS,
                                      progress=progress, label_space=SEED5)
