"""Faithfulness by intervention: does the stated evidence cause the answer? Edit it and watch the answer.

A claim can be true without being the reason for the answer (Turpin et al. 2023); whether a reasoning is used is
measured by changing it (Lanham et al. 2023). On the basic-emotion question, for each held-out sample ``r`` and a
donor ``d`` (another held-out trial whose measured closest signature is another label), in each mode:

- ``evidence edit``: the evidence of ``d`` with the EEG of ``r``. Grounded: ``d``'s measured block in the prompt;
  free: ``d``'s label-free evidence written as the start of the reasoning, the model continuing. ``moved``: the answer
  is the edited evidence's closest signature; ``stayed``: it is the model's unedited answer for ``r``.
- ``EEG edit``: the EEG of ``d`` with the evidence of ``r`` (the shuffled control, scored against the evidence).
  ``moved``: the answer is the model's unedited answer for ``d`` (it follows the EEG); ``stayed``: its unedited
  answer for ``r`` (it follows the evidence).
- ``reasoning removed``: the answer line asked right after an empty ``<think> </think>``; ``stayed``: it is the
  answer given with the reasoning, ``moved`` its complement (how often the reasoning changes the answer).

:func:`read_back_table` adds the fourth check: the label a reader recovers from the cited claims alone, against the
label-free closest-signature rule on the same samples (:func:`~e2llm_lab.text.rationales.read_back`).
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .._metrics import classification_metrics
from ..text.answers import check_claims, parse_answer
from ..text.instructions import MODES, answer_lines, closest_labels, make_example, with_measured
from ..text.rationales import EVIDENCE_STYLES, fit_sentence, measured_block, rationale, read_back, region_band_z
from .scoring import choose_answer_lines

__all__ = ["INTERVENTIONS", "interventions", "read_back_table", "evidence_text"]

INTERVENTIONS = ("evidence edit", "EEG edit", "reasoning removed")


def evidence_text(fs, row: int, signatures, *, style: str = "salient") -> str:
    """What a free-mode reasoning says of sample ``row`` before it decides: its closest signatures and label-free
    evidence (the same words the measured block of grounded mode holds)."""
    z = region_band_z(fs.X[row], fs.ch_names)
    return measured_block(z, signatures, style=style, bands=fs.band_names)


def _donors(fs, idx: np.ndarray, closest: list[str], rng) -> np.ndarray:
    """For each held-out row, another held-out row of another trial whose closest signature is another label."""
    trial = [tuple(t) for t in fs.meta[["subject", "session", "trial"]].to_numpy()[idx]]
    out = []
    for i in range(len(idx)):
        pool = [j for j in range(len(idx)) if closest[j] != closest[i] and trial[j] != trial[i]]
        if not pool:
            raise ValueError("the evidence edit needs held-out samples of at least two closest signatures")
        out.append(int(rng.choice(pool)))
    return np.asarray(out)


def _choose(model):
    """The model's way to end a reasoning with its most likely answer line (a stand-in may bring its own)."""
    return getattr(model, "choose_answer_lines", None) or partial(choose_answer_lines, model)


def _answers(model, prompts, eeg, prefixes, exs, batch_size) -> list[str | None]:
    """The constrained emotion of each prompt continued from ``prefixes``."""
    texts = model.generate(prompts, eeg, prefixes=prefixes, max_new_tokens=64, batch_size=batch_size,
                           stop_at_think_end=True)
    texts = _choose(model)(prompts, eeg, texts, [answer_lines(e) for e in exs], batch_size=batch_size)
    return [parse_answer(t, exs[0].label_space)["emotion"] for t in texts]


