"""The ``e2llm-lab`` command: quickstart, build-samples, build-tiny-llm, prepare."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _quickstart(args) -> int:
    from . import __version__
    from .data.samples import sample_dir
    from .quickstart import run_quickstart

    print(f"e2llm_lab {__version__} quickstart on the sample data in {sample_dir()}")
    run_quickstart(llm=args.llm, preset=args.preset, out=args.out, device=args.device, fast=args.fast)
    return 0


def _build_samples(args) -> int:
    from .data.samples import build_samples

    out = build_samples(args.out)
    print(f"sample data written to {out}")
    return 0


def _build_tiny_llm(args) -> int:
    from .llm import build_tiny_llm

    print(f"tiny LLM written to {build_tiny_llm(args.out, seed=args.seed)}")
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
    q.add_argument("--out", default="reports", help="folder for the HTML report and model (default: reports/)")
    q.add_argument("--llm", default=None, help="hub id or folder of a Qwen causal LM (default: the tiny offline model)")
    q.add_argument("--preset", default=None, help="cpu-tiny, colab-t4 or a100 (default: by --llm)")
    q.add_argument("--device", default="auto", help="auto, cpu or cuda")
    q.add_argument("--fast", action="store_true", help="shrink every stage (a smoke test; results not meaningful)")
    q.set_defaults(func=_quickstart)
    t = sub.add_parser("build-tiny-llm", help="rebuild the tiny offline Qwen3 model deterministically")
    t.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "data_samples" / "tiny_qwen3"))
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=_build_tiny_llm)
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
