"""Grounded rationales: each sample's measured region x band deviations, learned label signatures, evidence.

Every rationale is built from the sample's *measured* region x band z-scores (features are z-scored against
the subject's own statistics) plus a small cited table of known associations, so each claim can be checked
against the features (:func:`e2llm_lab.text.answers.check_claims`). Format::

    <think> Closest learned signatures: fear (r = +0.52), surprise (r = +0.18). Left temporal gamma is higher than
    usual (z = +1.4). This is linked to positive emotion (Zheng & Lu 2015). ... These match the fear signature.
    </think>
    Emotion: fear

The evidence is *discriminative*: it cites the deviations that separate the label from the others, judged against
:class:`EmotionSignatures` learned from the training subjects (each label's mean region x band deviation), in the
cap's fixed region order, each (region, band) once. Labels come from the data's label space and band words from
the data's bands: an association whose band the data lack is never cited.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..channels import REGION_NAMES, region_index, regions_present
from ..config import DEFAULT_BANDS, band_names
from ..labels import SEED7, LabelSpace, LabelSpaceError

__all__ = ["ASSOCIATIONS", "EVIDENCE_STYLES", "MIN_SIGNATURE_SAMPLES", "EmotionSignatures", "region_band_z",
           "evidence_items", "rationale", "fit_sentence", "decision_sentence"]

# (regions, band, direction, meaning, citation): what the affective-EEG literature links a change to.
ASSOCIATIONS: tuple[tuple[tuple[str, ...], str, int, str, str], ...] = (
    (("left_temporal", "right_temporal"), "gamma", +1, "positive emotion", "Zheng & Lu 2015"),
    (("left_temporal", "right_temporal"), "beta", +1, "positive emotion", "Zheng & Lu 2015"),
    (("left_temporal", "right_temporal"), "gamma", -1, "negative emotion", "Zheng & Lu 2015"),
    (("left_frontal",), "alpha", -1, "approach motivation, as in happiness or anger", "Davidson 1992"),
    (("right_frontal",), "alpha", -1, "withdrawal and negative affect", "Davidson 1992"),
    (("occipital", "left_parietal", "right_parietal"), "alpha", -1, "high arousal", "Barry et al. 2007"),
    (("occipital", "left_parietal", "right_parietal"), "alpha", +1, "a calm, low-arousal state", "Zheng et al. 2019"),
    (("prefrontal", "midline"), "theta", +1, "threat or novelty processing", "Cavanagh & Frank 2014"),
    (("right_parietal",), "beta", +1, "arousal", "Heller 1993"),
    (("left_central", "right_central"), "beta", +1, "motor readiness and tension", "Harmon-Jones 2004"),
)

#: Training samples a label needs for its signature (a mean and a spread).
MIN_SIGNATURE_SAMPLES = 2

#: How evidence is chosen: "discriminative" cites deviations that agree with the answer label's signature;
#: "salient" cites the largest deviations weighted by how well each feature separates labels (label-free).
EVIDENCE_STYLES = ("discriminative", "salient")


def region_band_z(x: np.ndarray, ch_names) -> np.ndarray:
    """Region x band deviation of one sample (or a stack of samples).

    Parameters
    ----------
    x : np.ndarray, shape (T, C, F) or (N, T, C, F)
        Features z-scored against the subject's own statistics.
    ch_names : sequence of str

    Returns
    -------
    np.ndarray, shape (n_regions, n_bands) or (N, n_regions, n_bands)
        The mean over the sample's windows and each region's electrodes.
    """
    idx = region_index(ch_names)
    onehot = (idx[None, :] == np.arange(len(REGION_NAMES))[:, None]).astype(np.float64)     # (R, C)
    pool = onehot / np.maximum(onehot.sum(1, keepdims=True), 1)
    per_chan = np.asarray(x, dtype=np.float64).mean(axis=-3)                 # (..., T, C, F) -> (..., C, F)
    return np.einsum("rc,...cf->...rf", pool, per_chan)                      # (..., C, F) -> (..., R, F)


@dataclass(frozen=True)
class EmotionSignatures:
    """Each label's mean region x band deviation over training samples: what the rationales compare against.

    Attributes
    ----------
    mean : np.ndarray, shape (n_labels, n_regions, n_bands)
        Class means of :func:`region_band_z` (class centroids), in label-space order.
    within_sd : np.ndarray, shape (n_regions, n_bands)
        Pooled within-label standard deviation of each feature.
    present : np.ndarray of bool, shape (n_regions,), optional
        Regions with at least one electrode in the cap the signatures were learned on (default: all). Empty
        regions take no part in the similarity and are never cited.
    label_space : LabelSpace
        The labels of ``mean``'s first axis (default SEED-VII's seven).
    bands : tuple of str
        Band names of the last axis (default delta..gamma): the words a rationale may use.
    """

    mean: np.ndarray
    within_sd: np.ndarray
    present: np.ndarray | None = None
    label_space: LabelSpace = SEED7
    bands: tuple = band_names(DEFAULT_BANDS)

    def __post_init__(self):
        present = np.ones(self.mean.shape[1], bool) if self.present is None else np.asarray(self.present, bool)
        object.__setattr__(self, "present", present)
        object.__setattr__(self, "bands", tuple(self.bands))
        if self.mean.shape[0] != len(self.label_space) or self.mean.shape[2] != len(self.bands):
            raise ValueError(f"signatures of shape {self.mean.shape} do not fit {len(self.label_space)} labels x "
                             f"{len(self.bands)} bands {self.bands}")

    @classmethod
    def fit(cls, fs, idx) -> EmotionSignatures:
        """Learn the signatures from FeatureSet rows ``idx`` (training subjects only: never pass test rows).

        Raises
        ------
        LabelSpaceError
            When a label of ``fs.label_space`` has fewer than :data:`MIN_SIGNATURE_SAMPLES` training samples
            (the message lists every label's count); drop or merge such labels first.
        """
        idx = np.asarray(idx)
        space = fs.label_space
        z = region_band_z(fs.X[idx], fs.ch_names)                                # (N, R, F)
        y = space.indices(fs.meta.emotion.iloc[idx])
        counts = np.bincount(y, minlength=len(space))
        few = [space.labels[k] for k in range(len(space)) if counts[k] < MIN_SIGNATURE_SAMPLES]
        if few:
            table = ", ".join(f"{lab}: {c}" for lab, c in zip(space.labels, counts))
            raise LabelSpaceError(f"cannot learn label signatures: {few} have fewer than {MIN_SIGNATURE_SAMPLES} "
                                  f"training samples (counts {table}); train on subjects that have every label of "
                                  f"the {space.name!r} space, or give the data a label space without them")
        mean = np.stack([z[y == k].mean(0) for k in range(len(space))])
        within = np.sqrt(np.mean([z[y == k].var(0) for k in range(len(space))], axis=0)) + 1e-6
        return cls(mean, within, regions_present(fs.ch_names), space, fs.band_names)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.label_space.labels

    @property
    def contrast(self) -> np.ndarray:
        """Each label's signature minus the mean over labels, shape (n_labels, n_regions, n_bands)."""
        return self.mean - self.mean.mean(0)

    @property
    def discriminability(self) -> np.ndarray:
        """Between-label SD over within-label SD of each feature (an F-like ratio), shape (R, F)."""
        return self.mean.std(0) / self.within_sd

    def similarity(self, z: np.ndarray) -> np.ndarray:
        """Pearson correlation of deviations ``z`` (shape (R, F) or (N, R, F)) with each label's contrast.

        Returns shape (n_labels,) or (N, n_labels). Its argmax is a nearest-signature classifier.
        """
        z = np.asarray(z, dtype=np.float64)[..., self.present, :]              # empty regions take no part
        zz = z.reshape(*z.shape[:-2], -1)
        zz = zz - zz.mean(-1, keepdims=True)
        cc = self.contrast[:, self.present].reshape(len(self.labels), -1)
        cc = cc - cc.mean(-1, keepdims=True)
        num = zz @ cc.T
        return num / np.maximum(np.linalg.norm(zz, axis=-1, keepdims=True) * np.linalg.norm(cc, axis=-1), 1e-12)

    def agreement(self, emotion: str, region: str, band: str, direction: int) -> bool:
        """Does a deviation in ``direction`` (+1 higher, -1 lower) agree with ``emotion``'s signature?"""
        c = self.contrast[self.label_space.index(emotion), REGION_NAMES.index(region), self.bands.index(band)]
        return bool(np.sign(c) == direction)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "within_sd": self.within_sd.tolist(), "emotions": list(self.labels),
                "present": self.present.tolist(), "label_space": self.label_space.to_dict(),
                "bands": list(self.bands)}

    @classmethod
    def from_dict(cls, d: dict) -> EmotionSignatures:
        # files written before label spaces existed hold SEED-VII's seven emotions over the five default bands
        space = LabelSpace.from_dict(d["label_space"]) if d.get("label_space") else SEED7
        if tuple(d.get("emotions", space.labels)) != space.labels:
            raise LabelSpaceError(f"signatures list labels {d['emotions']} but their label space is {space}")
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["within_sd"], dtype=np.float64),
                   None if d.get("present") is None else np.asarray(d["present"], bool), space,
                   tuple(d.get("bands") or band_names(DEFAULT_BANDS)))


