"""FeatureSet: DE feature samples with their metadata, saving/loading, a torch Dataset, and leak-proof splits.

Leakage is the field's classic error: overlapping windows of one trial on both sides of a split make
accuracy look far better than it is. Every split function here checks its own output with
:func:`check_no_leakage` before returning it.
"""
from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from ..labels import SEED7, LabelSpace, LabelSpaceError
from .errors import EEGFileError

__all__ = [
    "normalize_per_subject",
    "NORMALIZE_OPTIONS",
    "check_normalize",
    "REQUIRED_META",
    "TRIAL_KEY",
    "FeatureSet",
]

REQUIRED_META = ("subject", "session", "trial", "start_window", "emotion", "valence", "arousal")
TRIAL_KEY = ["subject", "session", "trial"]


def normalize_per_subject(X: np.ndarray, subjects) -> np.ndarray:
    """Z-score every channel x band feature with its own subject's mean and SD.

    Uses only the subject's own unlabelled features, so it is allowed for a held-out test subject too
    (as in SEED's cross-subject protocols); no label and no other subject enters.

    Parameters
    ----------
    X : np.ndarray, shape (n_samples, n_steps, n_chans, n_bands)
    subjects : array-like, shape (n_samples,)
    """
    X = np.asarray(X, dtype=np.float32).copy()
    subjects = np.asarray(subjects)
    for s in np.unique(subjects):
        sel = subjects == s
        flat = X[sel].reshape(-1, *X.shape[2:])        # (n*T, C, F)
        X[sel] = (X[sel] - flat.mean(0)) / (flat.std(0) + 1e-6)
    return X


NORMALIZE_OPTIONS = ("subject", None)


def check_normalize(normalize) -> None:
    """Raise for a ``normalize`` option other than :data:`NORMALIZE_OPTIONS` (the one place it is checked)."""
    if normalize not in NORMALIZE_OPTIONS:
        raise ValueError(f"normalize={normalize!r}; allowed: 'subject', None")


