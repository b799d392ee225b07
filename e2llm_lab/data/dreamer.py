"""Reader for DREAMER (Katsigiannis & Ramzan 2018): one ``DREAMER.mat`` (the data need a request to its authors).

Layout (MATLAB struct ``DREAMER``)::

    DREAMER.EEG_SamplingRate     128
    DREAMER.EEG_Electrodes       the 14 Emotiv EPOC channels (:data:`DREAMER_EEG_CHANNELS`)
    DREAMER.Data{s}              s = 1..23, one struct per subject:
        .EEG.baseline{k}         (n_times, 14) for clip k = 1..18, the neutral clip before it
        .EEG.stimuli{k}          (n_times, 14) the clip itself
        .ScoreValence(k), .ScoreArousal(k), .ScoreDominance(k)   self-ratings, 1-5

Clips become :data:`~e2llm_lab.labels.VA_QUADRANTS` labels with :func:`~e2llm_lab.labels.quadrant_label` (a rating
above ``threshold``, default 3, the scale's midpoint, counts as high); the three ratings stay as meta columns.
The file holds every subject, so it is read once; subjects are then streamed one at a time.
"""
from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
from tqdm.auto import tqdm

from ..config import DataConfig
from ..labels import VA_QUADRANTS, quadrant_label
from ._readers import check_trial, legacy_positional, loadmat, own_label_space
from .errors import EEGDataError, EEGFileError
from .featureset import FeatureSet
from .io import conform_to_cap
from .recordings import featureset_from_recordings

__all__ = ["DREAMER_EEG_CHANNELS", "iter_dreamer_eeg", "read_dreamer"]

#: The Emotiv EPOC's 14 channels, in the column order of DREAMER's EEG arrays.
DREAMER_EEG_CHANNELS = ("AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4")
SFREQ = 128.0
RATINGS = ("valence", "arousal", "dominance")


def _path(root) -> Path:
    root = Path(root)
    return root if root.suffix.lower() == ".mat" else root / "DREAMER.mat"


def _field(obj, name: str, path, where: str):
    try:
        return getattr(obj, name)
    except AttributeError:
        have = getattr(obj, "_fieldnames", None)
        raise EEGFileError(f"{path}: {where} has no field '{name}' (fields: {have}); expected DREAMER's layout "
                           f"DREAMER.Data{{s}}.EEG.stimuli{{k}}, .ScoreValence, .ScoreArousal") from None


def _load(path: Path):
    mat = loadmat(path, what="DREAMER.mat with the struct 'DREAMER'", squeeze_me=True, struct_as_record=False)
    if "DREAMER" not in mat:
        raise EEGFileError(f"{path} has no variable 'DREAMER' (variables: "
                           f"{sorted(k for k in mat if not k.startswith('__'))}); expected DREAMER.mat")
    top = mat["DREAMER"]
    subjects = np.atleast_1d(_field(top, "Data", path, "DREAMER"))
    sfreq = float(getattr(top, "EEG_SamplingRate", SFREQ))
    names = getattr(top, "EEG_Electrodes", None)
    names = DREAMER_EEG_CHANNELS if names is None else tuple(str(n).strip() for n in np.atleast_1d(names))
    return subjects, sfreq, names


def iter_dreamer_eeg(root, *, subjects=None, threshold: float = 3.0, progress: bool = False):
    """Yield ``(raw, row)`` for every DREAMER clip (the stimulus part), subject by subject.

    Parameters
    ----------
    root : path
        Folder holding ``DREAMER.mat``, or the file itself.
    subjects : list of int, optional
        1-based subject numbers; default all.
    threshold : float or (float, float)
        A rating above it counts as high (default 3, the 1-5 scale's midpoint).

    Yields
    ------
    raw : mne.io.BaseRaw
        14 EEG channels on the SEED cap (``missing="present"``), volts, 128 Hz.
    row : dict
        subject, session (1), trial (1..18), emotion (a VA_QUADRANTS label), the three ratings, source.
    """
    path = _path(root)
    data, sfreq, names = _load(path)
    if len(names) != len(DREAMER_EEG_CHANNELS):
        raise EEGDataError(f"{path}: DREAMER.EEG_Electrodes lists {len(names)} channels {list(names)}; expected "
                           f"the Emotiv EPOC's 14 {list(DREAMER_EEG_CHANNELS)}")
    numbers = list(range(1, len(data) + 1))
    if subjects is not None:
        missing = [s for s in subjects if s not in numbers]
        if missing:
            raise EEGFileError(f"subject(s) {missing} are not in {path}, which holds subjects 1..{len(data)}")
        numbers = [s for s in numbers if s in set(subjects)]
    info = mne.create_info(list(names), sfreq, "eeg")
    for s in tqdm(numbers, desc="DREAMER subjects", disable=not progress):
        subj = data[s - 1]
        where = f"DREAMER.Data{{{s}}}"
        stimuli = np.atleast_1d(_field(_field(subj, "EEG", path, where), "stimuli", path, f"{where}.EEG"))
        scores = np.stack([np.atleast_1d(np.asarray(_field(subj, f"Score{r.title()}", path, where), dtype=float))
                           for r in RATINGS], axis=1)                  # (n_clips, 3)
        if scores.shape[0] != len(stimuli):
            raise EEGDataError(f"{path}: {where} has {len(stimuli)} clips but {scores.shape[0]} ratings; expected "
                               f"one rating per clip (18)")
        bad = scores[~((scores >= 1) & (scores <= 5))]
        if bad.size:
            raise EEGDataError(f"{path}: {where} rating(s) {bad[:5].tolist()} outside DREAMER's 1-5 scale")
        for k, clip in enumerate(stimuli, start=1):
            eeg = check_trial(np.asarray(clip, dtype=float).T, path, f"{where}.EEG.stimuli{{{k}}} (transposed)",
                              len(names))                              # (n_times, 14) -> (14, n_times)
            raw = mne.io.RawArray(eeg * 1e-6, info.copy(), verbose="error")       # microvolts -> volts
            raw = conform_to_cap(raw, missing="present", source=f"{path} subject {s} clip {k}")
            v, a = scores[k - 1, 0], scores[k - 1, 1]
            yield raw, {"subject": s, "session": 1, "trial": k, "emotion": quadrant_label(v, a, threshold=threshold),
                        **{f"rating_{r}": float(x) for r, x in zip(RATINGS, scores[k - 1])},
                        "source": f"{path} subject {s} clip {k}"}


@legacy_positional("cfg")
def read_dreamer(root, *, cfg: DataConfig = DataConfig(), subjects=None, label_space=None, threshold: float = 3.0,
                 progress: bool = True) -> FeatureSet:
    """DREAMER as a FeatureSet: DE of each clip's EEG, labels the rating quadrants (VA_QUADRANTS, the only space).

    ``root`` is the folder holding ``DREAMER.mat``, or the file itself.
    """
    own_label_space(label_space, VA_QUADRANTS, "DREAMER")
    return featureset_from_recordings(iter_dreamer_eeg(root, subjects=subjects, threshold=threshold), cfg,
                                      progress=progress, label_space=VA_QUADRANTS)
