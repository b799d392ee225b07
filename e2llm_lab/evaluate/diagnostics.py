"""Where does emotion information get lost between the EEG and the generated label? One row per link.

On the same held-out rows, basic-emotion task, first training template:

1. ``encoder head``: the stage-1 encoder's own classification head;
2. ``probe on projected EEG tokens``: logistic regression (fit on the training rows) on the projected EEG tokens,
   i.e. what reaches the LLM's input;
3. ``true evidence given, label free``: the sample's measured evidence (its closest signatures and label-free
   deviations, chosen without the answer) is written into the answer, and the model continues freely with its
   decision sentence and answer: how well it decides from evidence that is right;
4. ``own reasoning, label by likelihood``: the model's own greedy reasoning, then the most likely of the label
   space's answer lines (constrained decoding);
5. ``free generation``: the answer line the model writes itself (unreadable = wrong).

Links 4 and 5 reuse the basic-emotion answers of the main evaluation when they are passed (``answers=``), so the
diagnostic does not generate them twice.

The zero-shot ``scenario`` task adds one link after the emotion: from the feeling to the scene.
:func:`scene_link` measures it with the emotion *given*, so a low scenario figure says which of the two fails.

The multi-clip tasks (``compare``, ``rank``) add one after reading each clip: ordering the labels read.
:func:`ordering_link` measures it with every clip's reading *given*, and how often the model's own answer is the
order of its own readings.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._metrics import classification_metrics
from ..data.splits import check_no_leakage
from ..text.answers import parse_answer
from ..text.instructions import answer_lines, make_example, make_examples
from ..text.rationales import decision_sentence
from .generation import _correct, chance_by_simulation, chosen, clip_readings
from .interventions import evidence_text
from .scoring import choose_answer_lines, score_options

__all__ = ["diagnose_chain", "scene_link", "ordering_link"]


@torch.no_grad()
def _projected(model, X: np.ndarray, batch_size: int = 128) -> np.ndarray:
    return np.concatenate([model.eeg_embeds(torch.as_tensor(X[i:i + batch_size])).flatten(1).float().cpu().numpy()
                           for i in range(0, len(X), batch_size)])          # (N, R+1, H) -> (N, (R+1)*H)


def _row(link: str, y: np.ndarray, pred, space) -> dict:
    """Metrics of one link; ``pred`` holds class indices or label names (None/NaN: no readable label -> -1)."""
    pred = space.indices(pred)
    m = classification_metrics(y, pred, n_classes=len(space))
    return {"link": link, "balanced_accuracy": m["balanced_accuracy"], "accuracy": m["accuracy"],
            "answered": float((pred >= 0).mean())}


def diagnose_chain(model, fs, train_idx, test_idx, *, max_new_tokens: int = 256, batch_size: int = 32,
                   seed: int = 0, answers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Balanced accuracy at each link from the encoder to the generated label (see module docstring).

    Parameters
    ----------
    model : E2LLM
        Trained through stage 3, with ``model.signatures`` learned from ``train_idx``.
    fs : FeatureSet
    train_idx, test_idx : array of int
        Training rows (the probe is fit on them) and held-out rows; they must share no subject.
    answers : pd.DataFrame, optional
        Basic-emotion answers already generated for ``test_idx`` in order (columns ``text``, ``text_free``, as
        :func:`~e2llm_lab.evaluate.evaluate_generation` returns them): links 4 and 5 are read from them.

    Returns
    -------
    pd.DataFrame
        Index ``link``; columns balanced_accuracy, accuracy, answered (share of readable labels), and
        ``share_of_encoder`` (balanced accuracy over the encoder head's).
    """
    train_idx, test_idx = np.asarray(train_idx), np.asarray(test_idx)
    check_no_leakage(fs.meta, train_idx, test_idx, level="subject")
    space = fs.label_space
    y = fs.labels()[test_idx]
    rows = [_row("encoder head", y, model.encoder.predict_logits(fs.X[test_idx]).argmax(1), space)]
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    probe.fit(_projected(model, fs.X[train_idx]), fs.labels()[train_idx])
    rows.append(_row("probe on projected EEG tokens", y, probe.predict(_projected(model, fs.X[test_idx])), space))

    rng = np.random.default_rng(seed)
    exs = [make_example("emotion", [int(r)], fs, rng, n_eeg_tokens=model.n_eeg_tokens, template=0,
                        signatures=model.signatures) for r in test_idx]
    prompts, eeg = [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs]
    # the sample's measured evidence (chosen without its label), then the model decides
    given = [f"<think> {evidence_text(fs, int(r), model.signatures)}" for r in test_idx]
    cont = model.generate(prompts, eeg, prefixes=given, max_new_tokens=48, batch_size=batch_size)
    rows.append(_row("true evidence given, label free", y, [parse_answer(t, space)["emotion"] for t in cont], space))

    if answers is not None and len(answers) == len(test_idx):
        free, constrained = list(answers.text_free), list(answers.text)
    else:
        free = model.generate(prompts, eeg, max_new_tokens=max_new_tokens, batch_size=batch_size)
        constrained = choose_answer_lines(model, prompts, eeg, free, [answer_lines(e) for e in exs],
                                          batch_size=batch_size)
    rows.append(_row("own reasoning, label by likelihood", y, [parse_answer(t, space)["emotion"] for t in constrained],
                     space))
    rows.append(_row("free generation", y, [parse_answer(t, space)["emotion"] for t in free], space))
    out = pd.DataFrame(rows).set_index("link")
    out["share_of_encoder"] = out.balanced_accuracy / max(out.balanced_accuracy.iloc[0], 1e-9)
    return out