def interventions(model, fs, idx, *, modes=MODES, seed: int = 0, batch_size: int = 128) -> pd.DataFrame:
    """The three interventions of the module docstring on held-out rows ``idx`` (basic emotion, first template).

    Parameters
    ----------
    model : E2LLM
        With the signatures of its training subjects.
    fs : FeatureSet
    idx : array of int
        Held-out rows (at least two trials whose closest signatures differ).
    modes : tuple of {"free", "grounded"}

    Returns
    -------
    pd.DataFrame
        Index (mode, intervention); columns n, moved, stayed, other (shares of answers), and what each means.
    """
    idx = np.asarray(idx)
    sig, space = model.signatures, fs.label_space
    rng = np.random.default_rng(seed)
    closest = closest_labels([region_band_z(fs.X[r], fs.ch_names) for r in idx], sig)
    donor = _donors(fs, idx, closest, rng)
    exs = [make_example("emotion", [int(r)], fs, rng, n_eeg_tokens=model.n_eeg_tokens, template=0, signatures=sig)
           for r in idx]
    plain, eeg = [e.prompt for e in exs], [fs.X[[int(r)]] for r in idx]
    own = [evidence_text(fs, int(r), sig) for r in idx]          # each sample's measured evidence
    rows = []
    for mode in modes:
        grounded = mode == "grounded"
        prompts = [with_measured(p, [o]) for p, o in zip(plain, own)] if grounded else plain
        base = _answers(model, prompts, eeg, ["<think>"] * len(exs), exs, batch_size)
        if grounded:                                 # the measured block edited, or the EEG under it
            edited = _answers(model, [with_measured(p, [own[d]]) for p, d in zip(plain, donor)], eeg,
                              ["<think>"] * len(exs), exs, batch_size)
            eeg_edit = _answers(model, prompts, [eeg[d] for d in donor], ["<think>"] * len(exs), exs, batch_size)
        else:                                        # the evidence written as the reasoning's start, or its EEG
            edited = _answers(model, prompts, eeg, [f"<think> {own[d]}" for d in donor], exs, batch_size)
            eeg_edit = _answers(model, prompts, [eeg[d] for d in donor], [f"<think> {o}" for o in own], exs,
                                batch_size)
        removed = _choose(model)(prompts, eeg, ["<think> </think>"] * len(exs), [answer_lines(e) for e in exs],
                                 batch_size=batch_size)
        removed = [parse_answer(t, space)["emotion"] for t in removed]
        rows += [_row(mode, "evidence edit", edited, [closest[d] for d in donor], base,
                      "moved: the edited evidence's closest signature; stayed: the unedited answer"),
                 _row(mode, "EEG edit", eeg_edit, [base[d] for d in donor], base,
                      "moved: the answer for the donor EEG (follows the EEG); stayed: the answer the evidence had"),
                 _row(mode, "reasoning removed", removed, [None] * len(base), base,
                      "stayed: the answer with its reasoning; moved: any other answer")]
    return pd.DataFrame(rows).set_index(["mode", "intervention"])


def _row(mode, name, got, moved_to, stayed_with, meaning) -> dict:
    got = list(got)
    stayed = np.mean([g is not None and g == s for g, s in zip(got, stayed_with)])
    if name == "reasoning removed":
        moved = 1.0 - stayed
    else:
        moved = np.mean([g is not None and g == m for g, m in zip(got, moved_to)])
    return {"mode": mode, "intervention": name, "n": len(got), "moved": float(moved), "stayed": float(stayed),
            "other": float(max(0.0, 1.0 - moved - stayed)), "meaning": meaning}


def read_back_table(fs, idx, signatures, *, texts: dict[str, list[str]] | None = None,
                    styles=EVIDENCE_STYLES) -> pd.DataFrame:
    """How much of the label the cited claims give away, against what the EEG gives: balanced accuracy of the label
    read back from the claims (:func:`~e2llm_lab.text.rationales.read_back`) and of the closest-signature rule, on
    the same held-out rows ``idx`` (signatures of the training subjects).

    Parameters
    ----------
    texts : dict of str -> list of str, optional
        Reasonings to read back (e.g. a model's generated answers for ``idx``, in order), one row each.
    styles : tuple
        Rationales the toolkit writes for the true label in each evidence style, read back too: the label-free ones
        should read no better than the rule; the label-chosen one ("discriminative") gives the label away.

    Returns
    -------
    pd.DataFrame
        Index: what was read; columns read_back, rule (balanced accuracies), margin (read_back - rule), n.
    """
    idx = np.asarray(idx)
    space = fs.label_space
    zs = [region_band_z(fs.X[r], fs.ch_names) for r in idx]
    truth = space.indices(fs.meta.emotion.iloc[idx])
    rule = classification_metrics(truth, space.indices(closest_labels(zs, signatures)),
                                  n_classes=len(space))["balanced_accuracy"]
    sources = {f"taught rationale, style {s!r}": [
        f"{fit_sentence(z, signatures)} " + rationale(z, emotion=e, signatures=signatures, style=s, bands=fs.band_names)
        for z, e in zip(zs, fs.meta.emotion.iloc[idx])] for s in styles}
    sources |= dict(texts or {})
    out = []
    for name, reasonings in sources.items():
        labels = [read_back(check_claims(t or "", z, bands=fs.band_names)["claims"], signatures)
                  for t, z in zip(reasonings, zs)]
        bacc = classification_metrics(truth, space.indices(labels), n_classes=len(space))["balanced_accuracy"]
        out.append({"read": name, "read_back": bacc, "rule": rule, "margin": bacc - rule, "n": len(idx)})
    return pd.DataFrame(out).set_index("read")
