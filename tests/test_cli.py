import numpy as np
import pytest
import scipy.io

from e2llm_lab.apps.cli import main
from e2llm_lab.data.featureset import FeatureSet


@pytest.mark.slow
def test_quickstart_runs_every_stage_and_writes_report(tmp_path, capsys):
    assert main(["quickstart", "--out", str(tmp_path), "--fast", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    for stage in ("stage 1 (encoder)", "stage 2 (alignment", "stage 3 (instruction tuning", "held-out subjects"):
        assert stage in out
    assert "truth:" in out and "Emotion:" in out
    html = (tmp_path / "quickstart.html").read_text()
    assert html.count("plotly") > 2 and "Accuracy on held-out subjects" in html
    assert (tmp_path / "model" / "e2llm_config.json").exists()
    assert (tmp_path / "model" / "signatures.json").exists()

    # evaluate the saved model on a small FeatureSet file: held-out subjects 5 and 6, every task, both controls
    from e2llm_lab.data.samples import load_sample

    fs = load_sample().with_steps(4, stride=2)
    small = fs.subset(np.arange(0, len(fs), 12))
    small.save(tmp_path / "small.npz")
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "model"), "--features", str(tmp_path / "small.npz"), "--test-subjects",
                 "5", "6", "--n-per-task", "2", "--device", "cpu", "--out", str(tmp_path / "eval.html")]) == 0
    out = capsys.readouterr().out
    assert "shuffled" in out and "subject_mean" in out and "probe on projected EEG tokens" in out
    assert "Controls" in (tmp_path / "eval.html").read_text()


def test_prepare_from_seed7_features(tmp_path, capsys):
    (tmp_path / "EEG_features").mkdir()
    scipy.io.savemat(tmp_path / "EEG_features" / "1.mat",
                     {f"de_LDS_{k}": np.random.default_rng(k).normal(size=(3, 5, 62)) for k in range(1, 81)})
    (tmp_path / "labels.csv").write_text("clip,emotion\n" + "".join(f"{k},neutral\n" for k in range(1, 81)))
    assert main(["prepare", str(tmp_path), "--labels", str(tmp_path / "labels.csv"), "--from-features",
                 "--out", str(tmp_path / "fs.npz")]) == 0
    assert FeatureSet.load(tmp_path / "fs.npz").X.shape == (240, 1, 62, 5)


