"""Reader for FACED (Chen et al. 2023, Sci. Data 10:740) from its raw recordings (Synapse syn50614194).

Layout::

    <root>/Data/sub000/data.bdf     Neuracle recording: 32 channels (30 EEG of the 10-20 system + A1, A2), 1000 Hz
    <root>/Data/sub000/evt.bdf      the recording's events as BDF+ annotations with numeric codes:
                                    1..28 the clip about to play, 101 clip start, 102 clip end (100 experiment start)
    ...
    <root>/Data/sub122/...

A clip's EEG is the span from its 101 to the next 102. The clip-to-emotion table (:data:`FACED_CLIP_EMOTIONS`:
clips 1-3 anger, 4-6 disgust, 7-9 fear, 10-12 sadness, 13-16 neutral, 17-19 amusement, 20-22 inspiration, 23-25
joy, 26-28 tenderness) is the dataset's own and ships here; labels are the :data:`~e2llm_lab.labels.FACED` space.

``root`` may be the dataset root or its ``Data`` folder itself (any folder holding the subNNN folders). The processed
copies (``Processed_data/*.pkl``, ``EEG_Features/*.pkl``) are pickles, which the toolkit never loads.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import mne
from tqdm.auto import tqdm

from ..config import DataConfig
from ..labels import FACED
from ._readers import find_folder, keep_subjects, legacy_positional, matching, own_label_space
from .errors import DatasetFolderError, EEGDataError, EEGFileError
from .featureset import FeatureSet
from .io import read_raw
from .recordings import featureset_from_recordings

__all__ = ["FACED_CLIP_EMOTIONS", "list_faced_subjects", "read_faced_events", "iter_faced_eeg", "read_faced"]

N_CLIPS = 28
#: Emotion of each of FACED's 28 clips (index 0 is clip 1).
FACED_CLIP_EMOTIONS: tuple[str, ...] = (("anger",) * 3 + ("disgust",) * 3 + ("fear",) * 3 + ("sadness",) * 3
                                        + ("neutral",) * 4 + ("amusement",) * 3 + ("inspiration",) * 3
                                        + ("joy",) * 3 + ("tenderness",) * 3)
CLIP_START, CLIP_END = 101, 102
_SUBJECT = re.compile(r"^sub(\d+)$", re.IGNORECASE)


def _refuse_pickles(path) -> None:
    raise EEGFileError(f"{path}: FACED's processed files (.pkl) are pickles, which e2llm_lab never loads (a pickle "
                       f"can run code). Use the raw recordings instead: <root>/Data/subNNN/data.bdf with its evt.bdf "
                       f"(read_faced(<root>) or `e2llm-lab prepare --dataset faced <root>`)")


def _refuse_pickles_in(root: Path) -> None:
    """Raise when ``root`` holds the processed pickles instead of the raw recordings."""
    pickles = list(root.glob("*.pkl")) + list(root.glob("Processed_data/*.pkl"))
    if pickles:
        _refuse_pickles(pickles[0])


def _holds_subjects(d: Path) -> bool:
    return any(p.is_dir() and _SUBJECT.match(p.name) for p in d.iterdir())


def list_faced_subjects(root, *, subjects=None) -> list[tuple]:
    """``(subject number, folder)`` of every ``root/Data/subNNN`` (or ``root/subNNN``), by number."""
    root = Path(root)
    if root.suffix == ".pkl":
        _refuse_pickles(root)
    try:
        base = find_folder(root, "Data", dataset="FACED", holds=_holds_subjects,
                           layout=f"FACED's raw layout {root}/Data/sub000/data.bdf + evt.bdf ...")
    except DatasetFolderError:
        _refuse_pickles_in(root)
        raise
    found = matching(base, _SUBJECT, dirs=True)
    if not found:
        _refuse_pickles_in(root)
        raise EEGFileError(f"{base} holds no subNNN folder; expected FACED's raw layout "
                           f"{root}/Data/sub000/data.bdf + evt.bdf ...")
    return keep_subjects(found, subjects, base, noun="folder")


def read_faced_events(path) -> list[tuple[int, float, float]]:
    """``(clip, start_s, end_s)`` of each complete clip in an ``evt.bdf`` (code 1..28, then 101, then 102)."""
    path = Path(path)
    if not path.is_file():
        raise EEGFileError(f"{path} not found; expected FACED's event file beside data.bdf")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ann = mne.read_annotations(path)
    except Exception as err:                                # MNE raises several types for a bad file
        raise EEGFileError(f"{path}: could not read its annotations ({type(err).__name__}: {err}); expected a BDF+ "
                           f"event file with numeric codes") from err
    spans, clip, start = [], None, None
    for onset, desc in zip(ann.onset, ann.description):
        code = int(desc) if str(desc).strip().isdigit() else None
        if code is not None and 1 <= code <= N_CLIPS:
            clip, start = code, None
        elif code == CLIP_START and clip is not None:
            start = float(onset)
        elif code == CLIP_END and clip is not None and start is not None:
            spans.append((clip, start, float(onset)))
            clip, start = None, None
    if not spans:
        raise EEGDataError(f"{path}: no clip found (a code 1..{N_CLIPS}, then {CLIP_START}, then {CLIP_END}); its "
                           f"codes: {sorted(set(map(str, ann.description)))[:12]}")
    return spans


def iter_faced_eeg(root, *, subjects=None, progress: bool = False):
    """Yield ``(raw, row)`` for every clip of FACED's raw recordings, one subject at a time.

    Parameters
    ----------
    root : path
        The dataset root, or its ``Data`` folder itself.

    Yields
    ------
    raw : mne.io.BaseRaw
        The clip's span, the 30 EEG channels on the SEED cap (``missing="present"``; A1/A2 dropped), volts.
    row : dict
        subject (the NNN of subNNN), session (1), trial (the clip, 1..28), emotion, source.
    """
    yield from _iter_eeg(list_faced_subjects(root, subjects=subjects), progress)


def _iter_eeg(folders: list, progress: bool):
    for subject, folder in tqdm(folders, desc="FACED subjects", disable=not progress):
        data = folder / "data.bdf"
        if not data.is_file():
            raise EEGFileError(f"{data} not found; expected FACED's recording data.bdf (with evt.bdf) in {folder}")
        spans = read_faced_events(folder / "evt.bdf")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")               # the A1/A2 and trigger channels it drops
            raw = read_raw(data, missing="present")
        duration = raw.n_times / raw.info["sfreq"]
        for clip, start, end in sorted(spans):
            if end > duration + 1 / raw.info["sfreq"]:
                raise EEGDataError(f"{folder / 'evt.bdf'}: clip {clip} ends at {end:.1f} s but {data} lasts "
                                   f"{duration:.1f} s; the recording is truncated")
            yield raw.copy().crop(start, min(end, duration), include_tmax=False), {
                "subject": subject, "session": 1, "trial": clip, "emotion": FACED_CLIP_EMOTIONS[clip - 1],
                "source": f"{data} clip {clip} ({start:.1f}-{end:.1f} s)"}
        del raw


@legacy_positional("cfg")
def read_faced(root, *, cfg: DataConfig = DataConfig(), subjects=None, label_space=None, from_features: bool = False,
               progress: bool = True) -> FeatureSet:
    """FACED as a FeatureSet, DE computed here from the raw recordings (label space FACED, the only one allowed).

    ``root`` is the dataset root or its ``Data`` folder itself. ``from_features=True`` raises: the processed files
    are pickles.
    """
    own_label_space(label_space, FACED, "FACED")
    if from_features:
        _refuse_pickles(Path(root) / "EEG_Features")
    folders = list_faced_subjects(root, subjects=subjects)
    return featureset_from_recordings(_iter_eeg(folders, False), cfg, total=len(folders) * N_CLIPS, progress=progress,
                                      label_space=FACED)
