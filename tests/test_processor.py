"""processor.py: the one padding function (left for generation, right for scoring and training) and the prompt
processor's chat prompts, token ids and batches."""
import numpy as np
import pytest
import torch

from e2llm_lab.models.processor import EEGPromptProcessor, pad


def test_pad_puts_padding_on_the_side_asked_with_the_mask_to_match():
    ids = [[5, 6, 7], [8]]
    left, lmask = pad(ids, side="left", pad_id=0)
    right, rmask = pad(ids, side="right", pad_id=0)
    assert left.tolist() == [[5, 6, 7], [0, 0, 8]] and lmask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert right.tolist() == [[5, 6, 7], [8, 0, 0]] and rmask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert left.dtype == lmask.dtype == torch.int64
    labels, _ = pad([[-100, 3], [-100, -100, 4, 9]], side="right", pad_id=-100)
    assert labels.tolist() == [[-100, 3, -100, -100], [-100, -100, 4, 9]]
    weights, _ = pad([[0.0, 4.0, 1.0], [0.0]], side="right", pad_id=0.0)
    assert weights.dtype == torch.float32 and weights.tolist() == [[0.0, 4.0, 1.0], [0.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="allowed: \\('left', 'right'\\)"):
        pad(ids, side="center", pad_id=0)


def test_processor_builds_chat_prompts_and_batches_in_reading_order(fs, small_e2llm):
    from e2llm_lab.text.chat import chat_prompt, eeg_placeholder
    from e2llm_lab.text.instructions import TEMPLATES

    m = small_e2llm(fs)
    proc = m.processor
    assert isinstance(proc, EEGPromptProcessor) and proc.pad_token_id == m.tokenizer.pad_token_id
    one = TEMPLATES["emotion"][0].format(eeg=eeg_placeholder(m.n_eeg_tokens))
    two = TEMPLATES["compare"][0].format(eeg=eeg_placeholder(m.n_eeg_tokens), eeg2=eeg_placeholder(m.n_eeg_tokens),
                                         attr="positive")
    chats = proc.chat([one, two], ["<think>", ""])
    assert chats == [chat_prompt(m.tokenizer, one) + "<think>", chat_prompt(m.tokenizer, two)]
    assert proc.chat([one]) == [chat_prompt(m.tokenizer, one)]
    ids = proc.encode(chats)
    assert ids[0] == m.tokenizer(chats[0], add_special_tokens=False)["input_ids"] and len(ids[1]) > len(ids[0])
    eeg = [fs.X[[0]], fs.X[[3, 40]]]
    for side in ("left", "right"):
        batch = proc(chats, eeg, side=side)
        assert batch["input_ids"].shape == batch["attention_mask"].shape == (2, len(ids[1]))
        row = batch["input_ids"][0][batch["attention_mask"][0] == 1].tolist()
        assert row == ids[0]
        kept = batch["input_ids"][0, -len(ids[0]):] if side == "left" else batch["input_ids"][0, :len(ids[0])]
        assert kept.tolist() == ids[0]
        np.testing.assert_array_equal(batch["eeg"].numpy(), fs.X[[0, 3, 40]])
        assert (batch["input_ids"] == m.eeg_token_id).sum() == 3 * m.n_eeg_tokens