def test_cli_reports_bad_input_without_traceback(tmp_path, capsys):
    assert main(["prepare", str(tmp_path), "--labels", "none.csv", "--out", str(tmp_path / "x.npz")]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "no-model")]) == 2
    assert "no E2LLM checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("args,expected", [
    (["--llm", "/tmp/does-not-exist-e2llm"], "model folder /tmp/does-not-exist-e2llm does not exist"),
    (["--llm", "Qwen/Qwen3-0.6B"], "cannot reach the Hugging Face hub for 'Qwen/Qwen3-0.6B'"),
    (["--llm", "not a/valid id"], "neither an existing model folder nor a valid hub id"),
    (["--preset", "gpu-huge"], "preset='gpu-huge'; allowed"),
])
def test_quickstart_fails_before_any_work_in_one_line(tmp_path, capsys, monkeypatch, args, expected):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")                # the same answer with or without a network
    t = time.perf_counter()
    assert main(["quickstart", "--out", str(tmp_path), "--fast", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and err.count("\n") == 0 and err.startswith("e2llm-lab quickstart: error:")
    assert time.perf_counter() - t < 20                      # no stage ran (stage 1 alone takes longer)
    assert not (tmp_path / "quickstart.html").exists()


def test_a_device_that_is_not_there_fails_in_one_line(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["quickstart", "--out", str(tmp_path), "--fast", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert "sees no CUDA GPU" in err and "'auto' or 'cpu'" in err and err.count("\n") == 0
    assert main(["quickstart", "--out", str(tmp_path), "--device", "gpu7"]) == 2
    assert "not a device torch knows" in capsys.readouterr().err


# -- start-up: the arguments are checked before torch, transformers or MNE load --------------------------------

HEAVY = ("torch", "transformers", "mne", "peft")
_RUN_MAIN = """
import json, sys
from e2llm_lab.apps.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as stop:                       # --help
    rc = stop.code
print(json.dumps({"rc": rc, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


def _fresh_main(*args, cwd):
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _RUN_MAIN, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr.strip()


@pytest.mark.parametrize("args,expected", [
    (["--help"], None),
    (["quickstart", "--help"], None),
    (["quickstart", "--preset", "nope"], "preset='nope'; allowed: ('cpu-tiny'"),
    (["quickstart", "--device", "gpu7"], "device='gpu7' is not a device torch knows"),
    (["evaluate", "model", "--device", "cuda:x"], "device='cuda:x' is not a device torch knows"),
    (["quickstart", "--features", "missing.npz", "--test-subjects", "5"], "no FeatureSet at missing.npz"),
    (["evaluate", "model", "--features", "missing.npz"], "no FeatureSet at missing.npz"),
    (["quickstart", "--features", "here.npz"], "--test-subjects is required with --features"),
    (["quickstart", "--threads", "0"], "threads=0 is not a thread count"),
])
def test_help_and_argument_errors_import_nothing_heavy(tmp_path, args, expected):
    (tmp_path / "here.npz").write_bytes(b"")          # exists: only the missing --test-subjects is wrong
    result, err = _fresh_main(*args, cwd=tmp_path)
    assert result["heavy"] == [], f"{args} imported {result['heavy']}"
    if expected is None:
        assert result["rc"] == 0
    else:
        assert result["rc"] == 2 and err.count("\n") == 0 and expected in err
        assert err.startswith(f"e2llm-lab {args[0]}: error:")


def test_bad_threads_env_var_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("E2LLM_THREADS", "many")
    result, err = _fresh_main("quickstart", "--fast", cwd=tmp_path)
    assert result == {"rc": 2, "heavy": []}
    assert err == ("e2llm-lab quickstart: error: E2LLM_THREADS='many' is not a thread count; give a whole number >= 1 "
                   "(e.g. 1 on a busy machine), or leave it unset to let the toolkit choose")


#: The public API before it became lazy: every name must still be there.
API_BEFORE_LAZY = (
    "__version__", "setup_notebook", "SEED_CH_NAMES", "REGIONS", "REGION_NAMES", "make_info", "make_montage",
    "DEFAULT_BANDS", "DataConfig", "SyntheticConfig", "E2LLMConfig", "PRESETS", "fast_config", "FeatureSet",
    "LeakageError", "check_no_leakage", "kfold_by_subject", "leave_one_subject_out", "trial_split",
    "load_sample", "load_sample_raw", "make_cohort", "read_raw", "read_seed7_features", "EEGFileError",
    "MissingChannelsError", "NoCapChannelsError", "EmotionSignatures", "make_examples", "evaluate_generation",
    "generation_summary", "evaluate_all", "EMOTIONS", "VALENCE", "AROUSAL", "normalize_emotion", "EEGDataError",
    "differential_entropy", "extract_features", "lds_smooth", "preprocess_raw", "EEGEncoder",
    "pretrain_encoder", "build_projector", "load_llm", "add_lora", "E2LLM", "train_stage", "run_quickstart",
)


def test_import_is_light_and_the_public_api_complete():
    import subprocess
    import sys

    code = f"""
import sys, e2llm_lab
heavy = [m for m in {HEAVY!r} if m in sys.modules]
assert heavy == [], heavy
names = set(e2llm_lab.__all__)
assert names <= set(dir(e2llm_lab))
for n in {API_BEFORE_LAZY!r} + ("LabelSpace", "LabelSpaceError", "LABEL_SPACES", "get_label_space",
                              "quadrant_label", "CheckpointError"):
    assert n in names, n
from e2llm_lab import LabelSpace, quadrant_label, FeatureSet
from e2llm_lab import labels
assert LabelSpace is labels.LabelSpace and quadrant_label is labels.quadrant_label
missing = [n for n in sorted(names) if getattr(e2llm_lab, n, None) is None]
assert missing == [], missing
import e2llm_lab.interpret as interp
assert e2llm_lab.interpret is interp
try:
    e2llm_lab.no_such_name
except AttributeError as err:
    assert "no_such_name" in str(err)
else:
    raise AssertionError("no AttributeError")
print(len(names))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= len(API_BEFORE_LAZY) + 6


@pytest.mark.parametrize("llm,preset", [(None, "cpu-tiny"), ("smollm2-135m", "cpu-smollm2")])
def test_consistent_evidence_reaches_the_recipe_of_the_preset_in_use(tmp_path, monkeypatch, llm, preset):
    from e2llm_lab.apps import quickstart
    from e2llm_lab.config import PRESETS
    from e2llm_lab.training.pipeline import resolve_config

    seen = {}
    monkeypatch.setattr(quickstart, "run_quickstart", lambda **kw: seen.update(kw))
    args = ["quickstart", "--out", str(tmp_path), "--consistent-evidence"] + (["--llm", llm] if llm else [])
    assert main(args) == 0
    cfg = resolve_config(None, llm, config=seen["config"])
    assert cfg.instruct.consistent_evidence
    # on in SmolLM2's preset (its measured recipe), off in the tiny LM's
    assert PRESETS[preset].instruct.consistent_evidence == (preset == "cpu-smollm2")
    assert cfg.instruct.lr == PRESETS[preset].instruct.lr and cfg.align == resolve_config(None, llm).align
    assert main(["quickstart", "--out", str(tmp_path)]) == 0 and seen["config"] is None      # off by default
