"""train.py: instruction datasets, label masking, a short run whose loss falls, resuming a crashed run."""
import json
import re

import numpy as np
import pytest
import torch

from e2llm_lab.config import TrainConfig
from e2llm_lab.models.llm import add_lora
from e2llm_lab.models.model import E2LLM
from e2llm_lab.text.instructions import make_examples
from e2llm_lab.training.train import InstructionDataset, collate, decision_spans, train_stage


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


def test_collate_right_pads_ids_labels_and_weights():
    eeg = np.zeros((1, 2, 3, 5), dtype=np.float32)
    items = [([7, 8, 9], [-100, 8, 9], eeg, [0.0, 2.0, 1.0]), ([4], [-100], eeg + 1, [0.0])]
    batch = collate(items, pad_token_id=0)
    assert batch["input_ids"].tolist() == [[7, 8, 9], [4, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 8, 9], [-100, -100, -100]]
    assert batch["weights"].dtype == torch.float32 and batch["weights"].tolist() == [[0.0, 2.0, 1.0], [0.0] * 3]
    assert batch["eeg"].shape == (2, 2, 3, 5) and batch["eeg"][1].eq(1).all()
    assert "weights" not in collate([it[:3] + (None,) for it in items], pad_token_id=0)


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
    assert {p.name for p in (tmp_path / "ckpt").iterdir()} >= {"encoder", "adapter", "tokenizer",
                                                               "projector.safetensors", "e2llm_config.json"}
    conf = json.loads((tmp_path / "ckpt" / "adapter" / "adapter_config.json").read_text())
    assert conf["base_model_name_or_path"] == "tiny_qwen3"            # no path of the machine that trained it
    back = E2LLM.from_pretrained(tmp_path / "ckpt", device="cpu")
    assert back.generate(prompts, eeg, max_new_tokens=40) == first
    assert all(t.startswith("<think>") for t in first)


def test_resume_continues_the_same_run(fs, tmp_path, crash_after_saves, small_e2llm):
    exs = make_examples(fs, np.arange(len(fs)), tasks=("describe",), n_per_task=32, n_eeg_tokens=12)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=5e-3, checkpoint_every=2)
    a = small_e2llm(fs)
    full = train_stage(a, exs, fs, cfg, stage="align", progress=False)
    b = small_e2llm(fs)
    import e2llm_lab.training.train as tr

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




def test_decision_spans_cover_label_words_and_the_answer_line():
    answer = ("<think> Closest learned signatures: Fear (r = +0.52). Frontal alpha is lower (z = -1.2). These match "
              "the fear signature; fearful is not a label word. </think>\nEmotion: fear")
    spans = decision_spans(answer, ("fear", "sadness"))
    words = [answer[a:b] for a, b in spans]
    assert words == ["Fear", "fear", "\nEmotion: fear"]
    assert decision_spans("Frontal alpha is lower.", ("fear",)) == []


def test_decision_weights_mark_label_tokens_and_equal_weights_give_the_lm_loss(fs, small_e2llm):
    m = small_e2llm(fs)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion", "rank"), n_per_task=3,
                        n_eeg_tokens=m.n_eeg_tokens, seed=0, verbose=False)
    with pytest.raises(ValueError, match="decision_weight"):
        InstructionDataset(exs, fs, m.tokenizer, decision_weight=0)
    plain = collate([x for x in InstructionDataset(exs, fs, m.tokenizer)], m.tokenizer.pad_token_id)
    assert "weights" not in plain
    batch = collate([x for x in InstructionDataset(exs, fs, m.tokenizer, decision_weight=4.0)],
                    m.tokenizer.pad_token_id)
    w = batch.pop("weights")
    assert w.shape == batch["labels"].shape and (w[batch["labels"] == -100] == 0).all()
    for i, ex in enumerate(exs):
        heavy = m.tokenizer.decode(batch["input_ids"][i][w[i] == 4.0].tolist())
        labels_said = re.findall(r"\b(" + "|".join(fs.label_space.labels) + r")\b", ex.answer.split("</think>")[0])
        assert heavy.split()[:len(labels_said)] == labels_said                 # every label word of the reasoning
        assert heavy.endswith(ex.answer.split("</think>")[1].strip().split()[-1])   # ... then the answer line
        assert set(w[i][batch["labels"][i] != -100].tolist()) == {1.0, 4.0}
    with torch.no_grad():
        full = m(batch["input_ids"], batch["attention_mask"], batch["eeg"]).logits           # every position
        plain = m(**batch).loss                                   # the LM head on the scored positions only
        weighted = m(**batch, weights=w)
        hf = m.llm(inputs_embeds=m.embed_inputs(batch["input_ids"], batch["eeg"]),
                   attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    torch.testing.assert_close(plain, hf)                         # equal weights: the causal LM's own loss
    # by hand, from the logits of every position: token-level cross-entropy averaged with the weights
    logp = torch.log_softmax(full[:, :-1].float(), -1)
    tgt, ww = batch["labels"][:, 1:], w[:, 1:]
    keep = tgt != -100
    ce = -logp[keep].gather(-1, tgt[keep][:, None])[:, 0]
    torch.testing.assert_close(weighted.loss, (ce * ww[keep]).sum() / ww[keep].sum())
    assert weighted.logits.shape == (int(keep.sum()), full.shape[-1])      # the head ran on the scored positions


def test_training_with_decision_weight_runs_and_its_loss_falls(fs, small_e2llm):
    m = small_e2llm(fs)
    m.llm = add_lora(m.llm)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion",), n_per_task=24, n_eeg_tokens=m.n_eeg_tokens,
                        verbose=False)
    hist = train_stage(m, exs, fs, TrainConfig(epochs=4, batch_size=8, lr=1e-2, decision_weight=4.0),
                       stage="instruct", progress=False)
    assert np.isfinite(hist.loss).all() and hist.loss.iloc[-3:].mean() < 0.9 * hist.loss.iloc[:3].mean()


def test_bf16_autocast_trains_like_fp32_and_leaves_the_weights_in_fp32(fs, small_e2llm):
    """mixed_precision="bf16": the same steps learn about as much as fp32 (bf16 rounding, not another run)."""
    exs = None
    losses = {}
    for precision in ("no", "bf16"):
        torch.manual_seed(0)
        m = small_e2llm(fs)
        m.llm = add_lora(m.llm)
        exs = exs or make_examples(fs, np.arange(len(fs)), tasks=("emotion",), n_per_task=24,
                                   n_eeg_tokens=m.n_eeg_tokens, verbose=False)
        hist = train_stage(m, exs, fs, TrainConfig(epochs=3, batch_size=8, lr=1e-2, decision_weight=4.0,
                                                   mixed_precision=precision), stage="instruct", progress=False)
        losses[precision] = hist.loss.to_numpy()
        assert {p.dtype for p in m.parameters() if p.requires_grad} == {torch.float32}
    assert np.isfinite(losses["bf16"]).all()
    assert not np.array_equal(losses["bf16"], losses["no"])                   # autocast did run in bf16
    np.testing.assert_allclose(losses["bf16"], losses["no"], rtol=0.1)
    with pytest.raises(ValueError, match="mixed_precision='fp16'; allowed: 'no', 'bf16'"):
        train_stage(m, exs, fs, TrainConfig(mixed_precision="fp16"), stage="instruct", progress=False)
