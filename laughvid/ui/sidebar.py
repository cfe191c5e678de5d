"""The sidebar: who reviews, uploads, the model versions, the library and the tuning sliders."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import streamlit as st

from laughvid.config import VIDEO_TYPES, Settings
from laughvid.ui import actions
from laughvid.ui.messages import flash, run_op, show_flashes
from laughvid.ui.text import literal
from laughvid.ui.uploads import max_upload_mb

URL_SHA_CHARS = 16  # the video in the address: enough of its sha256 to be unique in any library
TUNING_KEYS = ("t_on", "t_gap", "t_median", "t_min", "t_merge")  # in the order of actions.Tuning's fields

state = st.session_state


@dataclass(frozen=True)
class Choice:
    """What the sidebar picked for the page: the video, how to segment it, the card of its model."""

    record: actions.AnalysisRecord
    smoothing: actions.SmoothingParams
    card: actions.ModelCard | None  # None when the model that scored the video is gone


def draw(settings: Settings, db: sqlite3.Connection, model: actions.LoadedModel) -> Choice:
    """Draw the sidebar; stops the page when the library is empty (nothing to review yet). The video
    picker comes before the models, so it is on screen at 1280x720 (below them it was under the fold)."""
    with st.sidebar:
        st.title("laughvid")
        if "reviewer" not in state:  # a reload (new session) starts from the link: ?reviewer=...&video=...
            state.reviewer = st.query_params.get("reviewer", "")
        st.text_input("Reviewer", key="reviewer", placeholder="your name (saved with every change)")
        _to_url("reviewer", state.reviewer.strip())
        _uploads(settings, db, model)
        record = _library(db)
        card = actions.model_card_for(record.model_version, db, model.classifier.card if model.classifier else None) if record else None
        if record:
            active = f"; active model: {model.classifier.version}" if model.classifier else ""
            st.caption(f"This video was scored by **{record.model_version}**{active}")
        _models(settings, db, model)
        if record is None:
            show_flashes()  # no page to hold the message bar: what the upload did is said here
            st.stop()
        if record.model_version != state.get("model_pick"):
            licence_notice(card, "This video's model")
        return Choice(record, _tuning(), card)


def licence_notice(card: actions.ModelCard | None, whose: str) -> None:
    """The terms a model may be used under: NON-COMMERCIAL when its training data forbids commercial use."""
    if card is None:
        st.warning(f"{whose}: model card not found, licence terms unknown.")
        return
    if card.non_commercial:
        st.error(f"{whose}: NON-COMMERCIAL use only: {card.version} was trained on data whose terms forbid commercial use.")
    with st.expander(f"Licence terms of {card.version}"):
        for term in card.terms:
            st.markdown(f"- {term}")


def _uploads(settings: Settings, db: sqlite3.Connection, model: actions.LoadedModel) -> None:
    """Any file is taken (a browser-side type filter refuses with only a red icon); what laughvid cannot
    read is refused by the library with a message in the page's message bar, naming the file. Once
    analysed, the box is emptied (a new key): the files stayed listed under Analyse as if still to do."""
    with st.expander("Upload videos", expanded=not actions.library(db)):
        files = st.file_uploader(
            f"Videos (up to {max_upload_mb()} MB each; {', '.join(VIDEO_TYPES)})",
            accept_multiple_files=True,
            key=f"uploads_{state.get('uploads_done', 0)}",
        )
        if st.button("Analyse", disabled=not files or model.classifier is None, key="analyse", type="primary"):
            bar = st.progress(0.0, text="saving uploads")
            outcomes = actions.upload_and_analyse(
                [(f.name, f) for f in files], settings.uploads_dir, db, model.classifier, lambda frac, text: bar.progress(frac, text=text)
            )
            bar.empty()
            for o in outcomes:
                flash(*(("error", o.error) if o.error else ("success", f"{o.name}: analysed")))
            done = [o for o in outcomes if o.result]
            if done:
                state.video = done[-1].result.record.sha256
            state.uploads_done = state.get("uploads_done", 0) + 1
            st.rerun()


def _models(settings: Settings, db: sqlite3.Connection, model: actions.LoadedModel) -> None:
    st.subheader("Model")
    choices = {c.version: c for c in actions.model_choices(db)}
    if choices:
        if state.get("model_pick") not in choices:
            state.model_pick = next((v for v, c in choices.items() if c.active), next(iter(choices)))
        st.selectbox(
            "Model versions",
            list(choices),
            key="model_pick",
            format_func=lambda v: choices[v].label,
            help="registered models; new analyses use the active one (also `laughvid models list`)",
        )
        picked = choices[state.model_pick]
        licence_notice(picked.card, "Selected model")
        target = actions.rollback_target(db)
        buttons = st.columns(2)
        buttons[0].button(
            "Activate",
            key="model_activate",
            disabled=picked.active,
            width="stretch",
            on_click=lambda: run_op(settings, actions.activate_model, state.model_pick, ok="active model: {result} (new analyses use it)"),
        )
        buttons[1].button(
            "Roll back",
            key="model_rollback",
            disabled=target is None,
            width="stretch",
            help=f"re-activate {target}" if target else "only one model has ever been active",
            on_click=lambda: run_op(settings, actions.rollback, ok="rolled back: the active model is {result}"),
        )
    if note := actions.model_override_note():
        st.caption(literal(note))
    if model.error:
        st.error(literal(model.error))


def _library(db: sqlite3.Connection) -> actions.AnalysisRecord | None:
    """The video picked in the library, or None when nothing is analysed yet."""
    videos = actions.library(db)
    if not videos:
        st.warning("No analysed videos yet: upload one above.")
        return None
    shas = [v.sha256 for v in videos]
    if state.get("video") not in shas:
        linked = st.query_params.get("video", "")
        state.video = next((s for s in shas if linked and s.startswith(linked)), shas[0])
    st.selectbox(
        "Library", shas, key="video", format_func=lambda s: next(f"{v.name} ({v.info.duration_s:.0f} s)" for v in videos if v.sha256 == s)
    )
    _to_url("video", state.video[:URL_SHA_CHARS])
    return next(v for v in videos if v.sha256 == state.video)


def _to_url(name: str, value: str) -> None:
    """Keep the reviewer and the video in the page's address, so a reload or a shared link opens the same."""
    if (st.query_params.get(name) or "") != value:
        if value:
            st.query_params[name] = value
        else:
            del st.query_params[name]


def _tuning() -> actions.SmoothingParams:
    st.subheader("Tuning")
    defaults = dict(zip(TUNING_KEYS, actions.Tuning.default().values(), strict=True))
    for key, value in defaults.items():
        state.setdefault(key, value)

    def reset() -> None:
        for key, value in defaults.items():
            state[key] = value

    st.slider("Threshold", 0.05, 0.95, step=0.01, key="t_on", help="a laugh starts when the smoothed score reaches this")
    st.slider("Hysteresis", 0.0, 0.5, step=0.01, key="t_gap", help="...and ends when it falls this far below the threshold")
    st.slider("Smoothing (s)", 0.0, 3.0, step=0.1, key="t_median", help="median filter width")
    st.slider("Minimum length (s)", 0.0, 5.0, step=0.1, key="t_min")
    st.slider("Merge gaps shorter than (s)", 0.0, 5.0, step=0.1, key="t_merge")
    st.button("Reset to model defaults", on_click=reset)
    return actions.Tuning(*(state[key] for key in TUNING_KEYS)).smoothing()
