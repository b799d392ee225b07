"""interpret/eeg_tokens.py: nearest vocabulary tokens of each EEG token, checked against a direct computation."""
import numpy as np
import pytest
import torch

from e2llm_lab.channels import REGION_NAMES
from e2llm_lab.config import E2LLMConfig, EncoderConfig
from e2llm_lab.data.samples import load_sample
from e2llm_lab.interpret.eeg_tokens import nearest_text_tokens
from e2llm_lab.models.encoder import EEGEncoder
from e2llm_lab.models.model import E2LLM


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return E2LLM.build(EEGEncoder(EncoderConfig(n_layers=1, d_model=16, n_heads=2, n_steps=2)), E2LLMConfig(),
                       device="cpu")


def test_nearest_tokens_are_the_cosine_nearest_vocabulary_entries(model):
    x = load_sample().with_steps(2).X[0]
    model.train()
    table = nearest_text_tokens(model, x, k=3)
    assert model.training                                                        # the mode it was found in
    assert nearest_text_tokens(model, x, k=3).equals(table)                      # no dropout: deterministic
    assert table.eeg_token.tolist() == list(REGION_NAMES) + ["global"]
    model.eval()
    with torch.no_grad():
        e = model.eeg_embeds(torch.as_tensor(x[None]))[0]                     # (R+1, H)
        vocab = model.llm.get_input_embeddings().weight
        sim = torch.nn.functional.normalize(e, dim=-1) @ torch.nn.functional.normalize(vocab, dim=-1).T
    tok = model.tokenizer
    special = set(tok.all_special_ids) | set(tok.get_added_vocab().values())
    for r in (0, len(REGION_NAMES)):                                             # a region token and the global one
        order = [i for i in sim[r].argsort(descending=True).tolist() if i not in special][:3]
        assert table.nearest[r] == tok.convert_ids_to_tokens(order)
        np.testing.assert_allclose(table.cosine[r], sim[r, order].numpy(), atol=5e-4)
        assert table.cosine[r] == sorted(table.cosine[r], reverse=True)
    assert not set(tok.convert_ids_to_tokens(sorted(special))) & {t for row in table.nearest for t in row}
