import numpy as np
import pytest
import torch

from e2llm_lab.config import E2LLMConfig, EncoderConfig, TrainConfig
from e2llm_lab.data.samples import load_sample
from e2llm_lab.encoder import EEGEncoder
from e2llm_lab.instructions import TEMPLATES, eeg_placeholder, make_examples
from e2llm_lab.llm import add_lora
from e2llm_lab.model import E2LLM, splice_eeg
from e2llm_lab.train import InstructionDataset, collate, train_stage


@pytest.fixture(scope="module")
def fs():
    return load_sample().with_steps(2, stride=4)


def _model(fs):
    torch.manual_seed(0)
    enc = EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1, n_steps=fs.n_steps))
    return E2LLM.build(enc, E2LLMConfig(), device="cpu").eval()


def test_splice_matches_manual_construction():
    torch.manual_seed(0)
    ids = torch.tensor([[1, 9, 9, 2, 0], [9, 9, 9, 9, 3]])
    emb = torch.randn(2, 5, 4)
    eeg = torch.randn(6, 4)
    out = splice_eeg(emb, ids, eeg, eeg_token_id=9)
    manual = emb.clone()
    k = 0
    for b in range(2):
        for t in range(5):
            if ids[b, t] == 9:
                manual[b, t] = eeg[k]
                k += 1
    torch.testing.assert_close(out, manual)
    with pytest.raises(ValueError, match="6 <\\|eeg\\|> placeholders but 5"):
        splice_eeg(emb, ids, eeg[:5], eeg_token_id=9)


def test_several_segments_land_in_order(fs):
    m = _model(fs)
    n = m.n_eeg_tokens
    prompt = TEMPLATES["compare"][0].format(eeg=eeg_placeholder(n), eeg2=eeg_placeholder(n), attr="positive")
    ids = m.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    eeg = torch.as_tensor(fs.X[[3, 40]])
    spliced = m.embed_inputs(ids, eeg)
    pos = (ids[0] == m.eeg_token_id).nonzero().flatten()
    expected = m.eeg_embeds(eeg).flatten(0, 1)
    torch.testing.assert_close(spliced[0, pos], expected)
    other = (ids[0] != m.eeg_token_id).nonzero().flatten()
    torch.testing.assert_close(spliced[0, other], m.llm.get_input_embeddings()(ids)[0, other])
    assert len(pos) == 2 * n == 24


def test_prompt_tokens_are_masked_in_labels(fs):
    m = _model(fs)
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


def test_short_training_run_loss_falls_and_round_trip_generates_identically(fs, tmp_path):
    m = _model(fs)
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


def test_resume_continues_the_same_run(fs, tmp_path, crash_after_saves):
    exs = make_examples(fs, np.arange(len(fs)), tasks=("describe",), n_per_task=32, n_eeg_tokens=12)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=5e-3, checkpoint_every=2)
    a = _model(fs)
    full = train_stage(a, exs, fs, cfg, stage="align", progress=False)
    b = _model(fs)
    import e2llm_lab.train as tr

    crash_after_saves(tr, 2)
    with pytest.raises(KeyboardInterrupt):
        train_stage(b, exs, fs, cfg, stage="align", checkpoint_dir=tmp_path, progress=False)
    crash_after_saves.undo()
    c = _model(fs)
    resumed = train_stage(c, exs, fs, cfg, stage="align", checkpoint_dir=tmp_path, resume=True, progress=False)
    assert len(resumed) == len(full) == 8
    np.testing.assert_allclose(resumed.loss.to_numpy(), full.loss.to_numpy(), rtol=1e-4)
    for (n, p), q in zip(a.projector.named_parameters(), c.projector.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_score_options_matches_a_manual_log_likelihood(fs):
    m = _model(fs)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion",), n_per_task=2, n_eeg_tokens=m.n_eeg_tokens)
    ex = exs[0]
    prefix, options = "<think> x </think>", ["\nEmotion: fear", "\nEmotion: happiness"]
    scores = m.score_options([ex.prompt], [fs.X[ex.eeg_rows]], [prefix], [options])[0]
    tok = m.tokenizer
    from e2llm_lab.llm import chat_prompt

    for opt, got in zip(options, scores):
        head = tok(chat_prompt(tok, ex.prompt) + prefix, add_special_tokens=False)["input_ids"]
        tail = tok(opt, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([head + tail])
        with torch.no_grad():
            logits = m.llm(inputs_embeds=m.embed_inputs(ids, torch.as_tensor(fs.X[ex.eeg_rows]))).logits[0]
        logp = torch.log_softmax(logits, -1)
        manual = sum(float(logp[len(head) - 1 + i, t]) for i, t in enumerate(tail))
        assert got == pytest.approx(manual, abs=1e-4)


def test_constrained_generation_ends_with_a_well_formed_answer_line(fs):
    from e2llm_lab.instructions import answer_lines

    m = _model(fs)               # untrained: its free answers are noise, the answer line must still be one option
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion", "rank"), n_per_task=2, n_eeg_tokens=m.n_eeg_tokens)
    texts = m.generate([e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs], max_new_tokens=12,
                       answer_options=[answer_lines(e) for e in exs])
    for ex, text in zip(exs, texts):
        assert "</think>" in text and any(text.endswith(line) for line in answer_lines(ex))


def test_signatures_travel_with_the_checkpoint(fs, tmp_path):
    from e2llm_lab.instructions import EmotionSignatures

    m = _model(fs)
    m.signatures = EmotionSignatures.fit(fs, np.arange(len(fs)))
    m.save_pretrained(tmp_path / "ckpt")
    back = E2LLM.from_pretrained(tmp_path / "ckpt", device="cpu")
    np.testing.assert_allclose(back.signatures.mean, m.signatures.mean)


def test_answers_never_hold_eeg_markers(fs):
    from e2llm_lab.instructions import EEG_TOKEN, answer_lines

    m = _model(fs)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion",), n_per_task=2, n_eeg_tokens=m.n_eeg_tokens)
    prompts, eeg = [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs]
    # a reasoning that (wrongly) wrote EEG markers still gets its answer line, with the markers removed
    texts = m.choose_answer_lines(prompts, eeg, ["<think> x " + EEG_TOKEN * 3 + " </think>"] * 2,
                                  [answer_lines(e) for e in exs])
    assert all(EEG_TOKEN not in t and "\nEmotion:" in t for t in texts)
    with torch.no_grad():                     # make the markers the most likely tokens: generation still avoids them
        emb = m.llm.get_input_embeddings().weight
        emb[m.eeg_token_id] = emb[m.eeg_token_id] * 0 + 50 * emb.std()
    assert all("<|eeg" not in t for t in m.generate(prompts, eeg, max_new_tokens=8))