def scene_sentence(scene: str) -> str:
    """The head of the scene -> feeling sentence: ``"<Scene> usually brings"``."""
    return scene[0].upper() + scene[1:] + " usually brings"


@torch.no_grad()
def continuation_logprob(llm, tokenizer, head: str, tail: str) -> float:
    """Log-probability the plain LM gives ``tail`` right after ``head`` (no chat template, no EEG): the sum over
    ``tail``'s tokens, each tokenised on its own as the sentence would be written."""
    h = tokenizer(head, add_special_tokens=False)["input_ids"]
    t = tokenizer(tail, add_special_tokens=False)["input_ids"]
    if not h or not t:
        raise ValueError(f"head {head!r} and tail {tail!r} must both hold at least one token")
    device = next(llm.parameters()).device
    ids = torch.tensor([h + t], device=device)
    logits = llm(input_ids=ids).logits[0, len(h) - 1:-1].float()
    return float(torch.log_softmax(logits, -1).gather(-1, ids[0, len(h):, None]).sum())


@torch.no_grad()
def scene_link(model, fs, idx, *, n: int = 40, seed: int = 0, batch_size: int = 32) -> pd.DataFrame | None:
    """Does the model pick the scene of an emotion it is *told*? The second link of the zero-shot scenario task.

    Zero-shot scenario questions on rows ``idx`` (their EEG in place), answered two ways with the true emotion
    given (never read from the EEG):

    - ``emotion stated, answer line by likelihood``: the reasoning is the decision sentence naming the true
      emotion; the most likely of the question's answer lines (the constrained scenario answer) is taken;
    - ``scene -> feeling sentence``: the option whose scene makes the LM most likely to continue
      "<Scene> usually brings" with the true emotion (a sentence form of the tiny model's warm-up knowledge).

    Returns
    -------
    pd.DataFrame or None
        Index ``link``; columns accuracy, chance, n. None when the label space has no scenes.
    """
    if fs.label_space.scenes is None:
        return None
    exs = make_examples(fs, np.asarray(idx), tasks=("scenario",), n_per_task=n, n_eeg_tokens=model.n_eeg_tokens,
                        seed=seed, zero_shot=True, signatures=model.signatures, verbose=False)
    truth = [ord(e.truth["choice"]) - 97 for e in exs]
    stated = ["<think> " + decision_sentence(e.truth["emotions"][0]) + " </think>" for e in exs]
    scores = score_options(model, [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs], stated,
                           [answer_lines(e) for e in exs], batch_size=batch_size)
    told = np.mean([int(np.argmax(sc)) == t for sc, t in zip(scores, truth)])
    space = fs.label_space
    hits = []
    for e, t in zip(exs, truth):
        lp = [continuation_logprob(model.llm, model.tokenizer, scene_sentence(space.scene_of(option)),
                                   " " + e.truth["emotions"][0] + ".") for option in e.truth["options"]]
        hits.append(int(np.argmax(lp)) == t)
    chance = float(np.mean([1 / len(e.truth["options"]) for e in exs]))
    return pd.DataFrame([{"link": "emotion stated, answer line by likelihood", "accuracy": told},
                         {"link": "scene -> feeling sentence (LM knowledge)", "accuracy": float(np.mean(hits))}]
                        ).assign(chance=chance, n=len(exs)).set_index("link")


