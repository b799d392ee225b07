"""Reading generated answers: the answer lines, without guessing, and every evidence claim checked against the data.

Label words come from the label space the model was trained on (synonyms included); band words from the data's
bands. An answer that cannot be read is marked unparsed, never guessed.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from ..channels import REGION_NAMES
from ..config import DEFAULT_BANDS, band_names
from ..labels import SEED7, LabelSpace

__all__ = ["parse_answer", "check_claims", "claim_pattern"]


@lru_cache(maxsize=32)
def claim_pattern(bands: tuple[str, ...]) -> re.Pattern:
    """The "<region> <band> is higher/lower" claim pattern for a band set.

    A claim starts a sentence (or follows "Clip A:"), so "Left occipital gamma" is no claim about occipital.
    """
    regions = sorted((r.replace("_", " ") for r in REGION_NAMES), key=len, reverse=True)
    words = sorted((re.escape(b) for b in bands), key=len, reverse=True)
    return re.compile(r"(?:^|[.:>])\s*(" + "|".join(regions) + r")\s+(" + "|".join(words)
                      + r")\s+is\s+(higher|lower)", re.IGNORECASE)


def parse_answer(text: str, space: LabelSpace = SEED7) -> dict:
    """Parse a generated answer without guessing.

    Parameters
    ----------
    text : str
    space : LabelSpace
        The labels (and their synonyms) an ``Emotion:`` line may name.

    Returns
    -------
    dict
        ``emotion`` (canonical label), ``valence``, ``arousal``, ``choice`` (letter) and ``ranking`` where found
        (None otherwise), ``think`` (the reasoning, or None if the block is missing), and ``parsed`` (False when
        no requested field could be read; callers count those as unparseable, never as a guess).
    """
    out = {"emotion": None, "valence": None, "arousal": None, "choice": None, "ranking": None, "think": None}
    m = re.search(r"<think>(.*?)</think>", text, re.S)
    if m:
        out["think"] = m.group(1).strip()
    tail = text[m.end():] if m else text
    e = re.search(r"emotion\s*:\s*([A-Za-z ]+)", tail, re.IGNORECASE)
    if e:
        words = e.group(1).strip().lower()
        out["emotion"] = space.lookup(words) or next((space.lookup(w) for w in words.split() if space.lookup(w)),
                                                     None)
    v = re.search(r"valence\s*:\s*(positive|negative|neutral)", tail, re.IGNORECASE)
    a = re.search(r"arousal\s*:\s*(high|low)", tail, re.IGNORECASE)
    out["valence"] = v.group(1).lower() if v else None
    out["arousal"] = a.group(1).lower() if a else None
    r = re.search(r"answer\s*:\s*([ABC])\s*>\s*([ABC])\s*>\s*([ABC])", tail, re.IGNORECASE)
    if r:
        out["ranking"] = "".join(x.upper() for x in r.groups())
    c = re.search(r"answer\s*:\s*(?:clip\s*)?\(?([A-Ga-g])\)?\b", tail, re.IGNORECASE)
    if c and not r:
        letter = c.group(1)
        out["choice"] = letter.upper() if letter.upper() in "ABC" and "clip" in c.group(0).lower() else letter.lower()
    out["parsed"] = any(out[k] is not None for k in ("emotion", "valence", "arousal", "choice", "ranking"))
    return out


def check_claims(text: str, z: np.ndarray, *, min_abs: float = 0.2, bands=None) -> dict:
    """Check each "<region> <band> is higher/lower" claim of a text against a sample's measured z-scores.

    Parameters
    ----------
    text : str
    z : np.ndarray, shape (n_regions, n_bands)
    min_abs : float
        A claim is supported when the measured deviation has the claimed sign and ``|z| >= min_abs``.
    bands : sequence of str, optional
        Band names of ``z``'s last axis (default delta..gamma). A band the data lack is no claim here; the
        faithfulness check counts it as invented.

    Returns
    -------
    dict with ``n_claims``, ``n_supported`` and ``claims`` (list of (region, band, direction, measured z,
    supported)).
    """
    bands = tuple(bands) if bands is not None else band_names(DEFAULT_BANDS)
    claims = []
    for region, band, word in claim_pattern(bands).findall(text):
        r = REGION_NAMES.index(region.lower().replace(" ", "_"))
        value = float(z[r, bands.index(band.lower())])
        ok = (value >= min_abs) if word.lower() == "higher" else (value <= -min_abs)
        claims.append((region.lower(), band.lower(), word.lower(), value, ok))
    return {"n_claims": len(claims), "n_supported": sum(c[-1] for c in claims), "claims": claims}
