"""Every file the toolkit reads back, truncated or corrupted: one error of the toolkit's own, naming the file.

Each case writes a good file first (and checks it loads), then damages a copy the way a full disk, an interrupted
copy or a hand edit does, and asserts the error type and that the message names the damaged file.
"""
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from e2llm_lab.data.errors import EEGFileError
from e2llm_lab.errors import CheckpointError


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def _garble(path):
    data = bytearray(path.read_bytes())
    data[:16] = b"\x00garbage\xff\xfe\x00garbage"[:16]
    path.write_bytes(bytes(data))


DAMAGE = {"truncated": _truncate, "empty": lambda p: _truncate(p, 0.0), "garbled": _garble}


def _assert_names(err_info, path):
    msg = str(err_info.value)
    assert str(path) in msg and "damaged" in msg, msg
    assert "\n" not in msg


# -- FeatureSet .npz --------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_featureset(fs, tmp_path, how):
    from e2llm_lab.data.featureset import FeatureSet

    good = fs.subset(np.arange(12)).save(tmp_path / "good.npz")
    np.testing.assert_array_equal(FeatureSet.load(good).X, fs.X[:12])
    bad = tmp_path / "bad.npz"
    shutil.copy(good, bad)
    DAMAGE[how](bad)
    with pytest.raises(EEGFileError) as info:
        FeatureSet.load(bad)
    _assert_names(info, bad)


# -- encoder checkpoint --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    from e2llm_lab.config import EncoderConfig
    from e2llm_lab.models.encoder import EEGEncoder

    torch.manual_seed(0)
    return EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1, n_steps=2)).save_pretrained(
        tmp_path_factory.mktemp("enc") / "encoder")


@pytest.mark.parametrize("name,how", [("encoder.safetensors", "truncated"), ("encoder.safetensors", "garbled"),
                                      ("encoder_config.json", "truncated"), ("encoder_config.json", "empty")])
def test_damaged_encoder_checkpoint(encoder_dir, tmp_path, name, how):
    from e2llm_lab.models.encoder import EEGEncoder

    folder = shutil.copytree(encoder_dir, tmp_path / "encoder")
    DAMAGE[how](folder / name)
    with pytest.raises(CheckpointError) as info:
        EEGEncoder.from_pretrained(folder)
    _assert_names(info, folder / name)


def test_encoder_config_that_does_not_fit_its_tensors(encoder_dir, tmp_path):
    import json

    from e2llm_lab.models.encoder import EEGEncoder

    folder = shutil.copytree(encoder_dir, tmp_path / "encoder")
    good = EEGEncoder.from_pretrained(encoder_dir)
    assert good.cfg.d_model == 16                                  # the copy loads before it is altered
    meta = json.loads((folder / "encoder_config.json").read_text())
    meta["config"]["d_model"] = 32                                 # a config edited by hand
    (folder / "encoder_config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not fit encoder_config.json") as info:
        EEGEncoder.from_pretrained(folder)
    _assert_names(info, folder / "encoder.safetensors")


# -- E2LLM checkpoint folder ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def e2llm_dir(fs, tmp_path_factory):
    from e2llm_lab.config import E2LLMConfig, EncoderConfig
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.model import E2LLM
    from e2llm_lab.text.rationales import EmotionSignatures

    torch.manual_seed(0)
    enc = EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1, n_steps=fs.n_steps))
    model = E2LLM.build(enc, E2LLMConfig(), device="cpu").eval()
    model.signatures = EmotionSignatures.fit(fs, np.arange(len(fs)))
    return model.save_pretrained(tmp_path_factory.mktemp("e2llm") / "model")


@pytest.mark.slow
def test_good_e2llm_checkpoint_loads(e2llm_dir):
    from safetensors.torch import load_file

    from e2llm_lab.models.model import E2LLM

    model = E2LLM.from_pretrained(e2llm_dir, device="cpu")
    saved = load_file(str(e2llm_dir / "projector.safetensors"))
    for k, v in model.projector.state_dict().items():
        torch.testing.assert_close(v, saved[k])
    assert model.signatures is not None


@pytest.mark.slow
@pytest.mark.parametrize("name,how", [("projector.safetensors", "truncated"), ("projector.safetensors", "empty"),
                                      ("e2llm_config.json", "truncated"), ("signatures.json", "truncated"),
                                      ("signatures.json", "garbled"), ("encoder/encoder.safetensors", "truncated"),
                                      ("added_embeddings.safetensors", "truncated"), ("base.json", "garbled")])