def _order_of_readings(think: str | None, attr: str, n_clips: int, space) -> str | None:
    """The answer the reasoning's own clip readings imply (None when a clip is unread or two tie on ``attr``)."""
    read = clip_readings(think, space)
    letters = [chr(65 + i) for i in range(n_clips)]
    if any(read.get(c) is None for c in letters):
        return None
    score = space.score(attr)
    if len({score[read[c]] for c in letters}) < n_clips:
        return None
    order = "".join(sorted(letters, key=lambda c: -score[read[c]]))
    return order[0] if n_clips == 2 else order


@torch.no_grad()
def ordering_link(model, fs, idx, *, n: int = 40, seed: int = 0, max_new_tokens: int = 256,
                  batch_size: int = 32, answers: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Does the model order the clips it has read? The second link of the compare and rank tasks.

    Questions on rows ``idx`` (held-out subjects), answered two ways:

    - ``readings given``: the reference reasoning (each clip's true label) is written into the answer up to
      "From most to least <attribute>:", and the model continues with the order and the answer line;
    - ``answer = order of own readings``: the model's own greedy answer, scored against the order its own clip
      readings imply (questions where it left a clip unread, or read two clips as labels that tie, are left out).

    Parameters
    ----------
    answers : pd.DataFrame, optional
        Compare/rank answers the main evaluation already generated (:func:`.generation.evaluate_generation` rows:
        task, text_free, attr, n_clips); the second link then reads those instead of generating its own.

    Returns
    -------
    pd.DataFrame or None
        Index (task, link); columns accuracy, chance (the simulated chance of the task), n. None when the label
        space has no valence/arousal coordinates.
    """
    space = fs.label_space
    if not list(space.attributes()):
        return None
    rows = []
    for task in ("compare", "rank"):
        exs = make_examples(fs, np.asarray(idx), tasks=(task,), n_per_task=n, n_eeg_tokens=model.n_eeg_tokens,
                            seed=seed, signatures=model.signatures, verbose=False)
        if not exs:
            continue
        prompts, eeg = [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs]
        given = [e.answer.split(f"From most to least {e.truth['attr']}:")[0]
                 + f"From most to least {e.truth['attr']}:" for e in exs]
        cont = model.generate(prompts, eeg, prefixes=given, max_new_tokens=48, batch_size=batch_size)
        hits = [bool(_correct(task, parse_answer(t, space), e.truth)) for t, e in zip(cont, exs)]
        mine = answers[answers.task == task] if answers is not None else None
        if mine is not None and len(mine):
            own = list(zip(mine.text_free, mine.attr, mine.n_clips))
        else:
            own = list(zip(model.generate(prompts, eeg, max_new_tokens=max_new_tokens, batch_size=batch_size),
                           [e.truth["attr"] for e in exs], [len(e.eeg_rows) for e in exs]))
        follows = []
        for text, attr, k in own:
            parsed = parse_answer(text, space)
            implied = _order_of_readings(parsed["think"], attr, int(k), space)
            if implied is not None:
                follows.append(chosen(task, parsed) == implied)
        chance = float(chance_by_simulation(exs, space=space)[task])
        rows += [{"task": task, "link": "readings given", "accuracy": float(np.mean(hits)), "chance": chance,
                  "n": len(exs)},
                 {"task": task, "link": "answer = order of own readings",
                  "accuracy": float(np.mean(follows)) if follows else float("nan"), "chance": chance,
                  "n": len(follows)}]
    return pd.DataFrame(rows).set_index(["task", "link"]) if rows else None
