"""A live explorer (ipywidgets): pick a subject, clip, window, target emotion, method and band; the topomap, the
band x electrode map and the model's generated reasoning update together, each claim of the reasoning marked
supported or not by the sample's measured features.

Attributions are cached per (sample, target, method) (:class:`~e2llm_lab.interpret.attribution.Attributor`) and
the reasoning per sample, so moving back and forth is instant after the first visit.
"""
from __future__ import annotations

import html

import numpy as np

from ..channels import regions_present
from ..evaluate.scoring import choose_answer_lines
from ..text.answers import check_claims
from ..text.chat import eeg_placeholder
from ..text.instructions import TEMPLATES, answer_lines, make_example, with_measured
from ..text.rationales import measured_block, region_band_z
from .attribution import METHODS, Attributor
from .views import plot_attribution_topomap, plot_band_heatmap

__all__ = ["reasoning_html", "evidence_html", "Explorer"]


def _figure_output(fig) -> dict:
    """A plotly figure as a notebook display output: JupyterLab's plotly mimetype, HTML (Colab), plain text."""
    import json

    data = {"application/vnd.plotly.v1+json": json.loads(fig.to_json()),
            "text/html": fig.to_html(full_html=False, include_plotlyjs="cdn"),
            "text/plain": f"Figure: {fig.layout.title.text or ''}"}
    return {"output_type": "display_data", "data": data, "metadata": {}}


def reasoning_html(text: str, z: np.ndarray, *, bands=None) -> str:
    """The generated answer as HTML, every "<region> <band> is higher/lower" claim marked against the features.

    Parameters
    ----------
    text : str
        A generated answer.
    z : np.ndarray, shape (n_regions, n_bands)
        The sample's measured deviations (:func:`~e2llm_lab.text.rationales.region_band_z`).
    bands : sequence of str, optional
        Band names of ``z``'s last axis (default delta..gamma).
    """
    out = html.escape(text)
    for region, band, word, value, ok in check_claims(text, z, bands=bands)["claims"]:
        claim = f"{region.capitalize()} {band} is {word}"
        mark = (f"<span style='background:{'#d4f7d4' if ok else '#f9d0d0'}' title='measured z = {value:+.2f}'>"
                f"{'&#10003;' if ok else '&#10007;'} {claim}</span>")
        out = out.replace(claim, mark, 1)
    return "<div style='white-space:pre-wrap;font-family:monospace;font-size:12px'>" + out + "</div>"


def evidence_html(information=None) -> str:
    """The line shown above a model's reasoning: does its generated label carry information about the truth?

    ``information`` is an :class:`~e2llm_lab.evaluate.InformationTest` (or None: not tested).
    """
    if information is None:
        return ("<p style='color:#8a5a00'><b>Not tested:</b> whether this model's generated labels carry any "
                "information about the truth on held-out subjects. Run the evaluation (its <i>information</i> table) "
                "before reading the reasoning below as evidence.</p>")
    colour = "#1a7f37" if information.informative else "#b00020"
    head = "" if information.informative else "<b>Not evidence.</b> "
    return f"<p style='color:{colour}'>{head}{html.escape(information.verdict())}</p>"


