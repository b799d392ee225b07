"""train.py: instruction datasets, label masking, a short run whose loss falls, resuming a crashed run."""
import numpy as np
import pytest
import torch

from e2llm_lab.config import TrainConfig
from e2llm_lab.instructions import make_examples
from e2llm_lab.llm import add_lora
from e2llm_lab.model import E2LLM
from e2llm_lab.train import InstructionDataset, collate, train_stage


def test_prompt_tokens_are_masked_in_labels(fs, small_e2llm):
    m = small_e2llm(fs)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion", "compare"), n_per_task=3,
                        n_eeg_tokens=m.n_eeg_tokens, seed=0)
    ds = InstructionDataset(exs, fs, m.tokenizer)
    batch = collate([ds[i] for i in range(len(ds))], m.tokenizer.pad_token_id)
    for i, ex in enumerate(exs):
        lab = batch["labels"][i]
        kept = lab[lab != -100].tolist()
        assert m.tokenizer.decode(kept) == ex.answer + m.tokenizer.eos_token
        n_prompt = len(m.tokenizer(m.tokenizer.apply_chat_template(
            [{"role": "system", "content": "x"}], tokenize=False), add_special_tokens=False)["input_ids"])
        assert (lab[:n_prompt] == -100).all()
    assert batch["eeg"].shape[0] == sum(len(e.eeg_rows) for e in exs)
    assert (batch["input_ids"] == m.eeg_token_id).sum() == batch["eeg"].shape[0] * m.n_eeg_tokens


def test_short_training_run_loss_falls_and_round_trip_generates_identically(fs, tmp_path, small_e2llm):
    m = small_e2llm(fs)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion",), n_per_task=24, n_eeg_tokens=m.n_eeg_tokens)
    hist_a = train_stage(m, exs, fs, TrainConfig(epochs=2, batch_size=8, lr=1e-2), stage="align", progress=False)
    assert set(hist_a.stage) == {"align"} and len(hist_a) == 6
    with pytest.raises(ValueError, match="add_lora"):
        train_stage(m, exs, fs, TrainConfig(), stage="instruct", progress=False)
    m.llm = add_lora(m.llm)
    before = {n: p.detach().clone() for n, p in m.encoder.named_parameters()}
    hist = train_stage(m, exs, fs, TrainConfig(epochs=6, batch_size=8, lr=1e-2), stage="instruct", progress=False)
    assert hist.loss.iloc[-3:].mean() < 0.9 * hist.loss.iloc[:3].mean()
    for n, p in m.encoder.named_parameters():                      # encoder frozen by default
        torch.testing.assert_close(p, before[n])
    prompts = [e.prompt for e in exs[:3]]
    eeg = [fs.X[e.eeg_rows] for e in exs[:3]]
    first = m.generate(prompts, eeg, max_new_tokens=40)
    m.save_pretrained(tmp_path / "ckpt")
    assert {p.name for p in (tmp_path / "ckpt").iterdir()} >= {"encoder", "adapter", "tokenizer", "projector.safetensors",
                                                               "e2llm_config.json"}
    back = E2LLM.from_pretrained(tmp_path / "ckpt", device="cpu")
    assert back.generate(prompts, eeg, max_new_tokens=40) == first
    assert all(t.startswith("<think>") for t in first)


def test_resume_continues_the_same_run(fs, tmp_path, crash_after_saves, small_e2llm):
    exs = make_examples(fs, np.arange(len(fs)), tasks=("describe",), n_per_task=32, n_eeg_tokens=12)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=5e-3, checkpoint_every=2)
    a = small_e2llm(fs)
    full = train_stage(a, exs, fs, cfg, stage="align", progress=False)
    b = small_e2llm(fs)
    import e2llm_lab.train as tr

    crash_after_saves(tr, 2)
    with pytest.raises(KeyboardInterrupt):
        train_stage(b, exs, fs, cfg, stage="align", checkpoint_dir=tmp_path, progress=False)
    crash_after_saves.undo()
    c = small_e2llm(fs)
    resumed = train_stage(c, exs, fs, cfg, stage="align", checkpoint_dir=tmp_path, resume=True, progress=False)
    assert len(resumed) == len(full) == 8
    np.testing.assert_allclose(resumed.loss.to_numpy(), full.loss.to_numpy(), rtol=1e-4)
    for (n, p), q in zip(a.projector.named_parameters(), c.projector.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


