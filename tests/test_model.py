from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from e2llm_lab.evaluate.scoring import choose_answer_lines, score_options
from e2llm_lab.models.model import E2LLM, splice_eeg
from e2llm_lab.text.chat import eeg_placeholder
from e2llm_lab.text.instructions import TEMPLATES, make_examples


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


def test_several_segments_land_in_order(fs, small_e2llm):
    m = small_e2llm(fs)
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


def test_score_options_matches_a_manual_log_likelihood(fs, small_e2llm):
    m = small_e2llm(fs)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion",), n_per_task=2, n_eeg_tokens=m.n_eeg_tokens)
    ex = exs[0]
    prefix, options = "<think> x </think>", ["\nEmotion: fear", "\nEmotion: happiness"]
    scores = score_options(m, [ex.prompt], [fs.X[ex.eeg_rows]], [prefix], [options])[0]
    tok = m.tokenizer
    from e2llm_lab.text.chat import chat_prompt

    for opt, got in zip(options, scores):
        head = tok(chat_prompt(tok, ex.prompt) + prefix, add_special_tokens=False)["input_ids"]
        tail = tok(opt, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([head + tail])
        with torch.no_grad():
            logits = m.llm(inputs_embeds=m.embed_inputs(ids, torch.as_tensor(fs.X[ex.eeg_rows]))).logits[0]
        logp = torch.log_softmax(logits, -1)
        manual = sum(float(logp[len(head) - 1 + i, t]) for i, t in enumerate(tail))
        assert got == pytest.approx(manual, abs=1e-4)


def test_constrained_generation_ends_with_a_well_formed_answer_line(fs, small_e2llm):
    from e2llm_lab.text.instructions import answer_lines

    m = small_e2llm(fs)               # untrained: its free answers are noise, the answer line must still be one option
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion", "rank"), n_per_task=2, n_eeg_tokens=m.n_eeg_tokens)
    prompts, eeg = [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs]
    reasoning = m.generate(prompts, eeg, max_new_tokens=12, stop_at_think_end=True)
    texts = choose_answer_lines(m, prompts, eeg, reasoning, [answer_lines(e) for e in exs])
    for ex, text in zip(exs, texts):
        assert "</think>" in text and any(text.endswith(line) for line in answer_lines(ex))


def test_signatures_travel_with_the_checkpoint(fs, tmp_path, small_e2llm):
    from e2llm_lab.text.rationales import EmotionSignatures

    m = small_e2llm(fs)
    m.signatures = EmotionSignatures.fit(fs, np.arange(len(fs)))
    m.save_pretrained(tmp_path / "ckpt")
    back = E2LLM.from_pretrained(tmp_path / "ckpt", device="cpu")
    np.testing.assert_allclose(back.signatures.mean, m.signatures.mean)


def test_held_out_record_travels_with_the_checkpoint_in_the_old_format(fs, tmp_path, small_e2llm):
    import json

    from e2llm_lab.data.splits import HeldOut, held_out_rows
    from e2llm_lab.errors import CheckpointError

    m = small_e2llm(fs)
    assert m.held_out is None
    test = fs.meta.subject.isin((5, 6)).to_numpy()
    m.held_out = HeldOut.from_split(fs, np.flatnonzero(~test), np.flatnonzero(test), stride=4)
    assert m.held_out.test_subjects == (5, 6) and m.held_out.stride == 4
    m.save_pretrained(tmp_path / "ckpt")
    saved = (tmp_path / "ckpt" / "training_data.json").read_text()
    assert saved == json.dumps({"train_subjects": [1, 2, 3, 4], "test_subjects": [5, 6], "n_steps": fs.n_steps,
                                "stride": 4, "feature": fs.feature}, indent=1)
    back = E2LLM.from_pretrained(tmp_path / "ckpt", device="cpu")
    assert back.held_out == m.held_out
    np.testing.assert_array_equal(held_out_rows(back.held_out, fs)[1], np.flatnonzero(test))
    (tmp_path / "ckpt" / "training_data.json").write_text(json.dumps({"test_subjects": [5, 6]}))
    with pytest.raises(CheckpointError, match="training_data.json is damaged.*lacks"):
        E2LLM.from_pretrained(tmp_path / "ckpt", device="cpu")


def test_answers_never_hold_eeg_markers(fs, small_e2llm):
    from e2llm_lab.text.chat import EEG_TOKEN
    from e2llm_lab.text.instructions import answer_lines

    m = small_e2llm(fs)
    exs = make_examples(fs, np.arange(len(fs)), tasks=("emotion",), n_per_task=2, n_eeg_tokens=m.n_eeg_tokens)
    prompts, eeg = [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs]
    # a reasoning that (wrongly) wrote EEG markers still gets its answer line, with the markers removed
    texts = choose_answer_lines(m, prompts, eeg, ["<think> x " + EEG_TOKEN * 3 + " </think>"] * 2,
                                [answer_lines(e) for e in exs])
    assert all(EEG_TOKEN not in t and "\nEmotion:" in t for t in texts)
    with torch.no_grad():                     # make the markers the most likely tokens: generation still avoids them
        emb = m.llm.get_input_embeddings().weight
        emb[m.eeg_token_id] = emb[m.eeg_token_id] * 0 + 50 * emb.std()
    assert all("<|eeg" not in t for t in m.generate(prompts, eeg, max_new_tokens=8))


def test_scene_link_scores_the_stated_emotion_and_the_lm_knowledge(fs, small_e2llm, monkeypatch):
    from e2llm_lab.evaluate.diagnostics import continuation_logprob, scene_link
    from e2llm_lab.text.rationales import EmotionSignatures

    m = small_e2llm(fs)
    m.signatures = EmotionSignatures.fit(fs, np.arange(len(fs)))
    rows = np.arange(0, len(fs), 7)
    real = scene_link(m, fs, rows, n=12, seed=1)
    assert list(real.index) == ["emotion stated, answer line by likelihood", "scene -> feeling sentence (LM knowledge)"]
    assert (real.n == 12).all() and real.chance.iloc[0] == pytest.approx(0.25)
    # the knowledge link against the same sentences scored another way: transformers' own loss over the emotion
    exs = make_examples(fs, rows, tasks=("scenario",), n_per_task=12, n_eeg_tokens=m.n_eeg_tokens, seed=1,
                        zero_shot=True, signatures=m.signatures, verbose=False)
    tok, hits = m.tokenizer, []
    for e in exs:
        nll = []
        for option in e.truth["options"]:
            scene = fs.label_space.scene_of(option)
            head = tok(scene[0].upper() + scene[1:] + " usually brings", add_special_tokens=False)["input_ids"]
            tail = tok(" " + e.truth["emotions"][0] + ".", add_special_tokens=False)["input_ids"]
            ids = torch.tensor([head + tail])
            with torch.no_grad():
                loss = m.llm(input_ids=ids, labels=torch.tensor([[-100] * len(head) + tail])).loss
            nll.append(float(loss) * len(tail))
            text_head = scene[0].upper() + scene[1:] + " usually brings"
            assert continuation_logprob(m.llm, tok, text_head, " " + e.truth["emotions"][0] + ".") == \
                pytest.approx(-nll[-1], rel=1e-4, abs=1e-4)
        hits.append(chr(97 + int(np.argmin(nll))) == e.truth["choice"])
    assert real.loc["scene -> feeling sentence (LM knowledge)", "accuracy"] == pytest.approx(np.mean(hits))

    def oracle(prompts, eeg, prefixes, options, **kw):      # picks the line of the scene of the emotion it is told
        space = fs.label_space
        return [np.array([float(space.scene_of(e) in o) for o in opts])
                for pre, opts in zip(prefixes, options) for e in space.labels if f" {e} " in pre]

    from e2llm_lab.evaluate import diagnostics

    monkeypatch.setattr(diagnostics, "score_options", lambda model, *args, **kw: oracle(*args, **kw))
    assert scene_link(m, fs, rows, n=12, seed=1).iloc[0].accuracy == 1.0
    no_scenes = fs.relabel({e: e for e in fs.label_space.labels},
                           replace(fs.label_space, name="plain", scenes=None))
    assert scene_link(m, no_scenes, rows, n=4) is None


def test_ordering_link_scores_the_order_with_readings_given_and_against_own_readings(fs, small_e2llm, monkeypatch):
    from e2llm_lab.evaluate.diagnostics import ordering_link
    from e2llm_lab.text.rationales import EmotionSignatures

    m = small_e2llm(fs)
    m.signatures = EmotionSignatures.fit(fs, np.arange(len(fs)))
    rows = np.arange(0, len(fs), 3)
    real = ordering_link(m, fs, rows, n=6, seed=2, max_new_tokens=16)
    assert list(real.index) == [(t, k) for t in ("compare", "rank")
                                for k in ("readings given", "answer = order of own readings")]
    assert real.loc[("compare", "readings given"), "chance"] == pytest.approx(0.5, abs=0.02)
    assert real.loc[("rank", "readings given"), "chance"] == pytest.approx(1 / 6, abs=0.02)
    assert real.loc[("rank", "readings given"), "n"] == 6
    assert ((real.n == 0) == real.accuracy.isna()).all() and real.accuracy.dropna().between(0, 1).all()

    refs = {t: make_examples(fs, rows, tasks=(t,), n_per_task=6, n_eeg_tokens=m.n_eeg_tokens, seed=2,
                             signatures=m.signatures, verbose=False) for t in ("compare", "rank")}

    def oracle(swap):
        """The reference answers in order; ``swap`` reverses each answer line (not what the readings imply)."""
        def generate(prompts, eeg, prefixes=None, **kw):
            task = "rank" if len(eeg[0]) == 3 else "compare"
            out = []
            for i, e in enumerate(refs[task][:len(prompts)]):
                head, tail = e.answer.split("</think>")
                if swap:
                    tail = tail.replace("Clip A", "Clip _").replace("Clip B", "Clip A").replace("Clip _", "Clip B")
                    tail = tail if task == "compare" else "\nAnswer: " + " > ".join(reversed(e.truth["ranking"]))
                text = head + "</think>" + tail
                assert prefixes is None or text.startswith(prefixes[i])       # the given part is the reference's
                out.append(text)
            return out
        return generate

    monkeypatch.setattr(m, "generate", oracle(swap=False))
    assert (ordering_link(m, fs, rows, n=6, seed=2).accuracy == 1.0).all()
    monkeypatch.setattr(m, "generate", oracle(swap=True))
    swapped = ordering_link(m, fs, rows, n=6, seed=2).accuracy
    assert (swapped == 0.0).all()

    # the suite's own answers (answers=): read, not generated again; the readings-given link still generates
    calls = []
    right = oracle(swap=False)

    def counted(prompts, eeg, prefixes=None, **kw):
        calls.append(prefixes is not None)
        return right(prompts, eeg, prefixes=prefixes, **kw)

    monkeypatch.setattr(m, "generate", counted)
    wrong = oracle(swap=True)
    answers = pd.DataFrame([{"task": t, "text_free": text, "attr": e.truth["attr"], "n_clips": len(e.eeg_rows)}
                            for t in ("compare", "rank")
                            for text, e in zip(wrong([e.prompt for e in refs[t]], [fs.X[e.eeg_rows] for e in refs[t]]),
                                               refs[t])])
    mixed = ordering_link(m, fs, rows, n=6, seed=2, answers=answers).accuracy
    assert calls == [True, True]                                  # one prefixed call per task, no own generation
    assert (mixed.xs("readings given", level="link") == 1.0).all()
    assert (mixed.xs("answer = order of own readings", level="link") == 0.0).all()


def test_text_only_prompts_need_no_eeg(fs, small_e2llm):
    """A prompt without EEG markers (a text-only drill) embeds as the plain LM does; one with markers still needs
    its EEG."""
    m = small_e2llm(fs)
    ids = m.tokenizer(["Clip A: It matches fear. Clip B: It matches happiness."], return_tensors="pt")["input_ids"]
    none = torch.zeros((0, *fs.X.shape[1:]))
    torch.testing.assert_close(m.embed_inputs(ids, none), m.llm.get_input_embeddings()(ids))
    with_eeg = m.tokenizer([f"EEG: {eeg_placeholder(m.n_eeg_tokens)}"], return_tensors="pt")["input_ids"]
    with pytest.raises(ValueError, match="1 <\\|eeg_start\\|> markers but 0 EEG segments"):
        m.embed_inputs(with_eeg, none)