class Explorer:
    """Explore attributions and reasoning of one model over the rows of a FeatureSet.

    Parameters
    ----------
    model : E2LLM or EEGEncoder
        With an E2LLM the reasoning is generated; attributions target the E2LLM (``target="e2llm"``) or its
        encoder (``target="encoder"``, the default: faster).
    fs : FeatureSet
        Of the model's label space, bands and cap (checked); the target list is that label space.
    rows : array of int, optional
        Rows to offer (default: all).
    target : {"encoder", "e2llm"}
    information : InformationTest, optional
        Whether the model's generated labels carry information about the truth on held-out subjects
        (:func:`~e2llm_lab.evaluate.label_information`, the ``information`` table of :func:`evaluate_all`,
        :func:`~e2llm_lab.apps.reference.reference_information`). The explorer shows its verdict above the reasoning;
        when it says the labels carry none, it says plainly that the reasoning is not evidence. Without it, it says
        that this was not tested.

    Attributes
    ----------
    widget : ipywidgets.VBox
        Display it in a notebook.
    """

    def __init__(self, model, fs, rows=None, *, target: str = "encoder", information=None):
        import ipywidgets as w

        if target not in ("encoder", "e2llm"):
            raise ValueError(f"target={target!r}; allowed: 'encoder', 'e2llm'")
        if hasattr(model, "check_features"):
            model.check_features(fs, what="the explorer's features")
        elif hasattr(model, "label_space"):
            model.label_space.check_same(fs.label_space, what="the explorer's features")
        self.model, self.fs = model, fs
        self.rows = np.arange(len(fs)) if rows is None else np.asarray(rows)
        is_llm = hasattr(model, "llm")
        if target == "e2llm" and not is_llm:
            raise ValueError("target='e2llm' needs an E2LLM model")
        net = model if target == "e2llm" else (model.encoder if is_llm else model)
        self.attributor = Attributor(net, ch_names=fs.ch_names, bands=fs.band_names)
        self._reasoning: dict = {}
        meta = fs.meta.iloc[self.rows]
        subjects = sorted(meta.subject.unique().tolist())
        self.subject = w.Dropdown(options=subjects, value=subjects[0], description="subject")
        self.clip = w.Dropdown(description="clip")
        self.window = w.Dropdown(description="window")
        self.emotion = w.Dropdown(options=["(true emotion)", *fs.label_space.labels], value="(true emotion)",
                                  description="target")
        self.method = w.Dropdown(options=list(METHODS), value=METHODS[0], description="method")
        self.band = w.Dropdown(options=["all", *fs.band_names], value="all", description="band")
        self.topomap, self.heatmap, self.reasoning = w.Output(), w.Output(), w.HTML()
        self.status = w.HTML()
        self.evidence = w.HTML(evidence_html(information) if is_llm else "")
        # grounded mode: the toolkit's measured evidence in the prompt, editable, the EEG kept (an evidence edit)
        self.mode = w.ToggleButtons(options=["free", "grounded"], value="free", description="mode")
        self.block = w.Textarea(description="measured", layout=w.Layout(width="95%", height="90px"))
        self.ask = w.Button(description="Ask with this evidence", tooltip="the EEG stays this sample's")
        self.ask.on_click(lambda _: self._show_reasoning())
        self.mode.observe(lambda _: self._show_reasoning(), "value")
        self._update_clips()
        self.subject.observe(lambda _: self._update_clips(), "value")
        self.clip.observe(lambda _: self._update_windows(), "value")
        for c in (self.window, self.emotion, self.method, self.band):
            c.observe(lambda _: self.update(), "value")
        controls = w.VBox([self.subject, self.clip, self.window, self.emotion, self.method, self.band, self.status])
        llm = [w.HTML("<b>Reasoning</b>: free (the model writes its evidence) or grounded (the toolkit's measured "
                      "evidence below is in the prompt; edit it and ask again: the EEG stays this sample's)"),
               self.mode, self.block, self.ask] if is_llm else []
        self.widget = w.VBox([self.evidence, w.HBox([controls, self.topomap]), self.heatmap, *llm, self.reasoning])
        self.update()

    # -- selection ----------------------------------------------------------------------------------------------
    def _meta(self):
        return self.fs.meta.iloc[self.rows]

    def _update_clips(self) -> None:
        m = self._meta()
        m = m[m.subject == self.subject.value]
        clips = sorted({(int(s), int(t), e) for s, t, e in zip(m.session, m.trial, m.emotion)})
        self.clip.options = [(f"session {s}, clip {t} ({e})", (s, t)) for s, t, e in clips]
        self.clip.value = self.clip.options[0][1] if clips else None
        self._update_windows()

    def _update_windows(self) -> None:
        m = self._meta()
        if self.clip.value is None:
            return
        s, t = self.clip.value
        sel = (m.subject == self.subject.value) & (m.session == s) & (m.trial == t)
        self.window.options = [(f"windows from {int(w)}", int(r)) for w, r in zip(m.start_window[sel], self.rows[sel])]
        self.window.value = self.window.options[0][1] if self.window.options else None

    @property
    def row(self) -> int:
        """The FeatureSet row on show."""
        return int(self.window.value)

    # -- drawing ------------------------------------------------------------------------------------------------
    def current(self):
        """The attribution on show (cached)."""
        emotion = self.fs.meta.emotion.iloc[self.row] if self.emotion.value == "(true emotion)" else self.emotion.value
        return self.attributor(self.fs.X[self.row], emotion, self.method.value, key=self.row)

    def measured(self) -> str:
        """The toolkit's measured evidence of the row on show (what grounded mode puts in the prompt)."""
        z = region_band_z(self.fs.X[self.row], self.fs.ch_names)
        return measured_block(z, self.model.signatures, present=regions_present(self.fs.ch_names),
                              bands=self.fs.band_names)

    def answer(self, mode: str = "free", block: str | None = None) -> str:
        """The model's answer about the row on show: free, or grounded in ``block`` (default the measured one; an
        edited block keeps the EEG, so the answer shows whether the evidence moves it). Cached."""
        block = self.measured() if mode == "grounded" and block is None else block
        key = (self.row, mode, block)
        if key not in self._reasoning:
            prompt = TEMPLATES["emotion"][0].format(eeg=eeg_placeholder(self.model.n_eeg_tokens))
            prompt = with_measured(prompt, [block]) if mode == "grounded" else prompt
            ex = make_example("emotion", [self.row], self.fs, np.random.default_rng(0),
                              n_eeg_tokens=self.model.n_eeg_tokens, template=0, signatures=self.model.signatures)
            eeg = [self.fs.X[[self.row]]]
            reasoning = self.model.generate([prompt], eeg, stop_at_think_end=True)
            self._reasoning[key] = choose_answer_lines(self.model, [prompt], eeg, reasoning, [answer_lines(ex)])[0]
        return self._reasoning[key]

    def _show_reasoning(self) -> None:
        if not hasattr(self.model, "llm") or self.window.value is None:
            return
        mode = self.mode.value
        text = self.answer(mode, self.block.value if mode == "grounded" else None)
        z = region_band_z(self.fs.X[self.row], self.fs.ch_names)
        head = ("<h4>The model's reasoning (claims checked against the features)</h4>" if mode == "free" else
                "<h4>The model's decision after the measured evidence above"
                + (" (edited: not this sample's measurement)" if self.block.value != self.measured() else "")
                + "</h4>")
        self.reasoning.value = head + reasoning_html(text, z, bands=self.fs.band_names)

    def update(self) -> None:
        """Redraw everything for the current selection."""
        if self.window.value is None:
            return
        a = self.current()
        values = a if self.band.value == "all" else a.values[..., list(a.bands).index(self.band.value)].sum(0)
        truth = self.fs.meta.emotion.iloc[self.row]
        self.status.value = (f"<b>row {self.row}</b>: truth <b>{truth}</b>; target {a.target}<br>"
                             f"output {a.output:+.3f}, baseline {a.baseline_output:+.3f}"
                             + (f", IG delta {a.delta:.1e}" if a.delta is not None else ""))
        # set the outputs directly (works with and without a kernel, so the explorer is testable headless)
        self.topomap.outputs = (_figure_output(plot_attribution_topomap(
            values, ch_names=a.ch_names, title=f"{a.method}, band: {self.band.value}")),)
        self.heatmap.outputs = (_figure_output(plot_band_heatmap(a, title="band x electrode")),)
        if hasattr(self.model, "llm"):
            self.block.value = self.measured()               # a new row: its own measurement, unedited
            self._show_reasoning()
