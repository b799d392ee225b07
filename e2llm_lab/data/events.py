"""Any labelled recording -> FeatureSet: an MNE Raw with annotations (or an events array) and a mapping from event
code or description to label.

Each mapped event opens a trial: from its onset for its annotated duration, or ``duration`` seconds, or (when
neither is known) until the next mapped event or the end of the recording. Trials are numbered in time order.

.. code-block:: python

    fs = features_from_events("rec.edf", {"happy_clip": "happiness", "sad_clip": "sadness"})
    fs = features_from_events(raw, {1: "calm", 2: "tense"}, events=mne.find_events(raw), duration=30.0,
                              label_space="va_quadrants")

Files in any format :func:`~e2llm_lab.data.io.read_raw` reads (EDF, BDF, FIF, BrainVision, EEGLAB, CNT) may stand
in for the Raw; a folder of them becomes one subject per file (:func:`read_events_folder`).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import mne
import numpy as np
from tqdm.auto import tqdm

from ..config import DataConfig
from ..labels import LabelSpace, get_label_space
from ._readers import NOT_TRIALS, as_id, legacy_positional, sort_key
from .errors import EEGDataError, EEGFileError
from .featureset import FeatureSet
from .io import SUPPORTED_EXTENSIONS, conform_to_cap, read_raw
from .recordings import featureset_from_recordings

__all__ = ["parse_mapping", "event_label_space", "iter_event_trials", "list_raw_files", "features_from_events",
           "read_events_folder"]

def parse_mapping(text) -> dict:
    """A mapping from the command line: ``"1=calm,2=tense"``, a path to a JSON object, or a dict (returned as is)."""
    if text is None or isinstance(text, dict):
        return text
    p = Path(str(text))
    if p.suffix.lower() == ".json":
        import json

        try:
            out = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EEGFileError(f"mapping file {p} not found") from None
        except json.JSONDecodeError as err:
            raise EEGFileError(f"{p} is not valid JSON ({err}); expected an object like {{\"1\": \"calm\"}}") from None
        if not isinstance(out, dict):
            raise EEGFileError(f"{p} holds a {type(out).__name__}; expected an object like {{\"1\": \"calm\"}}")
        return {str(k): str(v) for k, v in out.items()}
    pairs = [x for x in str(text).split(",") if x.strip()]
    bad = [x for x in pairs if x.count("=") != 1]
    if not pairs or bad:
        raise ValueError(f"mapping {text!r}: expected 'event=label,event=label' (e.g. '1=calm,2=tense' or "
                         f"'happy_clip=happiness') or a .json file; bad part(s): {bad}")
    return {k.strip(): v.strip() for k, v in (x.split("=") for x in pairs)}


def event_label_space(mapping: dict, label_space=None) -> LabelSpace:
    """``label_space`` (a built-in name or a LabelSpace), or a custom one from the mapping's labels in order."""
    if label_space is not None:
        return get_label_space(label_space)
    names = list(dict.fromkeys(str(v).strip().lower() for v in mapping.values()))
    if len(names) < 2:
        raise EEGDataError(f"the mapping {mapping} names {len(names)} label(s); a label space needs at least 2. "
                           f"Map more events, or pass label_space= a built-in space")
    return LabelSpace.from_names(names)


def _lookup(mapping) -> dict | None:
    return None if mapping is None else {str(k).strip(): v for k, v in mapping.items()}


def _event_list(raw, lookup, events, source) -> list[tuple[float, float, str, str]]:
    """(onset_s, duration_s or nan, key, label) of the mapped events, in time order."""
    sfreq, first = raw.info["sfreq"], raw.first_samp
    if events is not None:
        ev = np.asarray(events)
        if ev.ndim != 2 or ev.shape[1] != 3:
            raise EEGDataError(f"events for {source}: expected an (n_events, 3) array (sample, previous, code) as "
                               f"mne.find_events returns, got shape {ev.shape}")
        items = [((s - first) / sfreq, np.nan, str(int(c))) for s, _, c in ev]
    else:
        ann = raw.annotations
        offset = raw.first_time if ann.orig_time is not None else 0.0     # onsets count from meas_date then
        items = [(float(o) - offset, float(d) if d > 0 else np.nan, str(t).strip())
                 for o, d, t in zip(ann.onset, ann.duration, ann.description)]
        if not items:
            raise EEGDataError(f"{source} has no annotations; give events= (e.g. mne.find_events(raw)) with a "
                               f"mapping from event code to label")
    if lookup is None:
        lookup = {k: k for _, _, k in items if not k.lower().startswith(NOT_TRIALS)}
    out = [(o, d, k, lookup[k]) for o, d, k in items if k in lookup]
    if not out:
        found = sorted({k for _, _, k in items})
        raise EEGDataError(f"none of the events in {source} is in the mapping {sorted(lookup)}; its events are "
                           f"{found[:12]}. Map those codes or descriptions to labels")
    return sorted(out, key=lambda e: e[0])


