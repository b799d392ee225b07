import numpy as np
import pytest
from sklearn.metrics import f1_score

from e2llm_lab._metrics import classification_metrics
from e2llm_lab.config import EncoderConfig, PretrainConfig
from e2llm_lab.data.samples import load_sample
from e2llm_lab.data.splits import LeakageError
from e2llm_lab.evaluate.protocols import (
    chance,
    confusion_table,
    cross_validate,
    encoder_models,
    logistic_regression,
    make_folds,
    mlp,
)


@pytest.fixture(scope="module")
def fs():
    s = load_sample(n_steps=2)
    return s.subset((s.meta.start_window % 2 == 0).to_numpy())


def test_metrics_against_hand_computation():
    y, p = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0])
    m = classification_metrics(y, p, n_classes=3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    po, pe = 4 / 6, (2 * 2 + 2 * 3 + 2 * 1) / 36
    assert m["kappa"] == pytest.approx((po - pe) / (1 - pe))
    cm = confusion_table(y, p, labels=("a", "b", "c"))
    assert cm.loc["a", "b"] == 1 and cm.to_numpy().sum() == 6


def test_cross_subject_baselines_beat_chance(fs):
    res = cross_validate(fs, {"lr": logistic_regression, "mlp": mlp, "chance": chance}, protocol="loso",
                         progress=False)
    s = res["summary"]["balanced_accuracy_mean"]
    assert s["lr"] > 1 / 7 + 0.2                 # chance is 1/7 = 0.14
    assert s["mlp"] > 1 / 7 + 0.1
    assert abs(s["chance"] - 1 / 7) < 0.08
    per = res["per_subject"]
    assert set(per.subject) == set(range(1, 7)) and (per.groupby("model").size() == 6).all()
    assert res["confusion"]["lr"].to_numpy().sum() == len(fs)


def test_subject_dependent_protocol_is_trial_disjoint(fs):
    (tr, te), = make_folds(fs.meta, "trial")
    key = ["subject", "session", "trial"]
    a = set(map(tuple, fs.meta.iloc[tr][key].to_numpy().tolist()))
    b = set(map(tuple, fs.meta.iloc[te][key].to_numpy().tolist()))
    assert a.isdisjoint(b)
    res = cross_validate(fs, {"lr": logistic_regression}, protocol="trial", progress=False)
    assert res["summary"].loc["lr", "balanced_accuracy_mean"] > 0.5


def test_models_never_see_the_test_subject(fs):
    def spy(train, test):
        assert set(train.meta.subject).isdisjoint(test.meta.subject)
        return np.zeros(len(test), dtype=int)

    res = cross_validate(fs, {"spy": spy}, protocol="kfold", n_splits=3, progress=False)
    assert len(res["per_subject"]) == 6


def test_leaky_folds_are_refused(fs, monkeypatch):
    import e2llm_lab.evaluate.protocols as ev

    idx = np.arange(len(fs))
    monkeypatch.setattr(ev, "make_folds", lambda *a, **k: [(idx[::2], idx[1::2])])
    with pytest.raises(LeakageError):
        cross_validate(fs, {"lr": logistic_regression}, protocol="loso", progress=False)
    with pytest.raises(ValueError, match="allowed"):
        make_folds(fs.meta, "random")


@pytest.mark.slow
def test_encoder_and_probe_beat_chance_cross_subject(fs):
    model = encoder_models(PretrainConfig(selfsup_epochs=1, epochs=8),
                           EncoderConfig(d_model=16, n_heads=2, n_layers=1))
    res = cross_validate(fs, {"encoder": model}, protocol="kfold", n_splits=2, progress=False)
    s = res["summary"]["balanced_accuracy_mean"]
    assert s["encoder"] > 1 / 7 + 0.1 and s["linear_probe"] > 1 / 7 + 0.1


class _Canned:
    """Stands in for E2LLM: answers from a function of the prompt (or of the prompt and its EEG)."""

    n_eeg_tokens = 12

    def __init__(self, answer, signatures=None):
        self.answer, self.signatures = answer, signatures

    def generate(self, prompts, eeg, *, max_new_tokens=256, batch_size=32, **kw):   # prefixes, progress: unread
        assert len(prompts) == len(eeg) and all(e.ndim == 4 for e in eeg)
        try:
            return [self.answer(p, e) for p, e in zip(prompts, eeg)]
        except TypeError:
            return [self.answer(p) for p in prompts]

    def choose_answer_lines(self, prompts, eeg, texts, options, *, batch_size=32):
        """The option whose words the reasoning names (else the first): a stand-in for likelihood scoring."""
        out = []
        for text, opts in zip(texts, options):
            if not opts:
                out.append(text)
                continue
            think = text.split("</think>")[0]
            best = next((o for o in opts if o.split(":")[-1].strip() in think), opts[0])
            out.append(think.rstrip() + " </think>" + best)
        return out


@pytest.fixture(scope="module")
def split(fs):
    test = fs.meta.subject.isin((5, 6)).to_numpy()
    return np.flatnonzero(~test), np.flatnonzero(test)


@pytest.fixture(scope="module")
def sig(fs, split):
    from e2llm_lab.text.rationales import EmotionSignatures

    return EmotionSignatures.fit(fs, split[0])


def _reader(fs, sig):
    """A model that truly reads its EEG: the nearest learned signature, with the reference reasoning for it."""
    from e2llm_lab.emotions import EMOTIONS
    from e2llm_lab.text.rationales import decision_sentence, fit_sentence, rationale, region_band_z

    def answer(prompt, eeg):
        z = region_band_z(eeg[0], fs.ch_names)
        e = EMOTIONS[int(np.argmax(sig.similarity(z)))]
        return (f"<think> {fit_sentence(z, sig)} {rationale(z, emotion=e, signatures=sig)} {decision_sentence(e)} "
                f"</think>\nEmotion: {e}")

    return _Canned(answer, sig)


def test_generation_scoring_counts_unparseable_as_wrong(fs, sig):
    from e2llm_lab.evaluate.generation import evaluate_generation, generation_summary

    idx = np.flatnonzero((fs.meta.subject == 6).to_numpy())[:14]
    truth = fs.meta.emotion.iloc[idx].tolist()
    answers = iter(["<think> x </think>\nEmotion: " + (t if i % 2 == 0 else "??") for i, t in enumerate(truth)])
    res = evaluate_generation(_Canned(lambda p: next(answers), sig), fs, idx, tasks=("emotion",))
    s = generation_summary(res)
    assert s.loc["emotion", "n"] == 14 and s.loc["emotion", "parse_rate"] == pytest.approx(0.5)
    assert s.loc["emotion", "accuracy_free"] == pytest.approx(0.5)
    y = [t for t in truth]
    p = [t if i % 2 == 0 else None for i, t in enumerate(truth)]
    ref = np.mean([np.mean([pi == yi for pi, yi in zip(p, y) if yi == c]) for c in set(y)])
    assert s.loc["emotion", "balanced_accuracy"] == pytest.approx(ref)


def test_evaluation_needs_training_signatures(fs):
    from e2llm_lab.evaluate.generation import evaluate_generation

    with pytest.raises(ValueError, match="signatures"):
        evaluate_generation(_Canned(lambda p: ""), fs, [0], tasks=("emotion",))


def test_scenario_counts_a_chosen_option_only():
    from e2llm_lab.evaluate.generation import _answered, _correct, _emotion_instead
    from e2llm_lab.text.answers import parse_answer

    truth = {"choice": "b", "options": ["fear", "sadness", "anger", "neutral"], "emotions": ["sadness"]}
    assert _correct("scenario", {"choice": "b", "emotion": None}, truth)
    # naming the emotion leaves the feeling -> scene step to the scorer: not an answer to the scenario question
    named = {"choice": None, "emotion": "sadness", "parsed": True}
    assert not _correct("scenario", named, truth) and not _answered("scenario", named, truth)
    assert _emotion_instead("scenario", named, truth) is True
    assert _emotion_instead("scenario", {**named, "emotion": "fear"}, truth) is False
    assert np.isnan(_emotion_instead("scenario", {"choice": "b", "emotion": None}, truth))
    assert _answered("emotion", named, {})
    assert _answered("scenario", {"choice": "d", "emotion": None}, truth)
    assert not _answered("scenario", {"choice": "e", "emotion": None}, truth)            # no option (e)
    compare_format = parse_answer("<think> </think>\nAnswer: Clip B")
    assert compare_format["choice"] == "B" and not _answered("scenario", compare_format, truth)
    assert not _correct("scenario", {"choice": "A", "emotion": None}, truth)           # the compare format


def test_chosen_reads_the_field_each_task_asks_for():
    from e2llm_lab.evaluate.generation import _correct, chosen
    from e2llm_lab.text.answers import parse_answer

    think = "<think> Clip A: It matches fear. Clip B: It matches happiness. </think>"
    assert chosen("compare", parse_answer(think + "\nAnswer: Clip B")) == "B"
    assert chosen("rank", parse_answer(think + "\nAnswer: B > C > A")) == "BCA"
    assert chosen("emotion", parse_answer("<think> </think>\nEmotion: fear")) == "fear"
    assert chosen("valence_arousal", parse_answer("<think> </think>\nValence: negative\nArousal: high")) == \
        ("negative", "high")
    assert chosen("describe", parse_answer("Frontal alpha is higher than usual.")) is None
    assert _correct("valence_arousal", {"valence": "negative", "arousal": "high"},
                    {"valence": "negative", "arousal": "low"}) is False
    assert _correct("rank", {"ranking": "BCA"}, {"ranking": "BCA"}) is True
    assert _correct("describe", {}, {}) is None


def test_kendall_tau_of_rankings():
    from e2llm_lab.evaluate.generation import _kendall

    assert _kendall("ABC", "ABC") == pytest.approx(1.0)
    assert _kendall("CBA", "ABC") == pytest.approx(-1.0)
    assert _kendall("ACB", "ABC") == pytest.approx(1 / 3)
    assert np.isnan(_kendall(None, "ABC"))


def test_faithfulness_reference_scores_one_and_shuffled_scores_lower(fs, split, sig):
    from e2llm_lab.evaluate.generation import faithfulness
    from e2llm_lab.text.instructions import make_example
    from e2llm_lab.text.rationales import region_band_z

    rng = np.random.default_rng(0)
    te = split[1]
    ref, shuf = [], []
    for i, r in enumerate(te[::4]):
        ex = make_example("emotion", [int(r)], fs, rng, n_eeg_tokens=12, signatures=sig)
        z = region_band_z(fs.X[r], fs.ch_names)
        ref.append(faithfulness(ex.answer, z, emotion=ex.truth["emotion"], signatures=sig))
        other = te[(i * 4 + len(te) // 2) % len(te)]             # another sample's reference answer, same subject pool
        z_other = region_band_z(fs.X[other], fs.ch_names)
        shuf.append(faithfulness(ex.answer, z_other, emotion=ex.truth["emotion"], signatures=sig))
    ref, shuf = map(lambda rows: {k: np.nanmean([d[k] for d in rows]) for k in rows[0] if k != "read_back"},
                    (ref, shuf))
    prec = lambda d: d["n_supported"] / d["n_claims"]                           # noqa: E731
    # label-free evidence: every claim true, the named closest signature right, no answer against its own reading
    # (consistency, the share of claims agreeing with the answer's signature, is no longer 1: the label no longer
    # chooses the claims)
    assert prec(ref) == 1.0 and ref["fit_top_correct"] == 1.0 and ref["contradicts_fit"] == 0.0
    assert ref["n_repeated"] == 0 and ref["n_hallucinated"] == 0 and ref["fit_r_error"] < 0.006
    assert prec(shuf) < 0.75 and shuf["fit_top_correct"] < 0.6 and shuf["fit_r_error"] > 0.1


def test_follows_fit_says_whether_the_answer_is_the_signature_its_reasoning_named_closest(fs, split, sig):
    from e2llm_lab.evaluate.generation import faithfulness
    from e2llm_lab.text.rationales import region_band_z

    z = region_band_z(fs.X[split[1][0]], fs.ch_names)
    r = sig.similarity(z)
    first, second = (sig.labels[k] for k in np.argsort(-r)[:2])
    think = (f"<think> Closest learned signatures: {first} (r = {r[sig.labels.index(first)]:+.2f}), {second} "
             f"(r = {r[sig.labels.index(second)]:+.2f}). These match the {{}} signature. </think>\nEmotion: {{}}")
    agrees = faithfulness(think.format(first, first), z, emotion=first, signatures=sig)
    contradicts = faithfulness(think.format(second, second), z, emotion=second, signatures=sig)
    assert agrees["follows_fit"] == 1.0 and contradicts["follows_fit"] == 0.0
    assert agrees["fit_top_correct"] == contradicts["fit_top_correct"] == 1.0         # the stated fit itself is right
    assert np.isnan(faithfulness("<think> These match the fear signature. </think>", z, emotion="fear",
                                 signatures=sig)["follows_fit"])                      # no fit stated: nothing to follow


def test_faithfulness_counts_repeated_and_hallucinated_claims():
    from e2llm_lab.evaluate.generation import faithfulness

    z = np.zeros((11, 5))
    z[REGION_NAMES_INDEX["left_temporal"], 4] = 1.0
    text = ("<think> Left temporal gamma is higher than usual (z = +1.0). Left temporal gamma is higher than usual. "
            "Left occipital gamma is higher than usual. Occipital kappa is lower than usual. </think>\nEmotion: fear")
    out = faithfulness(text, z)
    assert out["n_claims"] == 2 and out["n_supported"] == 2 and out["n_repeated"] == 1
    assert out["n_hallucinated"] == 2 and np.isnan(out["consistency"])


def test_controls_tell_a_reader_from_the_truth(fs, split, sig):
    from e2llm_lab.evaluate.generation import evaluate_generation, generation_summary

    model = _reader(fs, sig)
    real = generation_summary(evaluate_generation(model, fs, split[1], tasks=("emotion",)))
    shuffled = generation_summary(evaluate_generation(model, fs, split[1], tasks=("emotion",), control="shuffled"))
    mean = generation_summary(evaluate_generation(model, fs, split[1], tasks=("emotion",), control="subject_mean"))
    assert real.loc["emotion", "balanced_accuracy"] > 1 / 7 + 0.15
    assert abs(shuffled.loc["emotion", "accuracy"] - 1 / 7) < 0.1          # against the original labels
    # ... but it follows the donor, about as often as it is right on its own EEG
    assert abs(shuffled.loc["emotion", "follows_donor"] - real.loc["emotion", "accuracy"]) < 0.1
    assert mean.loc["emotion", "balanced_accuracy"] == pytest.approx(1 / 7)   # one answer for every sample
    noise = generation_summary(evaluate_generation(model, fs, split[1], tasks=("emotion",), control="noise"))
    assert abs(noise.loc["emotion", "accuracy"] - 1 / 7) < 0.1
    assert noise.loc["emotion", "chance"] == pytest.approx(1 / 7)


def test_evaluate_all_tables_and_html(fs, split, sig, tmp_path):
    from e2llm_lab.evaluate.suite import evaluate_all

    model = _reader(fs, sig)
    model.encoder = _HeadStub(fs, sig)
    report = evaluate_all(model, fs, split[1][::3], train_idx=split[0], n_per_task=6, diagnose=False)
    t = report.tables
    assert {"basic", "confusion", "tasks", "zero_shot_gap", "faithfulness", "controls"} <= set(t)
    assert t["confusion"].to_numpy().sum() == len(split[1][::3])
    assert ("logistic regression", "all") in t["basic"].index and ("encoder head", "all") in t["basic"].index
    assert set(t["controls"].index.get_level_values("control")) == {"none", "shuffled", "subject_mean", "noise"}
    # the audit, 4 x 2 free generation families, 2 grounded, the baselines, the interventions and the read-back
    assert "problems" not in t and t["timings"].ok.all() and len(t["timings"]) == 14
    assert "near-duplicate subjects" in t["audit"].index
    assert ("closest-signature rule", "all") in t["basic"].index and "emotion (grounded)" in t["tasks"].index
    assert set(t["interventions"].index.get_level_values("mode")) == {"free", "grounded"}
    assert "taught rationale, style 'salient'" in t["read_back"].index
    assert t["tasks"].loc["scenario (zero-shot)", "chance"] == pytest.approx(0.25)   # chance set after naming
    html = report.to_html(tmp_path / "eval.html").read_text()
    cells = html.replace("&lt;", "<").replace("&gt;", ">")
    assert "</think><br>Emotion:" in cells and "</think>\\nEmotion" not in cells     # line breaks, not a literal \n
    with pytest.raises(LeakageErrorType):
        evaluate_all(model, fs, split[1], train_idx=split[1][:5])


class _HeadStub:
    """An encoder stand-in whose head is the nearest signature."""

    def __init__(self, fs, sig):
        self.fs, self.sig = fs, sig

    def predict_logits(self, X):
        from e2llm_lab.text.rationales import region_band_z

        return self.sig.similarity(region_band_z(X, self.fs.ch_names))


from e2llm_lab.channels import REGION_NAMES as _RN  # noqa: E402
from e2llm_lab.data.splits import LeakageError as LeakageErrorType  # noqa: E402

REGION_NAMES_INDEX = {r: i for i, r in enumerate(_RN)}


def test_basic_table_survives_unparsed_answers_as_pandas_stores_them():
    """An unparsed answer reaches the table as NaN (pandas 3) or None: it counts as wrong, never a crash."""
    import pandas as pd

    from e2llm_lab.evaluate.suite import _basic
    from e2llm_lab.labels import SEED7

    truth = ["fear", "fear", "happiness", "sadness", "anger", "neutral"]
    answers = pd.DataFrame({"task": "emotion", "zero_shot": False, "subject": [5, 5, 5, 6, 6, 6],
                            "emotion_true": truth,
                            "emotion_pred": pd.Series(["fear", None, "happiness", np.nan, "sad", "not an emotion"],
                                                      dtype=object),
                            "text_free": ["Emotion: fear", "", "Emotion: happy", "", "Emotion: sadness", "??"]})
    assert answers.emotion_pred.isna().sum() == 2
    y_enc = np.array([2, 2, 0, 0, 5, 6])     # integer baselines: fear, fear, happiness, happiness, anger, neutral
    table = _basic(answers, y_enc, None, SEED7)
    llm = table.loc[("LLM (constrained answer line)", "all")]
    assert llm.accuracy == pytest.approx(2 / 6)      # fear, happiness right; None, NaN, wrong word, unknown word wrong
    assert table.loc[("LLM (free answer line)", "all")].accuracy == pytest.approx(2 / 6)   # fear, happy
    assert table.loc[("encoder head", "all")].accuracy == pytest.approx(5 / 6)
    assert table.loc[("chance", "all")].accuracy == pytest.approx(1 / 7)
    np.testing.assert_array_equal(SEED7.indices(["fear", None, np.nan, float("nan"), "Happy", 3, 9, "xyz"]),
                                  [2, -1, -1, -1, 0, 3, -1, -1])


def test_a_family_that_fails_becomes_a_row_and_the_report_keeps_the_rest(fs, split, sig, tmp_path):
    """A control that cannot run (here: a model that breaks on noise) is a row of ``problems``, never a crash; the
    HTML written after each family keeps the finished tables."""
    from e2llm_lab.evaluate.suite import evaluate_all

    reader = _reader(fs, sig)

    def answer(prompt, eeg):
        if np.abs(eeg).max() > 0 and not np.isin(eeg, fs.X).any():      # noise: values found nowhere in the data
            raise RuntimeError("the model broke on this input")
        return reader.answer(prompt, eeg)

    model = _Canned(answer, sig)
    model.encoder = _HeadStub(fs, sig)
    out = tmp_path / "partial.html"
    report = evaluate_all(model, fs, split[1][::3], train_idx=split[0], n_per_task=4, diagnose=False, out=out,
                          verbose=False)
    problems = report.tables["problems"]
    assert list(problems.index) == ["control: noise (tasks)", "control: noise (held-out templates, zero-shot scenario)"]
    assert problems.error.str.contains("RuntimeError: the model broke").all()
    assert "basic" in report.tables and "controls" in report.tables
    assert set(report.tables["controls"].index.get_level_values("control")) == {"none", "shuffled", "subject_mean"}
    assert not report.tables["timings"].loc[problems.index, "ok"].any()
    page = out.read_text()
    assert "the model broke" in page and "logistic regression" in page


def test_nothing_to_score_gives_empty_tables_not_a_crash(fs, split, sig):
    """Rows of one label only: compare and rank are left out with a line; the basic table still builds."""
    from e2llm_lab.evaluate.suite import evaluate_all

    one = split[1][(fs.meta.emotion.iloc[split[1]] == "fear").to_numpy()][:6]
    model = _reader(fs, sig)
    model.encoder = _HeadStub(fs, sig)
    report = evaluate_all(model, fs, one, train_idx=split[0], n_per_task=3, controls=("shuffled",), diagnose=False,
                          verbose=False)
    assert "compare" not in report.tables["tasks"].index and "rank" not in report.tables["tasks"].index
    assert report.tables["basic"].loc[("chance", "all"), "accuracy"] == pytest.approx(1 / 7)


def test_every_permutation_of_a_known_ranking_is_scored_once_right():
    import itertools

    from e2llm_lab.evaluate.generation import _correct, _kendall
    from e2llm_lab.text.answers import parse_answer

    truth = {"ranking": "BCA"}
    scores = {}
    for p in itertools.permutations("ABC"):
        parsed = parse_answer("<think> x </think>\nAnswer: " + " > ".join(p))
        assert parsed["ranking"] == "".join(p)
        scores["".join(p)] = (_correct("rank", parsed, truth), _kendall(parsed["ranking"], truth["ranking"]))
    assert [k for k, (ok, _) in scores.items() if ok] == ["BCA"]
    assert sorted(round(t, 3) for _, t in scores.values()) == [-1.0, -0.333, -0.333, 0.333, 0.333, 1.0]
    assert scores["ACB"][1] == pytest.approx(-1.0)                  # BCA reversed


def test_chance_by_simulation_matches_the_answer_sets(fs, split, sig):
    from e2llm_lab.evaluate.generation import chance_by_simulation
    from e2llm_lab.text.instructions import make_examples

    exs = make_examples(fs, split[1], tasks=("emotion", "valence_arousal", "compare", "rank"), n_per_task=12,
                        n_eeg_tokens=12, signatures=sig)
    exs += make_examples(fs, split[1], tasks=("scenario",), n_per_task=12, n_eeg_tokens=12, signatures=sig,
                         zero_shot=True)
    sim = chance_by_simulation(exs, n_draws=4000)
    expected = {"emotion": 1 / 7, "valence_arousal": 1 / 6, "compare": 1 / 2, "rank": 1 / 6, "scenario": 1 / 4}
    for task, value in expected.items():
        assert sim[task] == pytest.approx(value, abs=0.015), task


def test_clip_readings_inside_multi_clip_reasoning():
    from e2llm_lab.evaluate.generation import clip_reading_accuracy, clip_readings

    think = ("Clip A: Closest learned signature: fear (r = +0.4). Occipital alpha is lower than usual (z = -0.9). "
             "It matches fear. Clip B: It matches happy. Clip C: It matches nonsense. From most to least positive: ...")
    assert clip_readings(think) == {"A": "fear", "B": "happiness", "C": None}
    assert clip_reading_accuracy(think, ["fear", "happiness", "sadness"]) == pytest.approx(2 / 3)
    assert clip_reading_accuracy("Clip A: It matches fear.", ["fear", "anger"]) == pytest.approx(0.5)


def test_basic_table_reads_free_answer_lines_in_the_data_label_space():
    """The free answer line is parsed in the label space of the data, not SEED-VII's: a GAMEEMO answer
    "Emotion: horror" is read as horror (it read as nothing, so the free line scored 0 on every other space)."""
    import pandas as pd

    from e2llm_lab.evaluate.suite import _basic
    from e2llm_lab.labels import GAMEEMO

    truth = ["boring", "calm", "horror", "funny"]
    answers = pd.DataFrame({"task": "emotion", "zero_shot": False, "subject": [1, 1, 2, 2], "emotion_true": truth,
                            "emotion_pred": truth,
                            "text_free": [f"<think> </think>\nEmotion: {t}" for t in ("boring", "calm", "horror",
                                                                                        "calm")]})
    table = _basic(answers, None, None, GAMEEMO)
    assert table.loc[("LLM (free answer line)", "all")].accuracy == pytest.approx(3 / 4)
    assert table.loc[("LLM (constrained answer line)", "all")].accuracy == pytest.approx(1.0)
