"""Do attributions find the planted effects? AUROC per method on the encoder and on the whole E2LLM.

The synthetic cohort knows which electrodes and bands carry each emotion (``planted_mask``). Trains the
quickstart pipeline (subjects 5 and 6 held out of every stage), attributes held-out samples to their true
emotion, and prints:

- AUROC of |attribution| against the planted mask, per sample (mean) and per emotion with attributions
  averaged over that emotion's samples ("class"), for each method, on the encoder and on the E2LLM path;
- the model-randomisation sanity check (Spearman correlation, trained vs re-initialised encoder);
- the deletion-curve gap (random order minus most-attributed-first, mean over the curve);
- seconds per attributed sample on this machine.

    python bench/attribution.py [--samples 24]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from e2llm_lab.data.samples import load_sample
from e2llm_lab.data.synthetic import planted_mask
from e2llm_lab.emotions import EMOTIONS
from e2llm_lab.interpret.attribution import (
    METHODS,
    attribute,
    deletion_curve,
    e2llm_target,
    encoder_target,
    sanity_check,
    score_attribution,
)
from e2llm_lab.quickstart import QUICKSTART_TEST_SUBJECTS, run_quickstart


def evaluate(make_target, fs, rows, methods, mask) -> pd.DataFrame:
    out = []
    for method in methods:
        t0 = time.perf_counter()
        per, by_emotion = [], {}
        for r in rows:
            e = fs.meta.emotion.iloc[r]
            a = attribute(make_target(e), fs.X[r], method=method)
            per.append(score_attribution(a, mask[EMOTIONS.index(e)]))
            by_emotion.setdefault(e, []).append(np.abs(a.electrode_band()))
        seconds = (time.perf_counter() - t0) / len(rows)
        cls = [score_attribution(np.mean(v, axis=0), mask[EMOTIONS.index(e)]) for e, v in by_emotion.items()]
        out.append({"method": method, "auroc_per_sample": np.mean(per), "auroc_class": np.mean(cls),
                    "auroc_class_min": np.min(cls), "seconds_per_sample": seconds})
    return pd.DataFrame(out).set_index("method")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=28, help="held-out samples attributed per method")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    pd.set_option("display.width", 160)
    t0 = time.perf_counter()
    res = run_quickstart(out="/tmp/e2llm_bench_attr", progress=False, verbose=False)
    model = res["model"]
    fs = load_sample().with_steps(4, stride=2)
    te = np.flatnonzero(fs.meta.subject.isin(QUICKSTART_TEST_SUBJECTS).to_numpy())
    rows = te[np.linspace(0, len(te) - 1, args.samples).astype(int)]
    mask = planted_mask(fs.ch_names)
    print(f"trained in {time.perf_counter() - t0:.0f} s; {len(rows)} held-out samples, all 7 emotions")

    enc = evaluate(lambda e: encoder_target(model.encoder, e), fs, rows, METHODS, mask)
    print("\nencoder (class logit):\n" + enc.round(3).to_string())
    llm = evaluate(lambda e: e2llm_target(model, e), fs, rows, ("integrated_gradients", "saliency",
                                                                 "occlusion_region"), mask)
    print("\nE2LLM (log p of the emotion where the reasoning names it):\n" + llm.round(3).to_string())

    rho = [sanity_check(model.encoder, fs.X[r], fs.meta.emotion.iloc[r])["spearman"] for r in rows[:8]]
    gaps = []
    for r in rows[:8]:
        target = encoder_target(model.encoder, fs.meta.emotion.iloc[r])
        gaps.append(deletion_curve(target, fs.X[r], attribute(target, fs.X[r])).attrs["gap"])
    print(f"\nsanity check (IG, trained vs re-initialised encoder): Spearman {np.mean(rho):.3f} +/- {np.std(rho):.3f}")
    print(f"deletion curve (IG, encoder logit): random minus attributed, mean gap {np.mean(gaps):+.3f} "
          f"+/- {np.std(gaps):.3f} logit units")
    ig_enc = enc.loc["integrated_gradients", "auroc_class"]
    ig_llm_s = llm.loc["integrated_gradients", "seconds_per_sample"]
    print(f"\nIG on the encoder, AUROC per emotion (class-averaged) {ig_enc:.3f}, per sample "
          f"{enc.loc['integrated_gradients', 'auroc_per_sample']:.3f} (target >= 0.85): "
          f"{'MET' if ig_enc >= 0.85 else 'NOT MET'} (class-averaged)")
    print(f"one IG attribution of the tiny E2LLM: {ig_llm_s:.2f} s (target <= 2 s): "
          f"{'MET' if ig_llm_s <= 2 else 'NOT MET'}")


if __name__ == "__main__":
    main()