def iter_event_trials(raw, mapping=None, *, events=None, duration: float | None = None, subject=1, session=1,
                      missing: str = "present", source=None):
    """Yield ``(raw, row)`` for every mapped event of one recording.

    Parameters
    ----------
    raw : mne.io.BaseRaw or path
        The recording (a path is read with :func:`~e2llm_lab.data.io.read_raw`).
    mapping : dict, optional
        Event code (int or str) or annotation description -> label. Default: every annotation description
        (but BAD/EDGE ones) is its own label.
    events : np.ndarray, shape (n_events, 3), optional
        MNE events (sample, previous, code) instead of the annotations.
    duration : float, optional
        Trial length in seconds; default the annotation's duration, else until the next mapped event.
    subject, session
        Written into every row.
    missing : {"raise", "interpolate", "present"}
        Absent cap channels (:func:`~e2llm_lab.data.io.conform_to_cap`).

    Yields
    ------
    raw : mne.io.BaseRaw
        The trial's span on the SEED cap, volts.
    row : dict
        subject, session, trial (1.. in time order), emotion (the mapped label), event (the code or description),
        source.
    """
    if isinstance(raw, (str, Path)):
        source = source or str(raw)
        raw = read_raw(raw, missing=missing)
    else:
        source = source or "the recording"
        raw = conform_to_cap(raw, missing=missing, source=source)
    items = _event_list(raw, _lookup(mapping), events, source)
    end_of_rec = raw.n_times / raw.info["sfreq"]
    for i, (onset, dur, key, label) in enumerate(items):
        length = duration if duration is not None else dur
        stop = onset + length if np.isfinite(length) else (items[i + 1][0] if i + 1 < len(items) else end_of_rec)
        if onset < 0 or stop > end_of_rec + 1e-9 or stop <= onset:
            raise EEGDataError(f"{source}: event {key!r} at {onset:.2f} s spans {onset:.2f}-{stop:.2f} s, outside the "
                               f"recording (0-{end_of_rec:.2f} s); check duration= and the events")
        yield raw.copy().crop(onset, min(stop, end_of_rec), include_tmax=False), {
            "subject": subject, "session": session, "trial": i + 1, "emotion": label, "event": key,
            "source": f"{source} event {key!r} at {onset:.2f} s"}


def list_raw_files(root) -> list[Path]:
    """``root`` itself when it is an EEG file, else the EEG files of the folder (sorted, numbers as numbers)."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise EEGFileError(f"{root} not found; expected an EEG file ({', '.join(SUPPORTED_EXTENSIONS)}) or a folder "
                           f"of them")
    files = [p for p in root.iterdir() if p.is_file() and p.name.lower().endswith(SUPPORTED_EXTENSIONS)]
    if not files:
        raise EEGFileError(f"{root} holds no EEG file of a supported type {SUPPORTED_EXTENSIONS}")
    return sorted(files, key=lambda p: sort_key(as_id(_stem(p))))


def _stem(path: Path) -> str:
    name = path.name
    for ext in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return path.stem


def _descriptions(files) -> dict:
    """Every annotation description of the files (header reads only), as its own label."""
    seen = {}
    for p in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ann = mne.io.read_raw(p, preload=False, verbose="error").annotations
            except Exception as err:                          # any failure of MNE's readers
                raise EEGFileError(f"{p}: could not read its annotations ({type(err).__name__}: {err})") from err
        for d in ann.description:
            d = str(d).strip()
            if not d.lower().startswith(NOT_TRIALS):
                seen.setdefault(d, d)
    if not seen:
        raise EEGDataError(f"no annotation in {[str(p) for p in files][:4]}; give a mapping from event code to "
                           f"label (and events in the files' stim channel)")
    return seen


def features_from_events(raw, mapping=None, *, label_space=None, events=None, duration: float | None = None,
                         subject=1, session=1, cfg: DataConfig = DataConfig(), missing: str = "present",
                         progress: bool = True) -> FeatureSet:
    """One recording's labelled events -> window-level FeatureSet (see :func:`iter_event_trials`).

    Parameters
    ----------
    label_space : LabelSpace or str, optional
        Default: a custom space of the mapping's labels, in the order they appear.
    cfg : DataConfig
        Preprocessing and DE settings.
    """
    if mapping is None:
        files = [Path(raw)] if isinstance(raw, (str, Path)) else None
        mapping = _descriptions(files) if files else {str(d).strip(): str(d).strip()
                                                       for d in raw.annotations.description
                                                       if not str(d).lower().startswith(NOT_TRIALS)}
        if events is not None:
            raise ValueError("events= needs a mapping from event code to label")
    space = event_label_space(mapping, label_space)
    trials = iter_event_trials(raw, mapping, events=events, duration=duration, subject=subject, session=session,
                               missing=missing)
    return featureset_from_recordings(trials, cfg, progress=progress, label_space=space)


@legacy_positional("mapping")
def read_events_folder(root, *, mapping=None, cfg: DataConfig = DataConfig(), subjects=None, label_space=None,
                       duration: float | None = None, missing: str = "present", progress: bool = True) -> FeatureSet:
    """An EEG file, or a folder of them (one subject per file, its name the subject), -> FeatureSet.

    Trials come from each file's annotations through ``mapping`` (default: each description its own label);
    ``mapping`` is also accepted second, positionally (the older form).

    Parameters
    ----------
    root : path
        An EEG file, or a folder of them.
    subjects : list, optional
        Subjects (file names without extension, as ints where numeric) to read; default every file.
    label_space : LabelSpace or str, optional
        Default: a custom space of the mapping's labels, in the order they appear.
    """
    files = list_raw_files(root)
    if subjects is not None:
        have = {as_id(_stem(p)): p for p in files}
        wanted = [as_id(str(s)) for s in subjects]
        absent = [s for s in wanted if s not in have]
        if absent:
            raise EEGFileError(f"subject(s) {absent} have no file in {root}; found {list(have)[:10]}")
        files = [p for p in files if as_id(_stem(p)) in set(wanted)]
    mapping = _descriptions(files) if mapping is None else mapping
    space = event_label_space(mapping, label_space)

    def stream():
        for p in tqdm(files, desc="recordings", disable=not progress or len(files) < 2):
            yield from iter_event_trials(p, mapping, duration=duration, subject=as_id(_stem(p)), missing=missing)

    return featureset_from_recordings(stream(), cfg, progress=progress, label_space=space)
