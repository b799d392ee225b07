"""interpret/attention.py: encoder attention maps and rollout (small random encoder, numbers checked by hand)."""
import numpy as np
import pytest
import torch

from e2llm_lab.config import EncoderConfig
from e2llm_lab.interpret.attention import (
    attention_rollout,
    encoder_attention,
    mean_spatial_attention,
    plot_attention_matrix,
)
from e2llm_lab.models.encoder import EEGEncoder


@pytest.fixture(scope="module")
def enc():
    torch.manual_seed(0)
    return EEGEncoder(EncoderConfig(n_layers=2, n_heads=2, d_model=16))


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(5, 3, 62, 5)).astype(np.float32)


def test_mean_spatial_attention_is_the_average_of_the_forward_pass_and_leaves_the_mode(enc, X):
    enc.train()
    A = mean_spatial_attention(enc, X, batch_size=2)
    assert enc.training                                             # restored, not left in eval mode
    enc.eval()
    with torch.no_grad():
        w = enc(torch.as_tensor(X), output_attentions=True).spatial_attention[-1]     # (B, T, H, C, C)
    np.testing.assert_allclose(A, w.mean(dim=(0, 1, 2)).numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-5)


def test_rollout_rows_sum_to_one_and_follow_the_recursion(enc, X):
    R = attention_rollout(enc, X)
    assert R.shape == (62, 62)
    np.testing.assert_allclose(R.sum(1), 1.0, atol=1e-6)
    A = encoder_attention(enc, X).mean(axis=1)                      # (layers, C, C)
    manual = np.eye(62)
    for a in A:
        a = 0.5 * a + 0.5 * np.eye(62)
        manual = (a / a.sum(1, keepdims=True)) @ manual
    np.testing.assert_allclose(R, manual, rtol=1e-10)
    assert np.diag(R).mean() > 1 / 62                               # the residual path keeps tokens on themselves


def test_attention_matrix_plot_checks_its_labels(enc, X):
    A = mean_spatial_attention(enc, X)
    fig = plot_attention_matrix(A, labels=enc.ch_names)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), A)
    with pytest.raises(ValueError, match=r"shape \(62, 62\)"):
        plot_attention_matrix(A, labels=enc.ch_names[:10])