def _pretty(region: str) -> str:
    return region.replace("_", " ")


def evidence_items(z: np.ndarray, *, emotion: str | None = None, signatures: EmotionSignatures | None = None,
                   k: int = 3, threshold: float = 0.3, style: str = "discriminative", present=None,
                   bands=None) -> list[tuple[str, str, float]]:
    """The evidence one rationale cites: up to ``k`` (region, band, z) items, in the cap's region order.

    Parameters
    ----------
    z : np.ndarray, shape (n_regions, n_bands)
        The sample's measured deviations (:func:`region_band_z`).
    emotion : str, optional
        The label the reasoning arrives at (style "discriminative").
    signatures : EmotionSignatures, optional
        Without them (or without ``emotion``) the items are the ``k`` largest ``|z|``.
    threshold : float
        Only deviations with ``|z| >= threshold`` are cited.
    style : {"discriminative", "salient"}
    present : np.ndarray of bool, shape (n_regions,), optional
        Regions the cap has electrodes in (:func:`~e2llm_lab.channels.regions_present`); default the signatures'
        own, else all. Empty regions are never cited.
    bands : sequence of str, optional
        Band names of ``z``'s last axis; default the signatures' own, else delta..gamma.

    Returns
    -------
    list of (region, band, z)
        Each (region, band) at most once, sorted by region then band, so a reasoning never repeats a claim.
    """
    if style not in EVIDENCE_STYLES:
        raise ValueError(f"style={style!r}; allowed: {EVIDENCE_STYLES}")
    z = np.asarray(z, dtype=np.float64)
    bands = tuple(bands) if bands is not None else (signatures.bands if signatures is not None
                                                    else band_names(DEFAULT_BANDS))
    if len(bands) != z.shape[-1]:
        raise ValueError(f"z has {z.shape[-1]} bands but {len(bands)} band names were given: {bands}")
    if signatures is None:
        score = np.abs(z)
    elif style == "discriminative" and emotion is not None:
        score = z * signatures.contrast[signatures.label_space.index(emotion)] / signatures.within_sd  # > 0: agrees
    else:
        score = np.abs(z) * signatures.discriminability
    if present is None:
        present = signatures.present if signatures is not None else np.ones(z.shape[0], bool)
    score = np.where((np.abs(z) >= threshold) & np.asarray(present, bool)[:, None], score, -np.inf)
    order = np.argsort(-score, axis=None)[:k]
    picked = sorted(np.unravel_index(f, z.shape) for f in order if score.flat[f] > 0)
    return [(REGION_NAMES[r], bands[b], float(z[r, b])) for r, b in picked]


