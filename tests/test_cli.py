import numpy as np
import pytest
import scipy.io

from e2llm_lab.cli import main
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