def test_damaged_e2llm_checkpoint(e2llm_dir, tmp_path, name, how):
    from e2llm_lab.models.model import E2LLM

    folder = shutil.copytree(e2llm_dir, tmp_path / "model")
    DAMAGE[how](folder / name)
    with pytest.raises(CheckpointError) as info:
        E2LLM.from_pretrained(folder, device="cpu")
    _assert_names(info, folder / name)


@pytest.mark.slow
def test_signatures_of_the_wrong_shape(e2llm_dir, tmp_path):
    import json

    from e2llm_lab.models.model import E2LLM

    folder = shutil.copytree(e2llm_dir, tmp_path / "model")
    sig = json.loads((folder / "signatures.json").read_text())
    del sig["mean"]                                                 # valid JSON, not signatures
    (folder / "signatures.json").write_text(json.dumps(sig))
    with pytest.raises(CheckpointError) as info:
        E2LLM.from_pretrained(folder, device="cpu")
    _assert_names(info, folder / "signatures.json")


# -- training state ------------------------------------------------------------------------------------------

@pytest.fixture
def state_dir(tmp_path):
    from e2llm_lab.training.checkpoint import save_training_state

    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net(torch.randn(2, 4)).sum().backward()
    opt.step()
    return save_training_state(tmp_path / "state", tensors={"model": net.state_dict()}, optimizer=opt,
                               meta={"epoch": 1}), net


def test_good_training_state_loads(state_dir):
    from e2llm_lab.training.checkpoint import load_training_state

    folder, net = state_dir
    groups, opt, meta = load_training_state(folder)
    torch.testing.assert_close(groups["model"]["weight"], net.weight.detach())
    assert meta == {"epoch": 1} and len(opt["state"]) == 2


@pytest.mark.parametrize("name,how", [("state.json", "truncated"), ("state.json", "empty"),
                                      ("state.safetensors", "truncated"), ("state.safetensors", "garbled")])
def test_damaged_training_state(state_dir, name, how):
    from e2llm_lab.training.checkpoint import load_training_state

    folder, _ = state_dir
    DAMAGE[how](folder / name)
    with pytest.raises(CheckpointError) as info:
        load_training_state(folder)
    _assert_names(info, folder / name)
    assert "without resume" in str(info.value)


def test_training_state_json_of_another_layout(state_dir):
    from e2llm_lab.training.checkpoint import load_training_state

    folder, _ = state_dir
    (folder / "state.json").write_text('{"meta": {}}')             # valid JSON, no groups or optimizer
    with pytest.raises(CheckpointError) as info:
        load_training_state(folder)
    _assert_names(info, folder / "state.json")


# -- the LLM folder ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,how", [("model.safetensors", "truncated"), ("config.json", "truncated"),
                                      ("tokenizer.json", "truncated"), ("tokenizer.json", "empty"),
                                      ("tokenizer_config.json", "garbled")])
def test_damaged_llm_folder(tmp_path, name, how):
    from e2llm_lab.models.llm import load_llm, tiny_llm_path

    folder = shutil.copytree(tiny_llm_path(), tmp_path / "llm")
    DAMAGE[how](folder / name)
    with pytest.raises(CheckpointError) as info:
        load_llm(folder, device="cpu")
    _assert_names(info, folder / name)


def test_good_llm_folder_copy_loads(tmp_path):
    from e2llm_lab.models.llm import load_llm, tiny_llm_path

    folder = shutil.copytree(tiny_llm_path(), tmp_path / "llm")
    model, tokenizer = load_llm(folder, device="cpu")
    assert model.get_input_embeddings().weight.shape[0] >= len(tokenizer)


# -- the command line ---------------------------------------------------------------------------------------

def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "e2llm_lab.apps.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_cli_damaged_features_one_line_exit_2(fs, tmp_path):
    bad = fs.subset(np.arange(12)).save(tmp_path / "trunc.npz")
    _truncate(bad)
    done = _cli("quickstart", "--features", bad, "--test-subjects", "5", "6", "--out", tmp_path / "out",
                "--threads", "1", cwd=tmp_path)
    err = done.stderr.strip()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and err.count("\n") == 0
    assert err.startswith("e2llm-lab quickstart: error:") and str(bad) in err and "damaged" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_damaged_model_one_line_exit_2(e2llm_dir, tmp_path):
    folder = shutil.copytree(e2llm_dir, tmp_path / "model")
    _truncate(folder / "projector.safetensors")
    done = _cli("evaluate", folder, "--device", "cpu", "--threads", "1", "--out", tmp_path / "eval.html",
                cwd=tmp_path)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    # the one error line (libraries may print warnings of their own before it)
    assert err[-1].startswith("e2llm-lab evaluate: error:") and str(folder / "projector.safetensors") in err[-1]