def _evidence_sentences(items) -> list[str]:
    out, cited = [], set()
    for region, band, value in items:
        word = "higher" if value > 0 else "lower"
        out.append(f"{_pretty(region).capitalize()} {band} is {word} than usual (z = {value:+.1f}).")
        for regions, a_band, direction, meaning, cite in ASSOCIATIONS:
            if region in regions and band == a_band and np.sign(value) == direction:
                if meaning not in cited:                     # each association once per reasoning
                    out.append(f"This is linked to {meaning} ({cite}).")
                    cited.add(meaning)
                break
    return out or ["No region or band departs clearly from this person's usual activity."]


def rationale(z: np.ndarray, *, emotion: str | None = None, signatures: EmotionSignatures | None = None,
              k: int = 3, style: str = "discriminative", present=None, bands=None) -> str:
    """Evidence sentences for one sample's region x band z-scores (see :func:`evidence_items`)."""
    return " ".join(_evidence_sentences(evidence_items(z, emotion=emotion, signatures=signatures, k=k, style=style,
                                                       present=present, bands=bands)))


def fit_sentence(z: np.ndarray, signatures: EmotionSignatures, *, top: int = 2) -> str:
    """The measured comparison with the learned signatures: the ``top`` closest labels and their correlations."""
    r = signatures.similarity(z)
    best = np.argsort(-r)[:top]
    listed = ", ".join(f"{signatures.labels[k]} (r = {r[k]:+.2f})" for k in best)
    return f"Closest learned signature{'s' if top > 1 else ''}: {listed}."


def decision_sentence(emotion: str) -> str:
    """The sentence that closes a one-clip reasoning and decides its answer."""
    return f"These match the {emotion} signature."
