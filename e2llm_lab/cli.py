"""The ``e2llm-lab`` command: quickstart, build-samples, prepare."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _quickstart(args) -> int:
    from . import __version__
    from .data.featureset import leave_one_subject_out
    from .data.samples import load_sample, load_sample_raw, sample_dir
    from .interpret.plots import plot_cap, plot_emotion_topomaps
    from .preprocess import extract_features
    from .report import write_html_report

    t0 = time.perf_counter()
    print(f"e2llm_lab {__version__} quickstart on the sample data in {sample_dir()}")
    raw = load_sample_raw()
    de = extract_features(raw)
    print(f"1. read a recording: {len(raw.ch_names)} channels x {raw.n_times} samples at {raw.info['sfreq']:.0f} Hz "
          f"-> DE features {de.shape} (windows, channels, bands)")
    fs = load_sample(n_steps=4)
    print(f"2. sample cohort: {fs}")
    folds = leave_one_subject_out(fs.meta)
    print(f"3. leave-one-subject-out: {len(folds)} folds, leakage guard passed on each")
    figures = {"The SEED 62-channel cap": plot_cap(fs.ch_names),
               "Emotion contrasts per band (z-scored DE)": plot_emotion_topomaps(load_sample())}
    out = write_html_report(Path(args.out) / "quickstart.html", title="e2llm_lab quickstart", figures=figures,
                            text=[str(fs)])
    print(f"4. report written to {out}")
    print("Still to come: stage 1 (encoder pretraining), stages 2-3 (alignment and chain-of-thought tuning of "
          "the Qwen model), evaluation and attributions.")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def _build_samples(args) -> int:
    from .data.samples import build_samples

    out = build_samples(args.out)
    print(f"sample data written to {out}")
    return 0


def _prepare(args) -> int:
    from .config import DataConfig
    from .data.seed7 import iter_seed7_eeg, read_seed7_features
    from .preprocess import featureset_from_recordings

    if args.from_features:
        fs = read_seed7_features(args.root, args.labels, kind=args.kind)
    else:
        fs = featureset_from_recordings(iter_seed7_eeg(args.root, args.labels), DataConfig())
    print(fs)
    print(f"saved to {fs.save(args.out)}")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``e2llm-lab`` console script."""
    p = argparse.ArgumentParser(prog="e2llm-lab", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quickstart", help="run the pipeline on the shipped sample data")
    q.add_argument("--out", default="reports", help="folder for the HTML report (default: reports/)")
    q.set_defaults(func=_quickstart)
    b = sub.add_parser("build-samples", help="rebuild the synthetic sample data deterministically")
    b.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "data_samples"))
    b.set_defaults(func=_build_samples)
    r = sub.add_parser("prepare", help="SEED-VII folder -> FeatureSet .npz")
    r.add_argument("root", help="SEED-VII folder holding EEG_preprocessed/ and EEG_features/")
    r.add_argument("--labels", required=True, help="clip-to-emotion CSV (columns clip,emotion)")
    r.add_argument("--out", required=True, help="output .npz")
    r.add_argument("--from-features", action="store_true", help="use the dataset's precomputed features")
    r.add_argument("--kind", default="de_LDS", help="de, de_LDS or psd (with --from-features)")
    r.set_defaults(func=_prepare)
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"e2llm-lab {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