@dataclass
class FeatureSet:
    """Band features of EEG samples.

    Parameters
    ----------
    X : np.ndarray, shape (n_samples, n_steps, n_chans, n_bands), float32
        ``n_steps`` consecutive feature windows per sample.
    meta : pd.DataFrame
        One row per sample with at least ``subject, session, trial, start_window, emotion, valence,
        arousal``; ``start_window`` is the index of the sample's first window within its trial.
    ch_names : tuple of str
    bands : tuple of (name, low, high)
    feature : str
        What X holds, e.g. ``"de_gaussian_lds"``.
    label_space : LabelSpace
        The labels ``meta.emotion`` may hold, in integer-label order (default SEED-VII's seven); saved with the
        file and with every model trained on it.
    """

    X: np.ndarray
    meta: pd.DataFrame
    ch_names: tuple
    bands: tuple
    feature: str = "de"
    label_space: LabelSpace = field(default=SEED7)

    def __post_init__(self):
        self.X = np.asarray(self.X, dtype=np.float32)
        self.ch_names = tuple(self.ch_names)
        self.bands = tuple((str(b[0]), float(b[1]), float(b[2])) for b in self.bands)
        if self.X.ndim != 4:
            raise ValueError(f"FeatureSet.X must be (n_samples, n_steps, n_chans, n_bands), got shape {self.X.shape}")
        n, _, c, f = self.X.shape
        if c != len(self.ch_names) or f != len(self.bands):
            raise ValueError(f"X has {c} channels x {f} bands but ch_names has {len(self.ch_names)} and bands "
                             f"{len(self.bands)}")
        if len(self.meta) != n:
            raise ValueError(f"meta has {len(self.meta)} rows for {n} samples")
        missing = [k for k in REQUIRED_META if k not in self.meta.columns]
        if missing:
            raise ValueError(f"meta lacks columns {missing}; required: {REQUIRED_META}")
        if not isinstance(self.label_space, LabelSpace):
            raise TypeError(f"label_space must be a LabelSpace, got {type(self.label_space).__name__}")
        unknown = sorted(set(map(str, self.meta.emotion)) - set(self.label_space.labels))
        if unknown:
            raise LabelSpaceError(f"meta names label(s) {unknown[:10]} outside the {self.label_space.name!r} label "
                                  f"space {self.label_space.labels}; pass the FeatureSet its label_space "
                                  f"(e2llm_lab.labels) or map the labels onto it")
        self.meta = self.meta.reset_index(drop=True)

    # -- shape ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def n_steps(self) -> int:
        return self.X.shape[1]

    @property
    def n_chans(self) -> int:
        return self.X.shape[2]

    @property
    def n_bands(self) -> int:
        return self.X.shape[3]

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(b[0] for b in self.bands)

    def __repr__(self) -> str:
        return (f"FeatureSet({self.feature}: {len(self)} samples x {self.n_steps} steps x {self.n_chans} chans x "
                f"{self.n_bands} bands; {self.meta.subject.nunique()} subjects, "
                f"{self.meta[TRIAL_KEY].drop_duplicates().shape[0]} trials; labels {self.label_space})")

    def normalized(self, normalize: str | None = "subject") -> FeatureSet:
        """A copy z-scored per subject (:func:`normalize_per_subject`), or ``self`` for ``normalize=None``."""
        check_normalize(normalize)
        if normalize is None:
            return self
        return replace(self, X=normalize_per_subject(self.X, self.meta.subject.to_numpy()))

    def subset(self, idx) -> FeatureSet:
        """Samples at integer positions (or a boolean mask) ``idx``."""
        idx = np.flatnonzero(idx) if np.asarray(idx).dtype == bool else np.asarray(idx, dtype=np.int64)
        return replace(self, X=self.X[idx], meta=self.meta.iloc[idx].reset_index(drop=True))

    def select(self, *, ch_names=None, bands=None) -> FeatureSet:
        """A copy restricted to channels ``ch_names`` and bands ``bands`` (names), in the order given."""
        ci = list(range(self.n_chans)) if ch_names is None else [self._position(self.ch_names, c, "channel")
                                                                  for c in ch_names]
        bi = list(range(self.n_bands)) if bands is None else [self._position(self.band_names, b, "band")
                                                               for b in bands]
        X = self.X[:, :, ci][..., bi]                        # (N, T, C, F) -> (N, T, C', F')
        return replace(self, X=X, ch_names=tuple(self.ch_names[i] for i in ci),
                       bands=tuple(self.bands[i] for i in bi))

    @staticmethod
    def _position(names, name, what: str) -> int:
        if name not in names:
            raise ValueError(f"{what} {name!r} is not in this FeatureSet; it has {list(names)}")
        return list(names).index(name)

    def relabel(self, mapping, label_space: LabelSpace) -> FeatureSet:
        """The same samples on another label space.

        Parameters
        ----------
        mapping : dict or callable
            Old label -> new label (a dict), or a function of one meta row (a pandas Series) returning the new
            label. A sample mapped to None (or missing from the dict) is dropped.
        label_space : LabelSpace
            The new space; ``valence`` and ``arousal`` meta columns take its coordinates (NaN where it has none).
        """
        rows = [r for _, r in self.meta.iterrows()]
        new = [mapping(r) if callable(mapping) else mapping.get(r.emotion) for r in rows]
        keep = np.array([n is not None for n in new])
        if not keep.any():
            raise LabelSpaceError(f"the mapping sends no sample to the {label_space.name!r} label space")
        labels = [label_space.normalize(n) for n in np.array(new, dtype=object)[keep]]
        meta = self.meta[keep].reset_index(drop=True).assign(
            emotion=labels, valence=[label_space.valence_of(e) for e in labels],
            arousal=[label_space.arousal_of(e) for e in labels])
        return replace(self, X=self.X[keep], meta=meta, label_space=label_space)

    def labels(self, target: str = "emotion") -> np.ndarray:
        """Integer labels: the label's position in :attr:`label_space`, or any integer-coded meta column."""
        if target == "emotion":
            return self.label_space.indices(self.meta.emotion)
        if target not in self.meta.columns:
            raise ValueError(f"target={target!r} is not a meta column; columns: {list(self.meta.columns)}")
        return self.meta[target].to_numpy()

    # -- sequences -----------------------------------------------------------------------------------
    def with_steps(self, n_steps: int, stride: int = 1) -> FeatureSet:
        """Group consecutive single windows of each trial into samples of ``n_steps`` windows.

        Only windows of the same trial are joined; a trial shorter than ``n_steps`` windows gives none.

        Returns
        -------
        FeatureSet with X of shape (n_samples, n_steps, n_chans, n_bands)
        """
        if self.n_steps != 1:
            raise ValueError(f"with_steps needs a window-level FeatureSet (n_steps == 1), this one has {self.n_steps}")
        if n_steps < 1 or stride < 1:
            raise ValueError(f"n_steps={n_steps} and stride={stride} must be >= 1")
        chunks, rows = [], []
        for _, g in self.meta.groupby(TRIAL_KEY, sort=True):
            g = g.sort_values("start_window")
            idx = g.index.to_numpy()
            if len(idx) < n_steps:
                continue
            starts = np.arange(0, len(idx) - n_steps + 1, stride)
            take = idx[starts[:, None] + np.arange(n_steps)[None]]   # (n_new, n_steps)
            chunks.append(self.X[take, 0])                           # (n_new, n_steps, C, F)
            rows.append(g.iloc[starts])
        if not chunks:
            raise ValueError(f"no trial has {n_steps} windows; use a smaller n_steps")
        return replace(self, X=np.concatenate(chunks), meta=pd.concat(rows, ignore_index=True))

    # -- torch ---------------------------------------------------------------------------------------
    def torch_dataset(self, target: str = "emotion"):
        """A ``torch.utils.data.Dataset`` yielding ``(x, y)``: x float32 ``(n_steps, n_chans, n_bands)``, y int64."""
        import torch

        return torch.utils.data.TensorDataset(torch.tensor(self.X), torch.tensor(np.array(self.labels(target))))

    # -- files ---------------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Save as one ``.npz`` (X, channel and band tables, and every meta column); written atomically."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        arrays = {
            "X": self.X,
            "ch_names": np.array(self.ch_names, dtype=str),
            "band_names": np.array([b[0] for b in self.bands], dtype=str),
            "band_edges": np.array([b[1:] for b in self.bands], dtype=np.float64),
            "feature": np.array(self.feature),
            "label_space": np.array(self.label_space.to_json()),
        }
        for col in self.meta.columns:
            values = self.meta[col].to_numpy()
            text = values.dtype == object or values.dtype.kind in "OUST"
            arrays[f"meta__{col}"] = values.astype(str) if text else values
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path) -> FeatureSet:
        """Load a FeatureSet saved by :meth:`save` (no pickle is ever loaded)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no FeatureSet at {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = pd.DataFrame({k[len("meta__"):]: z[k] for k in z.files if k.startswith("meta__")})
                bands = tuple((str(n), *map(float, e)) for n, e in zip(z["band_names"], z["band_edges"]))
                # files written before label spaces existed hold SEED-VII's seven emotions
                space = LabelSpace.from_json(str(z["label_space"])) if "label_space" in z.files else SEED7
                return cls(z["X"], meta, tuple(map(str, z["ch_names"])), bands, str(z["feature"]), space)
        except (zipfile.BadZipFile, EOFError, zlib.error) as err:    # cut short (a full disk, a broken copy) or corrupt
            raise EEGFileError(f"{path} is damaged: truncated or corrupt ({err}); copy it again, or re-create it with "
                               f"FeatureSet.save") from err
        except (KeyError, ValueError, OSError) as err:
            raise EEGFileError(f"{path} is not a valid FeatureSet file ({err}); re-create it with "
                               f"FeatureSet.save") from err
