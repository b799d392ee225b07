import itertools
import time

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from e2llm_lab.evaluate.significance import InformationTest, _balanced_accuracy, label_information

EMOTIONS = ["happy", "sad", "fear", "neutral"]


def _labels(rng, n):
    return list(rng.choice(EMOTIONS, n))


def test_random_predictions_are_not_flagged_beyond_alpha():
    """Predictions drawn independently of the truth: a 5% test flags about 1 in 20 such datasets, no more."""
    flagged = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        res = label_information(_labels(rng, 400), _labels(rng, 400), labels=EMOTIONS, seed=seed)
        assert res.chance == 0.25 and abs(res.balanced_accuracy - 0.25) < 0.06
        flagged += res.informative
        if seed == 0:
            assert not res.informative and res.p_value > 0.5 and res.ci_low < 0.25 < res.ci_high
            sentence = res.verdict()
            assert sentence.startswith("The generated labels carry no detectable information about the true "
                                       "emotion on these held-out subjects (balanced accuracy 0.23")
            assert sentence.endswith("the explanations beside them are not evidence.") and "\n" not in sentence
    assert flagged <= 2


def test_false_alarm_rate_is_at_most_alpha():
    """Over many datasets with no information, the p-value is about uniform and few are flagged."""
    rng = np.random.default_rng(123)
    runs = [label_information(_labels(rng, 80), _labels(rng, 80), labels=EMOTIONS, n_permutations=199,
                              n_bootstrap=199, seed=k) for k in range(200)]
    p = np.array([r.p_value for r in runs])
    assert 0.01 <= np.mean(p < 0.05) <= 0.10                  # about 5% below 0.05: a calibrated test
    assert 0.4 <= np.mean(p < 0.5) <= 0.6
    assert np.mean([r.informative for r in runs]) <= 0.06


def test_noisy_truth_is_informative():
    rng = np.random.default_rng(0)
    y_true = _labels(rng, 400)
    noisy = rng.random(400) < 0.3
    y_pred = [rng.choice(EMOTIONS) if k else y for y, k in zip(y_true, noisy)]
    res = label_information(y_true, y_pred, labels=EMOTIONS)
    assert res.informative and res.p_value == 1 / 2001          # no permutation reached it (add-one corrected)
    assert res.balanced_accuracy == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert 0.72 < res.balanced_accuracy < 0.83 and res.ci_low > 0.7 and res.ci_high < 0.86
    assert res.verdict(truth="the true valence").startswith("The generated labels carry information about the "
                                                            "true valence on these held-out subjects")


def test_p_value_matches_exact_enumeration_of_all_permutations():
    y_true = ["a", "a", "a", "b", "b", "c", "c"]
    y_pred = ["a", "a", "b", "b", "c", "c", "a"]
    observed = balanced_accuracy_score(y_true, y_pred)
    exact = np.mean([balanced_accuracy_score(y_true, perm) >= observed - 1e-12
                     for perm in set(itertools.permutations(y_pred))])     # every distinct shuffle, equally likely
    res = label_information(y_true, y_pred, n_permutations=20000, seed=1)
    se = np.sqrt(exact * (1 - exact) / 20000)
    assert res.balanced_accuracy == pytest.approx(observed)
    assert abs(res.p_value - exact) < 4 * se + 1e-4, (res.p_value, exact)


def test_vectorised_balanced_accuracy_equals_sklearn_on_resamples():
    rng = np.random.default_rng(5)
    t, p = rng.integers(0, 4, 60), rng.integers(-1, 4, 60)
    onehot = (t[:, None] == np.arange(4)[None, :]).astype(float)
    for _ in range(20):
        idx = rng.integers(0, 60, 60)
        weights = np.bincount(idx, minlength=60)[None, :].astype(float)
        with pytest.warns(UserWarning) if (p[idx] < 0).any() or len(set(p[idx]) - set(t[idx])) else _no_warning():
            expected = balanced_accuracy_score(t[idx], p[idx])
        got = _balanced_accuracy((p == t)[None, :].astype(float), weights, onehot)[0]
        assert got == pytest.approx(expected)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_unparsed_predictions_count_as_wrong():
    res = label_information(["a", "a", "b", "b"], ["a", None, "b", float("nan")], n_permutations=50)
    assert res.balanced_accuracy == 0.5 and res.n_unparsed == 2 and res.chance == 0.5
    res = label_information(["a", "a", "b", "b"], ["a", "zebra", "b", "b"], labels=["a", "b"], n_permutations=50)
    assert res.balanced_accuracy == 0.75 and res.n_unparsed == 1


def test_subject_bootstrap_is_wider_when_subjects_differ():
    """Half the subjects answered perfectly and half at random: resampling subjects shows that spread."""
    rng = np.random.default_rng(2)
    y_true, y_pred, groups = [], [], []
    for s in range(8):
        truth = _labels(rng, 50)
        y_true += truth
        y_pred += truth if s % 2 else _labels(rng, 50)
        groups += [f"sub-{s:02d}"] * 50
    by_answer = label_information(y_true, y_pred, labels=EMOTIONS)
    by_subject = label_information(y_true, y_pred, labels=EMOTIONS, groups=groups)
    assert by_subject.balanced_accuracy == by_answer.balanced_accuracy and by_subject.n_groups == 8
    assert by_subject.ci_high - by_subject.ci_low > 1.5 * (by_answer.ci_high - by_answer.ci_low)
    assert by_subject.informative and by_subject.p_value < 0.01


def test_bad_input_names_the_lengths():
    with pytest.raises(ValueError, match="y_true has 400 labels but y_pred has 399"):
        label_information(["a"] * 400, ["a"] * 399)
    with pytest.raises(ValueError, match="groups has 3 entries but y_true has 4"):
        label_information(list("abab"), list("abab"), groups=[1, 2, 3])
    with pytest.raises(ValueError, match="not in labels"):
        label_information(list("abc"), list("abc"), labels=["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        label_information([], [])


def test_2000_permutations_of_400_labels_take_well_under_a_second():
    rng = np.random.default_rng(0)
    y_true, y_pred = _labels(rng, 400), _labels(rng, 400)
    groups = np.repeat(np.arange(8), 50)
    label_information(y_true, y_pred, n_permutations=10)                      # warm sklearn's import
    start = time.perf_counter()
    res = label_information(y_true, y_pred, labels=EMOTIONS, groups=groups, n_permutations=2000)
    assert time.perf_counter() - start < 1.0
    assert isinstance(res, InformationTest) and res.n_permutations == 2000


def test_weak_information_that_does_not_hold_across_subjects_is_still_no_evidence():
    """Right on one subject only: the permutation test (within subjects) sees it, the subject bootstrap reaches
    chance; the verdict says both, and that the explanations are not evidence."""
    rng = np.random.default_rng(3)
    truth = [EMOTIONS[i % 4] for i in range(160)]
    groups = [i // 40 for i in range(160)]                   # 4 subjects of 40 answers
    pred = [t if g == 0 else EMOTIONS[int(rng.integers(4))] for t, g in zip(truth, groups)]
    res = label_information(truth, pred, labels=EMOTIONS, groups=groups)
    assert res.p_value < 0.05 and res.ci_low <= res.chance and not res.informative
    sentence = res.verdict()
    assert "at most weak information" in sentence and sentence.endswith("are not evidence.")
