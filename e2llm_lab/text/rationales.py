"""Grounded rationales: each sample's measured region x band deviations, learned label signatures, evidence.

Every rationale is built from the sample's *measured* region x band z-scores (features are z-scored against
the subject's own statistics) plus a small cited table of known associations, so each claim can be checked
against the features (:func:`e2llm_lab.text.answers.check_claims`). Format::

    <think> Closest learned signatures: fear (r = +0.52), surprise (r = +0.18). Left temporal gamma is higher than
    usual (z = +1.4). This is linked to positive emotion (Zheng & Lu 2015). ... These match the fear signature.
    </think>
    Emotion: fear

Evidence is chosen **without the answer** (the default ``style="salient"``): the deviations that are large and
that separate labels in general (:attr:`EmotionSignatures.discriminability`), whatever label the reasoning arrives
at, in the cap's fixed region order, each (region, band) once. Evidence chosen *by* the label (``style=
"discriminative"``: the deviations that agree with that label's signature) carries the label in the choice itself:
a reader who sees only its claims recovers the label far better than the EEG allows (:func:`read_back`); it is
kept only as a named teaching contrast. The reasoning then decides: it names the signature it matches
(:func:`decision_sentence`), or, where the answer is not the measured closest signature, says so
(:func:`departure_sentence`) instead of claiming a match that is not there.

In grounded mode the toolkit writes the evidence itself (:func:`measured_block`, placed in the prompt after each
clip's EEG: a tool result the LM did not write) and the LM reasons and decides after it. Labels come from the data's
label space and band words from the data's bands: an association whose band the data lack is never cited.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..channels import REGION_NAMES, region_index, regions_present
from ..config import DEFAULT_BANDS, band_names
from ..labels import SEED7, LabelSpace, LabelSpaceError

__all__ = ["ASSOCIATIONS", "EVIDENCE_STYLES", "LABEL_FREE_STYLES", "DEFAULT_STYLE", "MIN_SIGNATURE_SAMPLES",
           "EmotionSignatures", "region_band_z", "evidence_items", "rationale", "fit_sentence", "decision_sentence",
           "departure_sentence", "measured_block", "read_back"]

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

#: How evidence is chosen. Label-free: "salient" cites the largest deviations weighted by how well each feature
#: separates labels; "fit" the deviations that agree with the *measured* closest signature (a function of the EEG
#: alone). Label-chosen, a teaching contrast only: "discriminative" cites the deviations that agree with the signature
#: of the label the reasoning arrives at, so its claims give that label away (:func:`read_back`).
EVIDENCE_STYLES = ("salient", "fit", "discriminative")
LABEL_FREE_STYLES = ("salient", "fit")
#: The style every rationale the toolkit teaches or writes uses unless asked otherwise. A reader of the claims alone
#: (:func:`read_back`) recovers the label, on the reference cohort's held-out subjects, at balanced accuracy 0.679
#: from "salient" claims, 0.857 from "fit" claims and 1.000 from "discriminative" ones, against 0.857 for the
#: closest-signature rule on the same samples (on GAMEEMO's subjects 11-14: 0.432, 0.420, 0.915 against 0.398;
#: ``evaluate.interventions.read_back_table``).
DEFAULT_STYLE = "salient"


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
                   k: int = 3, threshold: float = 0.3, style: str = DEFAULT_STYLE, present=None,
                   bands=None) -> list[tuple[str, str, float]]:
    """The evidence one rationale cites: up to ``k`` (region, band, z) items, in the cap's region order.

    Parameters
    ----------
    z : np.ndarray, shape (n_regions, n_bands)
        The sample's measured deviations (:func:`region_band_z`).
    emotion : str, optional
        The label the reasoning arrives at: read by style "discriminative" only (the label-chosen contrast); the
        label-free styles never look at it.
    signatures : EmotionSignatures, optional
        Without them (or without ``emotion``) the items are the ``k`` largest ``|z|``.
    threshold : float
        Only deviations with ``|z| >= threshold`` are cited.
    style : {"salient", "fit", "discriminative"}
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
    elif style == "fit":                                   # the measured closest signature: the EEG's, not the label's
        closest = int(np.argmax(signatures.similarity(z)))
        score = z * signatures.contrast[closest] / signatures.within_sd
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
              k: int = 3, style: str = DEFAULT_STYLE, present=None, bands=None) -> str:
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
    """The sentence that closes a one-clip reasoning and decides its answer, when the answer is the signature the
    evidence is closest to."""
    return f"These match the {emotion} signature."


def departure_sentence(emotion: str, closest: str) -> str:
    """The sentence that decides for ``emotion`` when the measured closest signature is another label (``closest``):
    the reasoning says that its answer departs from the signatures, instead of claiming a match that is not there."""
    return f"The closest signature is {closest}, but the EEG as a whole reads as {emotion}."


def measured_block(z: np.ndarray, signatures: EmotionSignatures, *, k: int = 3, top: int = 2,
                   style: str = DEFAULT_STYLE, present=None, bands=None) -> str:
    """The toolkit's own reading of one sample, for grounded mode: the closest learned signatures and the label-free
    evidence sentences, computed from the measured features (the LM writes none of it).

    Parameters
    ----------
    z : np.ndarray, shape (n_regions, n_bands)
    signatures : EmotionSignatures
        Learned from the training subjects.
    k, top : int
        Evidence items cited, and signatures named.
    style : {"salient", "fit"}
        A label-free style (the block is computed before any answer exists).

    Returns
    -------
    str
        ``fit_sentence`` followed by the evidence sentences, as a free-mode reasoning would begin.
    """
    if style not in LABEL_FREE_STYLES:
        raise ValueError(f"style={style!r}: a measured block is chosen without the answer; allowed: "
                         f"{LABEL_FREE_STYLES}")
    top = min(top, len(signatures.labels))
    return f"{fit_sentence(z, signatures, top=top)} " + rationale(z, signatures=signatures, k=k, style=style,
                                                                   present=present, bands=bands)


def read_back(claims, signatures: EmotionSignatures) -> str | None:
    """The label a reader recovers from cited claims alone: the label whose signature contrast they agree with most.

    Each claim (region, band, "higher"/"lower", ...), as :func:`~e2llm_lab.text.answers.check_claims` lists them,
    votes for every label by how far that label's contrast lies in the claimed direction (in within-label SDs); the
    reader never sees the features, only which deviations were cited and their direction. Evidence chosen without
    the answer should read back no better than the EEG itself does (the closest-signature rule); evidence chosen by
    the answer reads back the answer.

    Returns
    -------
    str or None
        A label of ``signatures.label_space``; None without claims.
    """
    if not claims:
        return None
    score = np.zeros(len(signatures.labels))
    for region, band, word, *_ in claims:
        r, b = REGION_NAMES.index(region.replace(" ", "_")), signatures.bands.index(band)
        score += (1 if word == "higher" else -1) * signatures.contrast[:, r, b] / signatures.within_sd[r, b]
    return signatures.labels[int(np.argmax(score))]
