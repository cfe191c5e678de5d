"""The review page: upload -> analyse -> scrub the laugh timeline -> review segments -> export.

`main()` sets up the page, opens the store, loads the model, analyses the samples on a first start
and draws the panels in order: sidebar, player-timeline (with the message bar above it), the
segment table, people, export, the library. The panels draw widgets;
every change is an action (`laughvid.ui.actions`) run by a button's callback, so it is saved to the
store before the page is drawn again and the page always shows what the store holds (a refresh or
crash loses nothing).
"""

from __future__ import annotations

import json
import sqlite3

import streamlit as st

from laughvid.ui import actions, export_panel, library_panel, people_panel, player, review_panel, selection, sidebar
from laughvid.ui.messages import flash, show_flashes, show_page

state = st.session_state

# Streamlit's default top padding (6 rem) would push the player's action bar below the fold at 1280x720.
# Toasts at the bottom right: at the top right they covered the message bar saying the same thing.
PAGE_CSS = "<style>.stMainBlockContainer { padding-top: 2.2rem; } .stToastContainer { top: auto !important; bottom: 1rem; }</style>"


@st.cache_resource(show_spinner="Loading the smile model...", max_entries=4)
def load_model(model_dir: str) -> actions.LoadedModel:
    """Keyed by folder: activating another model (here or with `laughvid models`) loads it on the next run."""
    return actions.load_model(model_dir)


@st.cache_resource(show_spinner=False, max_entries=4)
def load_analysis(
    _conn: sqlite3.Connection, store_path: str, analysis_id: int, analysed_as: str, video_path: str, smoothing: actions.SmoothingParams
) -> actions.AnalysisResult:
    """An analysis segmented with `smoothing`, kept across reruns and sessions (a finished analysis
    never changes; a relinked file changes `video_path`, so its record is read again; `analysed_as`
    tells apart the analysis of a store recreated at the same path that reuses the id)."""
    return actions.load_result(_conn, analysis_id, smoothing)


@st.cache_resource(show_spinner=False, max_entries=256)
def auto_segments(
    _conn: sqlite3.Connection,
    store_path: str,
    analysis_id: int,
    analysed_as: str,
    _record: actions.AnalysisRecord,
    smoothing: actions.SmoothingParams,
) -> list[actions.Segment]:
    """The library table's segments of each video at the page's tuning, kept across reruns (a finished
    analysis never changes): recomputed on every rerun they cost 0.6 s per 30-minute video."""
    return actions.auto_segments(_conn, _record, smoothing)


def analysed_as(record: actions.AnalysisRecord) -> str:
    """What an analysis computed: start time, video content, model and parameters. A store recreated at
    the same path reuses analysis ids, and the start time alone is to the second (two short analyses
    can share it); two analyses equal in all four computed the same results."""
    return json.dumps([record.started_at, record.sha256, record.model_version, record.params], sort_keys=True)


def main() -> None:
    """Draw the page; what laughvid refuses (a damaged store...) is shown as the page."""
    st.set_page_config(page_title="laughvid review", page_icon=":smile:", layout="wide")
    st.html(PAGE_CSS)
    show_page(_draw)


def _draw() -> None:
    settings = actions.settings()
    db = actions.connect(settings)
    model = actions.active_model(db, load_model)
    _first_run(db, model)
    choice = sidebar.draw(settings, db, model)
    export_panel.follow_video(choice.record.sha256)  # before anything below can stop the page
    view = actions.open_video(
        db,
        choice.record,
        choice.smoothing,
        lambda conn, analysis_id, smoothing: load_analysis(
            conn, str(settings.store_path), analysis_id, analysed_as(choice.record), choice.record.path, smoothing
        ),
    )
    selection.follow(view.record.sha256, view.items)
    player.draw(settings, view, show_flashes)
    review_panel.draw(settings, view)
    st.subheader("Export")
    people_panel.draw(settings, db, view)
    export_panel.draw(settings, view, choice.card)
    library_panel.draw(
        settings,
        db,
        choice.smoothing,
        lambda record, smoothing: auto_segments(db, str(settings.store_path), record.id, analysed_as(record), record, smoothing),
    )


def _first_run(db: sqlite3.Connection, model: actions.LoadedModel) -> None:
    """An empty library: analyse the shipped samples (once a session) so a new user sees a timeline at once."""
    if not actions.needs_first_run(db) or model.classifier is None or state.get("samples_tried"):
        return
    state.samples_tried = True
    samples = actions.sample_videos()
    if samples:
        why = "First start: analysing the sample video(s) so you can try the review right away"
        bar = st.progress(0.0, text=why)
        # The reason stays above each progress line (the bare 'two_people_astronaut.mp4: 8.9/16.0 s' replaced it at once).
        outcomes = actions.analyse_files(samples, db, model.classifier, lambda frac, text: bar.progress(frac, text=f"{why}  \n{text}"))
        bar.empty()
        for o in outcomes:
            if o.error:
                flash("error", f"sample {o.name}: {o.error}")
