"""Which attribution method to trust? The method x metric table on a white-box model, the encoder and the E2LLM.

The synthetic cohort knows which electrodes and bands carry each emotion (``planted_mask``). Trains the
quickstart pipeline's three stages (subjects 5 and 6 held out of every stage; no evaluation run, so it is quicker
than ``e2llm-lab quickstart``), attributes held-out samples to their true emotion with every method and both
floors (random, |x|), and prints for three models:

- a **white-box** linear model reading only the planted features (its reliance is known exactly: the best
  method must reach AUROC ~1);
- the trained **encoder** (class logit) and the whole **E2LLM** (log p of the emotion where the reasoning names
  it), against the planted masks (the figure mixes the method's error with what the model relies on);

columns: AUROC (per sample, class-averaged, worst class), Quantus's relevance rank / mass accuracy, model-
randomisation Spearman, random-logit similarity, deletion AUC (pixel flipping) with its standard error and its
paired gain over the random order in standard errors, seconds per attribution. Then the targets, MET or NOT MET.

    python bench/attribution.py [--samples 28] [--llm-samples 14] [--cache /tmp/e2llm_bench_attr]

The trained model is saved in ``--cache`` and re-used by later runs (delete the folder to retrain).
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from e2llm_lab.apps.quickstart import QUICKSTART_TEST_SUBJECTS
from e2llm_lab.data.samples import load_sample
from e2llm_lab.data.splits import split
from e2llm_lab.data.synthetic import planted_mask
from e2llm_lab.interpret.attribution import FLOORS, attribute
from e2llm_lab.interpret.metrics import (
    E2LLMScores,
    EncoderScores,
    WhiteBox,
    attribution_table,
    auroc_scores,
    class_target,
    quantus_explain,
)
from e2llm_lab.training.pipeline import resolve_config, train_e2llm

SHOWN = {"auroc": "AUROC", "auroc_sd": "sd", "auroc_class": "class", "auroc_class_min": "worst",
         "rank_accuracy": "rank acc", "mass_accuracy": "mass acc", "randomisation_spearman": "rand. rho",
         "random_logit": "rand. logit", "deletion_auc": "deletion AUC", "deletion_auc_se": "se",
         "deletion_gain_z": "gain/se", "seconds": "s/attr", "beats_floors": "beats floors"}


def train(sp, folder: Path):
    """Stages 1-3 of the quickstart on the split's training rows, saved in ``folder`` (or loaded from it)."""
    from e2llm_lab.models.model import E2LLM

    if (folder / "e2llm_config.json").exists():
        return E2LLM.from_pretrained(folder, device="cpu")
    model = train_e2llm(sp, resolve_config(device="cpu"), device="cpu", progress=False, say=lambda *a: None).model
    model.save_pretrained(folder)
    return model.eval()


