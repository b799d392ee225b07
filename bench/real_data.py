"""Benchmark: does the LLM read *real* emotion EEG? GAMEEMO band powers, held-out subjects, one LM per run.

Reads ``../shared/realdata/gameemo_bandpower_dev.npz`` (or ``--path``): 14 people, a 14-channel Emotiv cap, four
bands, four games (boring, calm, horror, funny). Trains the whole pipeline (``train_e2llm``) on the training
subjects, then asks the held-out subjects the basic question once per sample and prints, on the same rows:

- the generated label's balanced accuracy beside the encoder's own head, a logistic regression and chance;
- whether the generated labels carry information at all (a within-subject permutation test and a subject
  bootstrap: :func:`e2llm_lab.evaluate.label_information`);
- the shuffled-EEG and pure-noise controls (a model that reads the EEG falls to chance under both);
- how often the reasoning's decision sentence names the label its answer line gives, and how often the answer is
  the signature the reasoning itself named closest (``--consistent-evidence`` is what makes it so);
- the link-by-link diagnostic (encoder head -> projected tokens -> the LM's reading -> the answer);
- time per stage, tokens per second of training, peak memory.

Targets (issue 24): LLM >= head - 0.02 and >= logistic regression; controls within 0.05 of chance; decision
sentence agrees with the answer line >= 0.98.

    python bench/real_data.py                                   # the tiny LM, the quickstart's recipe
    python bench/real_data.py --llm smollm2-135m --scale 0.3    # SmolLM2-135M-Instruct on the CPU preset
    python bench/real_data.py --head-reading                    # the head's posterior as a soft label word
    python bench/real_data.py --consistent-evidence             # answers taught only where evidence agrees
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from e2llm_lab._metrics import classification_metrics
from e2llm_lab.apps.reference import run_figures
from e2llm_lab.data.arrays import featureset_from_arrays
from e2llm_lab.data.splits import split
from e2llm_lab.evaluate.diagnostics import diagnose_chain
from e2llm_lab.evaluate.generation import evaluate_generation
from e2llm_lab.evaluate.protocols import logistic_regression
from e2llm_lab.evaluate.significance import label_information
from e2llm_lab.labels import GAMEEMO
from e2llm_lab.text.rationales import region_band_z
from e2llm_lab.training.pipeline import resolve_config, train_e2llm, with_consistent_evidence

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "gameemo_bandpower_dev.npz"


def load_gameemo(path) -> "FeatureSet":  # noqa: F821 - the package's FeatureSet
    """The band-power file -> window-level FeatureSet (log10 power, z-scored per subject), its own label space."""
    d = np.load(path)                                          # plain arrays: allow_pickle stays False
    bands = [(str(b).lower(), float(lo), float(hi)) for b, (lo, hi) in zip(d["bands"], d["band_hz"])]
    return featureset_from_arrays(d["bandpower"], subject=d["subject"], labels=d["y_game"], label_space=GAMEEMO,
                                  ch_names=[str(c) for c in d["ch_names"]], bands=bands, trial=d["y_game"] + 1,
                                  window=d["window"])


def _bacc(space, truth, pred) -> float:
    return classification_metrics(space.indices(truth), space.indices(pred), n_classes=len(space))["balanced_accuracy"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--path", default=str(DEFAULT))
    p.add_argument("--llm", default=None, help="default the tiny offline model; e.g. smollm2-135m")
    p.add_argument("--preset", default=None)
    p.add_argument("--test-subjects", type=int, nargs="+", default=[11, 12, 13, 14])
    p.add_argument("--scale", type=float, default=1.0, help="captions and instruction examples x this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, default=160)
    p.add_argument("--head-reading", action="store_true",
                   help="add the encoder head's posterior to the global token as a soft label word")
    p.add_argument("--consistent-evidence", action="store_true",
                   help="teach answers only from training rows whose closest signature is their own label")
    p.add_argument("--out", default="reports/bench_real_data")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    pd.set_option("display.width", 200)
    if not Path(args.path).exists():
        raise SystemExit(f"no real data at {args.path} (see ../shared/realdata/README.md); pass --path")
    t0 = time.perf_counter()
    windows = load_gameemo(args.path)
    cfg = resolve_config(args.preset, args.llm, args.seed, "cpu")
    if args.head_reading:
        cfg = replace(cfg, projector=replace(cfg.projector, head_reading=True))
    if args.consistent_evidence:
        cfg = with_consistent_evidence(config=cfg)
    sp = split(windows, args.test_subjects, cfg.data)
    fs, tr, te = sp.samples, sp.train_idx, sp.test_idx
    print(f"{fs}\ntrain subjects {sorted(set(fs.meta.subject.iloc[tr]))}, held out {sp.test_subjects} "
          f"({len(te)} samples); LLM {args.llm or 'tiny offline Qwen3'}, scale {args.scale}")
    run = train_e2llm(sp, cfg, scale=args.scale, device="cpu", progress=False)
    model, space = run.model, fs.label_space
    t_train = time.perf_counter() - t0

    gen = {"tasks": ("emotion",), "seed": args.seed, "max_new_tokens": args.max_new_tokens}
    answers = evaluate_generation(model, fs, te, **gen)
    controls = {c: evaluate_generation(model, fs, te, control=c, **gen) for c in ("shuffled", "noise")}
    t_eval = time.perf_counter() - t0 - t_train
    y = space.labels
    truth = list(fs.meta.emotion.iloc[te])                    # every row of the table is in the held-out order
    if list(answers.emotion_true) != truth:
        raise RuntimeError("the answers are not in the held-out samples' order; the table would pair rows wrongly")
    head = model.encoder.predict_logits(fs.X[te]).argmax(1)
    lr = logistic_regression(fs.subset(tr), fs.subset(te))
    # what the reasoning reasons from: the closest of the learned signatures, computed directly (not generated)
    closest = model.signatures.similarity(region_band_z(fs.X[te], fs.ch_names)).argmax(1)
    closest = [model.signatures.labels[k] for k in closest]
    table = pd.DataFrame({
        "balanced_accuracy": [_bacc(space, truth, answers.emotion_pred), _bacc(space, truth, [y[i] for i in head]),
                              _bacc(space, truth, [y[i] for i in lr]),
                              _bacc(space, truth, closest), 1 / len(space)]},
        index=["LLM (generated label)", "encoder head", "logistic regression", "closest signature (computed)",
               "chance"])
    for c, a in controls.items():
        table.loc[f"control: {c} EEG"] = _bacc(space, truth, a.emotion_pred)
    info = label_information(truth, list(answers.emotion_pred), labels=y, groups=list(answers.subject))
    decided = answers.emotion_decided.notna()
    agree = float((answers.emotion_decided[decided] == answers.emotion_pred[decided]).mean()) if decided.any() \
        else float("nan")
    print("\nheld-out subjects, basic emotion (one question per sample):")
    print(table.round(3).to_string())
    print(f"\n{info.verdict(truth='the game played')}")
    print(f"decision sentence agrees with the answer line: {agree:.3f} ({int(decided.sum())} of {len(answers)} "
          f"answers state one)")
    follows = float(answers.follows_fit.mean())
    print(f"the answer is the signature its reasoning named closest: {follows:.3f}; that named signature is the "
          f"measured closest: {answers.fit_top_correct.mean():.3f}")
    diag = diagnose_chain(model, fs, tr, te, max_new_tokens=args.max_new_tokens, seed=args.seed, answers=answers)
    print("\nwhere the information goes (diagnostic):")
    print(diag.round(3).to_string())
    print("\nsome answers (truth first):")
    for _, r in answers.drop_duplicates("emotion_true").iterrows():
        print(f"--- {r.emotion_true}: {r.text[:400]}")
    figures = run_figures(run)
    sec, peak_gb = run.seconds, max(v for v in figures["peak_rss_gb"].values() if v is not None)
    rate = {st: figures[f"{st}_tokens_per_s"] for st in ("align", "instruct") if f"{st}_tokens_per_s" in figures}
    print(f"\ntime: stage 1 {sec['stage1']:.0f} s, stage 2 {sec['align']:.0f} s, stage 3 {sec['instruct']:.0f} s, "
          f"evaluation {t_eval:.0f} s; training tokens/s: "
          + ", ".join(f"{st} {r:.0f}" for st, r in rate.items()) + f"; peak memory in training {peak_gb:.1f} GB")
    gap_head = table.iloc[0, 0] - table.loc["encoder head"].iloc[0]
    gap_lr = table.iloc[0, 0] - table.loc["logistic regression"].iloc[0]
    ctl = [abs(table.loc[f"control: {c} EEG"].iloc[0] - 1 / len(space)) for c in controls]
    print(f"\ntargets: LLM - head {gap_head:+.3f} (>= -0.02: {'MET' if gap_head >= -0.02 else 'NOT MET'}); "
          f"LLM - LR {gap_lr:+.3f} (>= 0: {'MET' if gap_lr >= 0 else 'NOT MET'}); controls within "
          f"{max(ctl):.3f} of chance (<= 0.05: {'MET' if max(ctl) <= 0.05 else 'NOT MET'}); decision agreement "
          f"{agree:.3f} (>= 0.98: {'MET' if agree >= 0.98 else 'NOT MET'})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = (f"{args.llm or 'tiny'}{'_head' if args.head_reading else ''}"
           f"{'_consistent' if args.consistent_evidence else ''}_seed{args.seed}")
    answers.to_csv(out / f"answers_{tag}.csv", index=False)
    (out / f"summary_{tag}.json").write_text(json.dumps(
        {"table": table.iloc[:, 0].to_dict(), "information": asdict(info), "decision_agreement": agree,
         "follows_fit": follows, "seconds": {**sec, "evaluate": t_eval}, "tokens_per_s": rate,
         "peak_memory_in_training_gb": peak_gb}, indent=1, default=float))


if __name__ == "__main__":
    main()
