"""The ``e2llm-lab`` command: quickstart, evaluate, audit, prepare, build-reference, build-wheel, build-samples,
build-tiny-llm."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

# Imports here stay light (standard library only): the arguments are parsed and checked before torch,
# transformers or MNE load (seconds), so --help and a mistyped option answer at once; each command imports
# what it needs.

__all__ = ["main"]


def _quickstart(args) -> int:
    from .._threads import configure_threads
    from .._version import __version__
    from ..data.samples import sample_dir
    from .quickstart import run_quickstart

    features = None
    threads = f"{configure_threads()} CPU thread(s) (--threads or E2LLM_THREADS to change)"
    if args.features:
        from ..data.featureset import FeatureSet

        features = FeatureSet.load(args.features)
        print(f"e2llm_lab {__version__} quickstart on {args.features}; {threads}")
    else:
        print(f"e2llm_lab {__version__} quickstart on the sample data in {sample_dir()}; {threads}")
    config = None
    if args.consistent_evidence:
        from ..training.pipeline import with_consistent_evidence

        config = with_consistent_evidence(args.preset, args.llm)
    run_quickstart(llm=args.llm, preset=args.preset, out=args.out, device=args.device, fast=args.fast,
                   features=features, test_subjects=args.test_subjects, config=config)
    return 0


def _build_samples(args) -> int:
    from ..data.samples import SOURCE_SAMPLES
    from .build import build_samples

    out = build_samples(args.out or SOURCE_SAMPLES)
    print(f"sample data written to {out}")
    return 0


def _build_tiny_llm(args) -> int:
    from ..data.samples import SOURCE_SAMPLES
    from .build import build_tiny_llm

    print(f"tiny LLM written to {build_tiny_llm(args.out or SOURCE_SAMPLES / 'tiny_qwen3', seed=args.seed)}")
    return 0


def _build_reference(args) -> int:
    from .reference import build_reference, evaluate_reference

    if args.evaluate_only:
        out = evaluate_reference(args.out, llm=args.llm, seed=args.seed, device=args.device,
                                 n_per_task=args.n_per_task)
        print(f"evaluation of the reference model written to {out}")
        return 0
    if args.llm not in (None, "tiny"):
        from ..models.llm import named_llm_path

        named_llm_path(args.llm)                     # not installed: its one sentence, before any work
    out = build_reference(args.out, llm=args.llm, seed=args.seed, device=args.device, n_per_task=args.n_per_task)
    print(f"reference model, features and evaluation written to {out}")
    return 0


def _build_wheel(args) -> int:
    import subprocess

    from ..data.samples import SOURCE_SAMPLES

    root = SOURCE_SAMPLES.parent
    if not (root / "pyproject.toml").exists() or not (SOURCE_SAMPLES / "sample_features.npz").exists():
        raise FileNotFoundError(f"build-wheel needs the source checkout (pyproject.toml and data_samples/ beside "
                                f"the package); {root} has none. Clone the repository and run it there")
    out = Path(args.out).resolve()
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(root)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ValueError(f"pip wheel failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    wheel = max(out.glob("e2llm_lab-*.whl"), key=lambda w: w.stat().st_mtime)
    print(f"{wheel}  ({wheel.stat().st_size / 2**20:.1f} MB, sample data and tiny model included). Students upload "
          f"it next to a notebook (or to Drive's MyDrive); the first cell installs it.")
    return 0


def _prepare(args) -> int:
    from ..config import DataConfig
    from ..data.datasets import read_dataset
    from ..data.events import parse_mapping
    from ..data.io import SUPPORTED_EXTENSIONS

    root, name = Path(args.root), args.dataset
    if name == "seed7" and not (root / "EEG_preprocessed").is_dir() and not (root / "EEG_features").is_dir() and (
            root.name.lower().endswith(SUPPORTED_EXTENSIONS)
            or (root.is_dir() and any(p.name.lower().endswith(SUPPORTED_EXTENSIONS) for p in root.iterdir()))):
        name = "events"                            # an EEG file, or a folder of them: trials from their annotations
        print(f"{root} holds EEG recordings, not the SEED-VII layout: reading trials from their annotations "
              f"(--dataset events; --mapping to choose and name them)")
    given = {"subjects": args.subjects, "kind": args.kind, "labels": args.labels, "threshold": args.threshold,
             "task": args.task, "label_column": args.label_column, "mapping": parse_mapping(args.mapping),
             "label_space": args.label_space, "duration": args.duration}
    options = {k: v for k, v in given.items() if v is not None}   # the reader refuses one it does not take, by name
    if args.from_features:                                        # a flag: only SEED-VII's reader takes it
        options["from_features"] = True
    fs = read_dataset(name, root, cfg=DataConfig(de_method=args.de_method), **options)
    print(fs)
    print(f"saved to {fs.save(args.out)}")
    return 0


def _evaluate(args) -> int:
    from ..data.featureset import FeatureSet
    from ..data.samples import load_sample
    from ..data.splits import held_out_rows
    from ..evaluate.suite import DEFAULT_CONTROLS, evaluate_all
    from ..models.model import E2LLM
    from .quickstart import QUICKSTART_TEST_SUBJECTS  # the sample cohort's, when no features are given

    if not (Path(args.model_dir) / "e2llm_config.json").exists():
        raise FileNotFoundError(f"{args.model_dir} holds no E2LLM checkpoint (no e2llm_config.json); train one with "
                                f"`e2llm-lab quickstart` (it saves reports/model) or E2LLM.save_pretrained")
    windows = FeatureSet.load(args.features) if args.features else None
    model = E2LLM.from_pretrained(args.model_dir, device=args.device)
    # the model's own windowing (n_steps, stride), label space, bands and cap; its own held-out subjects
    fs = model.samples(windows if windows is not None else load_sample())
    recorded = model.held_out.test_subjects if model.held_out is not None else None
    subjects = args.test_subjects or recorded or (None if windows is not None else QUICKSTART_TEST_SUBJECTS)
    if not subjects:
        raise ValueError("--test-subjects is required: this model does not record which subjects it never saw")
    train_idx, test_idx = held_out_rows(model.held_out, fs, subjects)
    print(f"evaluating on {fs}; held-out subjects {tuple(subjects)}", flush=True)
    report = evaluate_all(model, fs, test_idx, train_idx=train_idx if len(train_idx) else None,
                          n_per_task=args.n_per_task, n_control=args.n_control,
                          controls=() if args.no_controls else DEFAULT_CONTROLS, modes=tuple(args.mode),
                          n_intervene=args.n_intervene, out=args.out)
    for name in ("basic", "tasks", "controls", "interventions", "read_back", "diagnostic", "timings", "problems"):
        if name in report.tables:
            table = report.tables[name]
            table = table.xs("all", level="subject") if name == "basic" else table     # overall, not per subject
            print(f"\n{name}:\n{table.round(3).to_string()}")
    if "information" in report.tables:
        info = report.tables["information"].iloc[0]
        print(f"\n{'WARNING: ' if not info.informative else ''}{info.verdict}")
    print(f"\nreport: {Path(args.out)}")
    return 0


def _subject(text: str):
    """A subject id from the command line: a number where it is one (SEED's 1..15), else the name ("sub-01")."""
    return int(text) if text.lstrip("-").isdigit() else text


#: Device spellings the toolkit runs on; whether the hardware is there is checked later (that needs torch).
_DEVICE = re.compile(r"auto|(cpu|cuda|mps|xpu)(:\d+)?")
#: Commands that compute with torch (and so get a deliberate thread count); build-wheel only calls pip.
_NO_TORCH = frozenset({"build-wheel", "audit"})


def _check_args(args) -> None:
    """Refuse, before anything heavy is imported, what the arguments alone show to be wrong."""
    from .._threads import choose_threads
    from ..training.pipeline import resolve_config  # dataclasses only: no torch

    preset = getattr(args, "preset", None)
    if preset is not None:
        resolve_config(preset)                     # an unknown preset: ValueError naming the allowed ones
    device = getattr(args, "device", None)
    if device is not None and not _DEVICE.fullmatch(device):
        raise ValueError(f"device={device!r} is not a device torch knows; use 'auto', 'cpu' or 'cuda' "
                         f"(or 'cuda:1', 'mps')")
    features = getattr(args, "features", None)
    if features and not Path(features).is_file():
        raise FileNotFoundError(f"no FeatureSet at {features} (--features): check the path, or make one with "
                                f"`e2llm-lab prepare`")
    if args.command == "quickstart" and features and not args.test_subjects:
        raise ValueError("--test-subjects is required with --features: name the subjects no stage may see")
    choose_threads(args.threads)                   # a bad --threads or $E2LLM_THREADS fails here, in one line


_THREADS_HELP = ("CPU threads for torch (default: $E2LLM_THREADS, else $OMP_NUM_THREADS, else the physical cores "
                 "not busy now; give 1 on a busy shared machine)")


def _add_commands(sub) -> None:
    """quickstart, build-tiny-llm, build-reference, build-wheel, build-samples and evaluate."""
    q = sub.add_parser("quickstart", help="run the pipeline on the shipped sample data")
    q.add_argument("--out", default="reports", help="folder for the HTML report and model (default: reports/)")
    q.add_argument("--llm", default=None,
                   help="hub id, folder or .gguf file of a causal LM (default: the tiny offline model)")
    q.add_argument("--preset", default=None, help="cpu-tiny, colab-t4 or a100 (default: by --llm)")
    q.add_argument("--device", default="auto", help="auto, cpu or cuda")
    q.add_argument("--fast", action="store_true", help="shrink every stage (a smoke test; results not meaningful)")
    q.add_argument("--features", default=None,
                   help="window-level FeatureSet .npz on any cap (default: the sample cohort)")
    q.add_argument("--test-subjects", type=_subject, nargs="+", default=None,
                   help="subjects no stage sees (required with --features)")
    q.add_argument("--consistent-evidence", action="store_true",
                   help="teach answers only from training samples whose closest signature is their own label "
                        "(TrainConfig.consistent_evidence; for weak real effects)")
    q.set_defaults(func=_quickstart)
    t = sub.add_parser("build-tiny-llm", help="rebuild the tiny offline Qwen3 model deterministically")
    t.add_argument("--out", default=None, help="output folder (default: data_samples/tiny_qwen3 of the checkout)")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=_build_tiny_llm)
    br = sub.add_parser("build-reference", help="rebuild the shipped reference model (about 15 min on 2 CPU cores)")
    br.add_argument("--out", default=None, help="folder (default: data_samples/reference of this checkout, "
                                                "data_samples/reference_smollm2 for --llm smollm2-135m)")
    br.add_argument("--llm", default=None, choices=["tiny", "smollm2-135m"],
                    help="the LM of the reference (default tiny; smollm2-135m: about 90 min on 2 CPU cores)")
    br.add_argument("--seed", type=int, default=0)
    br.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    br.add_argument("--n-per-task", type=int, default=None,
                    help="prompts per task in its evaluation (default the reference's: 40, smollm2-135m 20)")
    br.add_argument("--evaluate-only", action="store_true",
                    help="re-run only the evaluation of the model already in --out (after the protocol changed)")
    br.set_defaults(func=_build_reference)
    w = sub.add_parser("build-wheel", help="build a wheel to hand out (sample data and tiny model inside)")
    w.add_argument("--out", default="dist", help="folder for the wheel (default: dist/)")
    w.set_defaults(func=_build_wheel)
    b = sub.add_parser("build-samples", help="rebuild the synthetic sample data deterministically")
    b.add_argument("--out", default=None, help="output folder (default: data_samples/ of the checkout)")
    b.set_defaults(func=_build_samples)
    e = sub.add_parser("evaluate", help="the evaluation protocol on held-out subjects -> HTML report")
    e.add_argument("model_dir", help="folder written by E2LLM.save_pretrained (the quickstart saves reports/model)")
    e.add_argument("--features", default=None, help="FeatureSet .npz (default: the sample cohort)")
    e.add_argument("--test-subjects", type=_subject, nargs="+", default=None,
                   help="held-out subjects (default: those the model records it never saw)")
    e.add_argument("--n-per-task", type=int, default=40, help="prompts per multi-clip and zero-shot task")
    e.add_argument("--n-control", type=int, default=20, help="prompts per task under each EEG control")
    e.add_argument("--no-controls", action="store_true", help="skip the shuffled, subject-mean and noise EEG controls")
    e.add_argument("--mode", nargs="+", choices=("free", "grounded"), default=["free", "grounded"],
                   help="free: the model writes its evidence; grounded: the toolkit's measured evidence is in the "
                        "prompt and the model decides after it (default: both)")
    e.add_argument("--n-intervene", type=int, default=56,
                   help="held-out samples whose evidence and EEG are edited to see what moves the answer (0: none)")
    e.add_argument("--device", default="auto", help="auto, cpu or cuda")
    e.add_argument("--out", default="reports/evaluation.html")
    e.set_defaults(func=_evaluate)