def show(title: str, df: pd.DataFrame) -> None:
    cols = [c for c in SHOWN if c in df.columns]
    print(f"\n{title} (recommended: {df.attrs['recommended']})")
    print(df[cols].rename(columns=SHOWN).round(3).to_string())


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=28, help="held-out samples (white box and encoder)")
    p.add_argument("--llm-samples", type=int, default=7, help="held-out samples for the E2LLM (7 labels each)")
    p.add_argument("--cache", default="/tmp/e2llm_bench_attr", help="folder of the trained model (re-used)")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    pd.set_option("display.width", 200)
    t0 = time.perf_counter()
    sp = split(load_sample(), QUICKSTART_TEST_SUBJECTS, resolve_config().data)
    fs, tr, te = sp.samples, sp.train_idx, sp.test_idx
    model = train(sp, Path(args.cache) / "model")
    labels = fs.label_space.labels
    masks, y_all = planted_mask(fs.ch_names, fs.bands), fs.labels()
    rows = te[np.linspace(0, len(te) - 1, args.samples).astype(int)]
    llm_rows = te[np.linspace(0, len(te) - 1, args.llm_samples).astype(int)]
    print(f"model ready in {time.perf_counter() - t0:.0f} s; {len(rows)} held-out samples "
          f"({len(set(y_all[rows]))} emotions), {len(llm_rows)} for the E2LLM; timings under load")

    white = WhiteBox(masks, labels=labels).fit(fs.X[tr], y_all[tr])
    with torch.no_grad():
        acc = (white(torch.as_tensor(fs.X[te])).argmax(1).numpy() == y_all[te]).mean()
    wb = attribution_table(white, fs.X[rows], y_all[rows], white.reliance(), progress=False)
    show("white-box linear model (truth: its own weights x input)", wb)
    enc = attribution_table(EncoderScores(model.encoder), fs.X[rows], y_all[rows], masks, progress=False)
    show("trained encoder, class logit (truth: planted masks)", enc)
    # What these training subjects let a model rely on: a plain linear model (no mask), Integrated Gradients
    linear = WhiteBox(np.ones_like(masks), labels=labels).fit(fs.X[tr], y_all[tr], l2=0.1)
    au = auroc_scores(quantus_explain(linear, fs.X[rows], y_all[rows]), y_all[rows], masks)
    with torch.no_grad():
        lin_acc = (linear(torch.as_tensor(fs.X[te])).argmax(1).numpy() == y_all[te]).mean()
        enc_acc = (model.encoder.predict_logits(fs.X[te]).argmax(1) == y_all[te]).mean()
    print(f"\nreliance a model can learn from these subjects: a linear model trained on them (no mask; held-out "
          f"accuracy {lin_acc:.3f}, the encoder's {enc_acc:.3f}), "
          f"Integrated Gradients AUROC {au['per_sample'].mean():.3f}"
          f", class-averaged {np.mean(list(au['per_class'].values())):.3f}, worst {min(au['per_class'].values()):.3f}")
    llm_methods = ("integrated_gradients", "saliency", "input_x_gradient", "deeplift", "gradient_shap", "smoothgrad",
                   "occlusion_region") + FLOORS
    llm = attribution_table(E2LLMScores(model), fs.X[llm_rows], y_all[llm_rows], masks, methods=llm_methods,
                            features_in_step=fs.n_chans * fs.n_bands // 2, progress=False)   # deletion in 8 steps
    show("E2LLM, log p(emotion) (truth: planted masks)", llm)

    best_wb = wb.drop(list(FLOORS)).auroc.max()
    print(f"\nwhite box: best AUROC {best_wb:.3f} (target >= 0.95): {verdict(best_wb >= 0.95)}"
          f"; the white box's held-out accuracy {acc:.3f} (chance {1 / len(labels):.3f})")
    best_enc = enc.drop(list(FLOORS)).auroc_class.idxmax()
    print(f"encoder: best class-averaged AUROC {enc.loc[best_enc, 'auroc_class']:.3f} ({best_enc}; worst emotion "
          f"{enc.loc[best_enc, 'auroc_class_min']:.3f}) (targets >= 0.85, every emotion >= 0.7): "
          f"{verdict(enc.loc[best_enc, 'auroc_class'] >= 0.85 and enc.loc[best_enc, 'auroc_class_min'] >= 0.7)}")
    for name, df in (("encoder", enc), ("E2LLM", llm)):
        # the strict recommendation (beats both floors everywhere, passes randomisation), else the best AUROC
        rec = df.attrs["recommended"] or df.drop(list(FLOORS)).auroc_class.idxmax()
        e = df.loc[rec]
        how = "meets every check" if df.attrs["recommended"] else "none meets every check: best class-averaged AUROC"
        print(f"{name}: {rec} ({how}); randomisation Spearman {e.randomisation_spearman:.3f} +/- "
              f"{e.randomisation_spearman_sd:.3f} (< 0.3): {verdict(e.randomisation_spearman < 0.3)}; beats both "
              f"floors on every metric: {verdict(bool(e.beats_floors))} (a floor does as well on: "
              f"{', '.join(df.attrs['floor_failures'][rec]) or 'none'}); deletion AUC {e.deletion_auc:.2f} +/- "
              f"{e.deletion_auc_se:.2f} vs random {df.loc['random', 'deletion_auc']:.2f}, paired gain "
              f"{e.deletion_gain_z:.1f} se (> 2): {verdict(e.deletion_gain_z > 2)}")
    x, k = fs.X[llm_rows[0]], int(y_all[llm_rows[0]])
    target = class_target(E2LLMScores(model), k)
    t1 = time.perf_counter()
    attribute(target, x)
    one = time.perf_counter() - t1
    print(f"one IG attribution of the tiny E2LLM: {one:.2f} s (target <= 2 s): {verdict(one <= 2)}")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
