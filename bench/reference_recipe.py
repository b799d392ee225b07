"""Benchmark: does a training recipe let the LM read the reference cohort better than the shipped reference?

Trains the whole pipeline (``train_e2llm``) on the reference cohort's training subjects with the reference recipe
of ``--llm`` (``reference_config``; the flags override its stages), asks basic emotion once on every ``--every``-th
held-out sample the shipped reference answered, and prints on those same samples, for the new build and the shipped
one (its stored ``answers.csv``, scored again here with its own signatures):

- the generated label's balanced accuracy (and the new build's encoder head);
- faithfulness: claim precision, whether the closest signature the reasoning names is the measured closest, the
  error of its stated r, whether the answer follows it;
- the new build's link-by-link diagnostic (encoder head -> projected tokens -> the LM's reading -> the answer).

Nothing is saved to ``data_samples``; ``e2llm-lab build-reference --llm smollm2-135m`` rebuilds the shipped
reference with ``reference_config``.

    python bench/reference_recipe.py                         # SmolLM2's reference recipe
    python bench/reference_recipe.py --align-epochs 1 --align-lr 1e-3 --instruct-lr 3e-4 --no-bf16
                                        # the cpu-smollm2 preset's rates (those of the build the shipped SmolLM2
                                        # reference replaced; this keeps consistent evidence on, which it lacked)
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import replace

import pandas as pd

from e2llm_lab._metrics import classification_metrics
from e2llm_lab.apps.reference import (
    REFERENCE_TEST_SUBJECTS,
    REFERENCES,
    reference_config,
    reference_dir,
    reference_report,
)
from e2llm_lab.data.featureset import FeatureSet
from e2llm_lab.data.splits import split
from e2llm_lab.evaluate.diagnostics import diagnose_chain
from e2llm_lab.evaluate.generation import evaluate_generation, faithfulness, generation_summary
from e2llm_lab.text.rationales import EmotionSignatures, region_band_z
from e2llm_lab.training.pipeline import resolve_config, train_e2llm

COLUMNS = ["balanced_accuracy", "claim_precision", "fit_top_correct", "fit_r_error", "follows_fit"]


def _stage(cfg, epochs, lr, bf16):
    out = cfg if epochs is None else replace(cfg, epochs=epochs)
    out = out if lr is None else replace(out, lr=lr)
    return out if bf16 is None else replace(out, mixed_precision="bf16" if bf16 else "no")


def _scored(texts, truth, preds, fs, rows, signatures) -> dict:
    """The figures of COLUMNS for one build's answers on ``rows``: each text checked by :func:`faithfulness` with
    that build's signatures, then summed up by :func:`generation_summary`, as every evaluation does."""
    z = region_band_z(fs.X[rows], fs.ch_names)
    answers = pd.DataFrame([faithfulness(t, z[i], emotion=p, signatures=signatures)
                            for i, (t, p) in enumerate(zip(texts, preds))])
    answers = answers.assign(task="emotion", emotion_true=truth, emotion_pred=preds,
                             parsed=[p is not None and p == p for p in preds],
                             correct=[t == p for t, p in zip(truth, preds)])
    return generation_summary(answers, space=fs.label_space).loc["emotion", COLUMNS].to_dict()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--llm", default="smollm2-135m", choices=sorted(REFERENCES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=int, default=2, help="every k-th sample the shipped reference answered")
    p.add_argument("--align-epochs", type=int, default=None)
    p.add_argument("--align-lr", type=float, default=None)
    p.add_argument("--instruct-epochs", type=int, default=None)
    p.add_argument("--instruct-lr", type=float, default=None)
    p.add_argument("--bf16", dest="bf16", action="store_true", default=None, help="bf16 autocast in stages 2-3")
    p.add_argument("--no-bf16", dest="bf16", action="store_false")
    p.add_argument("--dtype", default=None, help="the LM's weights: float32 or bfloat16 (default: the recipe's)")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    pd.set_option("display.width", 200)

    t0 = time.perf_counter()
    base = reference_config(args.llm)
    cfg = replace(base, align=_stage(base.align, args.align_epochs, args.align_lr, args.bf16),
                  instruct=_stage(base.instruct, args.instruct_epochs, args.instruct_lr, args.bf16))
    if args.dtype:
        cfg = replace(cfg, llm=replace(cfg.llm, dtype=args.dtype))
    cfg = resolve_config(seed=args.seed, device="cpu", config=cfg)
    print(f"LM {cfg.llm.name_or_path or 'tiny'} in {cfg.llm.dtype}; scale {cfg.scale}")
    for st in ("align", "instruct"):
        c = getattr(cfg, st)
        print(f"{st}: {c.epochs} epoch(s), lr {c.lr:g}, batch {c.batch_size}, {c.mixed_precision} autocast, "
              f"decisions x{c.decision_weight:g}, consistent evidence {c.consistent_evidence}")
    folder = reference_dir(args.llm)
    cohort = FeatureSet.load(reference_dir(None) / "features.npz")     # the cohort every reference shares
    sp = split(cohort.normalized("subject"), REFERENCE_TEST_SUBJECTS, cfg.data)
    run = train_e2llm(sp, cfg, device="cpu", progress=False)
    model, fs = run.model, sp.samples
    t_train = time.perf_counter() - t0

    shipped = pd.read_csv(folder / "answers.csv")
    rows = shipped.row.to_numpy()[::args.every]
    if not set(rows) <= set(sp.test_idx):
        raise SystemExit(f"{folder / 'answers.csv'} holds rows outside this split's held-out samples")
    ans = evaluate_generation(model, fs, rows, tasks=("emotion",), max_new_tokens=256, seed=args.seed)
    old = shipped.set_index("row").loc[rows]
    if list(ans.emotion_true) != list(old.emotion_true) or list(ans.subject) != list(old.subject):
        raise SystemExit("the answers are not in the order of the shipped reference's rows")
    old_sig = EmotionSignatures.from_dict(json.loads((folder / "model" / "signatures.json").read_text()))
    space = fs.label_space
    head = [space.labels[i] for i in model.encoder.predict_logits(fs.X[rows]).argmax(1)]
    table = pd.DataFrame({
        "this build": _scored(list(ans.text), list(ans.emotion_true), list(ans.emotion_pred), fs, rows,
                              model.signatures),
        "shipped build": _scored(list(old.text), list(old.emotion_true), list(old.emotion_pred), fs, rows, old_sig),
    }).T[COLUMNS]
    table.loc["this build's encoder head", "balanced_accuracy"] = classification_metrics(
        space.indices(list(ans.emotion_true)), space.indices(head), n_classes=len(space))["balanced_accuracy"]
    recipe = reference_report(llm=args.llm)["recipe"]
    print(f"\nbasic emotion on {len(rows)} held-out samples (every {args.every}th the shipped reference answered; "
          f"chance {1 / len(space):.3f}). The shipped build's recipe: alignment {recipe['align']['epochs']} epoch(s) "
          f"at lr {recipe['align']['lr']:g}, instruction {recipe['instruct']['epochs']} at lr "
          f"{recipe['instruct']['lr']:g}, {recipe['instruct'].get('mixed_precision', 'no')} autocast")
    print(table.round(3).to_string())
    print("\nthis build, its own summary:")
    print(generation_summary(ans).round(3).T.to_string())
    print("\nwhere the information goes (this build):")
    print(diagnose_chain(model, fs, sp.train_idx, rows, max_new_tokens=256, seed=args.seed, answers=ans)
          .round(3).to_string())
    print(f"\ntime: stage 1 {run.seconds['stage1']:.0f} s, stage 2 {run.seconds['align']:.0f} s, stage 3 "
          f"{run.seconds['instruct']:.0f} s, evaluation {time.perf_counter() - t0 - t_train:.0f} s")


if __name__ == "__main__":
    main()