def _audit(args) -> int:
    from .._html import write_html_report
    from ..data.audit import audit
    from ..data.featureset import FeatureSet

    report = audit(FeatureSet.load(args.features))
    print(report)
    if args.out:
        write_html_report(args.out, title=f"e2llm_lab data audit: {args.features}", text=[report.verdict()],
                          tables={"Findings": report.table.set_index("check")})
        print(f"\nreport: {args.out}")
    return 1 if len(report.problems) else 0


def _add_audit(sub) -> None:
    """audit: near-duplicate subjects, confounded designs, balance, dead channels -> findings (exit 1 on a problem)."""
    a = sub.add_parser("audit", help="check a FeatureSet before trusting any number: near-duplicate subjects, "
                                     "label confounded with trial/session/order, balance, dead channels")
    a.add_argument("features", help="FeatureSet .npz (e2llm-lab prepare writes one)")
    a.add_argument("--out", default=None, help="also write the findings as an HTML page")
    a.set_defaults(func=_audit)


def _add_prepare(sub) -> None:
    """prepare: a dataset folder or annotated EEG files -> FeatureSet .npz."""
    r = sub.add_parser("prepare", help="a dataset folder (SEED-VII, SEED, SEED-IV, SEED-V, DEAP, DREAMER, FACED, "
                                       "BIDS) or EEG files with annotations -> FeatureSet .npz")
    r.add_argument("root", help="the dataset's folder (SEED-VII: holding EEG_preprocessed/ and EEG_features/), or an "
                                "EEG file / folder of EEG files with annotated trials")
    r.add_argument("--dataset", default="seed7",
                   help="the layout of ROOT: seed7 (default), seed, seed4, seed5, deap, dreamer, faced, bids or "
                        "events (e2llm_lab.data.DATASETS; an unknown name is refused with the list)")
    r.add_argument("--labels", default=None,
                   help="SEED-VII clip-to-emotion CSV (columns clip,emotion); default the package's SEED-VII order")
    r.add_argument("--out", required=True, help="output .npz")
    r.add_argument("--from-features", action="store_true",
                   help="use the dataset's precomputed features (seed7, seed, seed4)")
    r.add_argument("--kind", default=None, help="feature key with --from-features: SEED-VII de, de_LDS or psd; "
                                                "SEED/SEED-IV de_LDS, de_movingAve, psd_LDS or psd_movingAve")
    r.add_argument("--de-method", default="gaussian",
                   help="gaussian, fft or fft_seed (SEED's official extractor, to sit beside its shipped de_*)")
    r.add_argument("--subjects", type=_subject, nargs="+", default=None, help="subjects to read (default all)")
    r.add_argument("--threshold", type=float, default=None,
                   help="rating above which valence/arousal count as high (deap: default 5; dreamer: default 3)")
    r.add_argument("--task", default=None, help="BIDS task to read (bids)")
    r.add_argument("--label-column", default=None,
                   help="column of events.tsv holding the label (bids; default trial_type)")
    r.add_argument("--mapping", default=None,
                   help="event code or description -> label, 'code=label,...' or a .json file (events, bids); "
                        "default each annotation description is its own label")
    r.add_argument("--label-space", default=None,
                   help="built-in label space of the mapped labels (events, bids; default: the labels found)")
    r.add_argument("--duration", type=float, default=None,
                   help="trial length in seconds where events carry none (default: until the next event)")
    r.set_defaults(func=_prepare)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="e2llm-lab", description=__doc__)
    p.add_argument("--threads", type=int, default=None, help=_THREADS_HELP)
    sub = p.add_subparsers(dest="command", required=True)
    _add_commands(sub)
    _add_prepare(sub)
    _add_audit(sub)
    for command in sub.choices.values():          # also accepted after the command: e2llm-lab quickstart --threads 1
        command.add_argument("--threads", type=int, default=argparse.SUPPRESS, help=_THREADS_HELP)
    return p


def main(argv=None) -> int:
    """Entry point of the ``e2llm-lab`` console script.

    Parses and checks the arguments first (standard library only), then sets the CPU thread count
    (:func:`~e2llm_lab._threads.configure_threads`), then runs the command. Expected failures (bad arguments,
    missing or damaged files) print one line on stderr and return 2.
    """
    args = _parser().parse_args(argv)
    try:
        _check_args(args)
        if args.command not in _NO_TORCH:
            from .._threads import configure_threads

            configure_threads(args.threads)
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:   # CheckpointError and EEGFileError are ValueErrors
        print(f"e2llm-lab {args.command}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
