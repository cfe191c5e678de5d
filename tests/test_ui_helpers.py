"""UI helpers without Streamlit: safe uploads, names shown as written, the player-timeline's data."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from dataclasses import replace

import cv2
import numpy as np
import pytest
from starlette.routing import Router

from laughvid import store
from laughvid.pipeline.analyze import load_result
from laughvid.pipeline.decode import iter_batches
from laughvid.pipeline.segments import SmoothingParams
from laughvid.types import ReviewedSegment, ScoreSeries, Segment, VideoInfo
from laughvid.ui import series_route
from laughvid.ui.player import thumbnails
from laughvid.ui.text import literal
from laughvid.ui.timeline_payload import series_payload, timeline_payload
from laughvid.ui.uploads import UploadError, sanitize_name, save_upload
from tests.media import astronaut_video


@pytest.mark.parametrize(
    "name, safe",
    [
        ("../../etc/passwd.mp4", "passwd.mp4"),
        ("C:\\Users\\me\\Clip 1.MOV", "Clip_1.mov"),
        ("Ünïcödé fête.mp4", "Unicode_fete.mp4"),
        (".mp4", "video.mp4"),
        ("noext", "noext"),
    ],
)
def test_names_are_sanitised(name, safe):
    assert sanitize_name(name) == safe


def test_same_name_never_overwrites_and_same_content_is_reused(tmp_path):
    first = save_upload("clip.mp4", io.BytesIO(b"A" * 100), tmp_path)
    second = save_upload("clip.mp4", io.BytesIO(b"B" * 100), tmp_path)
    again = save_upload("other name.mp4", io.BytesIO(b"A" * 100), tmp_path)
    assert (first.path.name, second.path.name) == ("clip.mp4", "clip-2.mp4")
    assert first.path.read_bytes() == b"A" * 100 and second.path.read_bytes() == b"B" * 100
    assert again.reused and again.path == first.path and again.sha256 == first.sha256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip-2.mp4", "clip.mp4"]  # no temp files left


def test_refused_uploads_leave_nothing_behind(tmp_path, monkeypatch):
    with pytest.raises(UploadError, match="upload limit"):
        save_upload("big.mp4", io.BytesIO(b"x" * (2 * 1024 * 1024)), tmp_path, limit_mb=1)
    with pytest.raises(UploadError, match="empty"):
        save_upload("empty.mp4", io.BytesIO(b""), tmp_path)
    with pytest.raises(UploadError, match="not a video file type"):
        save_upload("notes.txt", io.BytesIO(b"hello"), tmp_path)
    monkeypatch.setenv("LAUGHVID_MAX_UPLOAD_MB", "lots")
    with pytest.raises(UploadError, match="whole number"):
        save_upload("a.mp4", io.BytesIO(b"x"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_dangling_symlink_name_gets_the_next_free_name_and_no_temp_file_is_left(tmp_path):
    (tmp_path / "clip.mp4").symlink_to(tmp_path / "gone.mp4")  # a link whose target was deleted
    saved: list = []
    worker = threading.Thread(target=lambda: saved.append(save_upload("clip.mp4", io.BytesIO(b"A" * 100), tmp_path)), daemon=True)
    worker.start()
    worker.join(60)  # a hang guard, not a timing: the old code retried the dangling name forever
    assert not worker.is_alive(), "save_upload never returned"
    [upload] = saved
    assert upload.path.name == "clip-2.mp4" and upload.path.read_bytes() == b"A" * 100
    assert (tmp_path / "clip.mp4").is_symlink() and not (tmp_path / "gone.mp4").exists()  # the link is left alone, not followed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip-2.mp4", "clip.mp4"]


@pytest.mark.parametrize(
    "name, shown",
    [
        ("**bold** [x](e.com).mp4", r"\*\*bold\*\* \[x\](e.com).mp4"),
        ("_x_ and snake_case.mp4", r"\_x\_ and snake_case.mp4"),
        ("- draft.mp4", r"\- draft.mp4"),
        ("12. intro.mp4", r"12\. intro.mp4"),
        ("$x$ <b> &amp; `c` ~~s~~ # :smile:.mp4", r"\$x\$ \<b\> \&amp; \`c\` \~\~s\~\~ \# \:smile\:.mp4"),
        ("www.e.com.mp4", "www\u2060.e.com.mp4"),
        ("two\nlines.mp4", "two lines.mp4"),
        ("party_night.mp4", "party_night.mp4"),
        ("it's (1).mp4", "it's (1).mp4"),
    ],
)
def test_file_names_are_escaped_to_show_as_written_in_markdown(name, shown):
    """What Streamlit's Markdown renders as the literal name (checked in Chromium: tests/test_browser_literal.py);
    plain names stay as they are."""
    assert literal(name) == shown


ITEMS = [ReviewedSegment(Segment(1.0, 2.0, 0.9, 0.8, (1,)), "accepted"), ReviewedSegment(Segment(4.0, 6.0, 0.7, 0.6, (2,)))]


def test_the_player_gets_every_analysed_frame_people_segments_and_the_threshold():
    times = np.arange(0, 8, 0.1)
    series = ScoreSeries(times, np.where(times < 3, 0.904, np.nan))
    tracks = {1: series, 2: ScoreSeries(times, np.full(len(times), 0.2), 2)}
    data = timeline_payload(
        sha256="ab" * 32, url="/v", fps=30.0, duration_s=8.0, problem=None, series_url="/s", items=ITEMS, threshold=0.55
    )
    data |= series_payload(series=series, tracks=tracks, threshold=0.55)
    assert data["frames"][:3] == [0, 100, 200] and len(data["frames"]) == 80  # ms, no frame dropped
    (lane,) = data["lanes"]
    assert lane["threshold"] == data["threshold"] == 0.55
    assert [line["label"] for line in lane["lines"]] == ["any face", "person 1", "person 2"]
    assert lane["lines"][0]["p"][0] == 90 and lane["lines"][0]["p"][-1] is None  # percent; no face = gap
    assert [(s["start"], s["end"], s["state"]) for s in data["segments"]] == [(1.0, 2.0, "accepted"), (4.0, 6.0, "pending")]
    assert json.loads(json.dumps(data)) == data  # plain JSON for the component


def test_the_intensity_lane_follows_the_laugh_lane_on_the_same_frames_and_is_a_note_without_geometry():
    times = np.arange(0, 8, 0.1)
    series = ScoreSeries(times, np.where(times < 3, 0.9, np.nan))
    tracks = {1: series, 2: ScoreSeries(times, np.full(len(times), 0.2), 2)}
    intensity = ScoreSeries(times, np.where(times < 3, 0.734, np.nan))
    per_person = {1: intensity, 2: ScoreSeries(times, np.full(len(times), 0.1), 2)}
    items = [ReviewedSegment(Segment(1.0, 2.0, 0.9, 0.8, (1,), peak_intensity=0.7341)), ReviewedSegment(Segment(4.0, 6.0, 0.7, 0.6, (2,)))]
    common = dict(series=series, tracks=tracks, threshold=0.55)
    data = series_payload(**common, intensity=intensity, track_intensity=per_person)
    laugh, lane = data["lanes"]
    assert lane["title"].startswith("laugh intensity") and lane["threshold"] is None and data["notes"] == []
    assert [line["label"] for line in lane["lines"]] == ["any face", "person 1", "person 2"]
    assert lane["lines"][0]["p"][:2] == [73, 73] and lane["lines"][0]["p"][-1] is None and lane["lines"][2]["p"][0] == 10
    assert all("t" not in line for line in lane["lines"])  # the laugh lane's clock (data["frames"])
    segments = timeline_payload(
        sha256="ab" * 32, url="/v", fps=30.0, duration_s=8.0, problem=None, series_url="/s", items=items, threshold=0.55
    )
    assert [s["intensity"] for s in segments["segments"]] == [0.73, None]

    for old in (None, ScoreSeries(times, np.full(len(times), np.nan))):  # made before face geometry, or with it off
        data = series_payload(**common, intensity=old, track_intensity={})
        assert [lane["title"] for lane in data["lanes"]] == ["laugh probability"]
        assert data["notes"] == [
            "No laugh intensity lane: this analysis has no face geometry (made before it existed, or with it off); analyse the video again to get it."
        ]
    faceless = ScoreSeries(times, np.full(len(times), np.nan))
    data = series_payload(**{**common, "series": faceless, "tracks": {}}, intensity=faceless)
    assert len(data["lanes"]) == 1 and data["notes"] == []  # no face at all: nothing to measure, no note either


def _get(app, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET through the ASGI app (no HTTP client needed): status, headers, body."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, b"".join(m.get("body", b"") for m in sent[1:])


def test_the_series_route_serves_published_curves_cached_for_good_and_nothing_else():
    times = np.arange(0, 8, 0.1)
    series = ScoreSeries(times, np.full(len(times), 0.5))
    built = []
    key = series_route.series_key("store", "ab" * 32, 1, "tuning")
    url = series_route.series_url(key, lambda: built.append(1) or series_payload(series=series, tracks={1: series}, threshold=0.6))
    assert series_route.series_url(key, lambda: built.append(1) or {}) == url and built == [1], "built once per key"
    app = Router(routes=series_route.routes())
    status, headers, body = _get(app, url)
    assert status == 200 and json.loads(body)["frames"][:2] == [0, 100] and json.loads(body)["lanes"][0]["threshold"] == 0.6
    assert "immutable" in headers["cache-control"] and headers["etag"] == f'"{key}"'
    assert _get(app, url, {"If-None-Match": headers["etag"]})[0] == 304
    assert _get(app, series_route.PREFIX + "0" * 32)[0] == 404  # a key nobody published
    assert _get(app, series_route.PREFIX + "..%2F..%2Fetc%2Fpasswd")[0] == 404  # nothing named by the request


def _analysis_in_a_new_store(path, probs):
    """A store made afresh at `path` holding one analysis (id 1) of the same video with these scores."""
    for f in path.parent.glob(path.name + "*"):
        f.unlink()
    conn = store.open_store(path)
    vid = store.upsert_video(conn, "ab" * 32, VideoInfo("/v/a.mp4", 64, 48, 10.0, 3.0, 30))
    rec = store.start_analysis(conn, vid, "m1", {"fps": 10})
    t = np.round(np.arange(30) / 10, 3)
    rows = [(float(ti), 0, 10, 10, 30, 30, 0.9, float(p), True) for ti, p in zip(t, probs, strict=True)]
    store.save_chunk(conn, rec.id, t, rows, {"last_time_s": 2.9}, 1.0)
    store.finish_analysis(conn, rec.id, [])
    return load_result(conn, rec.id, SmoothingParams())


def test_a_store_recreated_at_the_same_path_never_serves_the_old_curves_under_the_new_analysis(tmp_path):
    """The curves' URL is cached by the browser for good: a new analysis reusing the old one's store path,
    video, analysis id and tuning must still get a new URL, and the same curves always the same one."""
    rng = np.random.default_rng(0)
    old, new = rng.random(30), rng.random(30)
    first = _analysis_in_a_new_store(tmp_path / "s.sqlite", old)
    second = _analysis_in_a_new_store(tmp_path / "s.sqlite", new)
    assert (first.record.id, first.record.sha256, first.smoothing) == (second.record.id, second.record.sha256, second.smoothing)
    assert series_route.curves_key(first) != series_route.curves_key(second)
    again = _analysis_in_a_new_store(tmp_path / "s.sqlite", old)
    assert series_route.curves_key(again) == series_route.curves_key(first), "the same curves keep their URL (and the browser's copy)"
    lower = replace(first.smoothing, on_threshold=first.smoothing.on_threshold - 0.1)
    assert series_route.curves_key(replace(first, smoothing=lower)) != series_route.curves_key(first), "the threshold line is drawn too"
    tail = first.series.probs.copy()
    tail[-1] += 1e-9  # a difference deep inside a long array, where its repr shows "..."
    assert series_route.curves_key(replace(first, series=replace(first.series, probs=tail))) != series_route.curves_key(first)


def test_a_rerun_sends_the_player_a_few_kb_whatever_the_video_length():
    """The curves of 30 minutes (two people) go by URL; the per-rerun data holds segments and the URL."""
    times = np.arange(0, 1800, 0.1)
    series = ScoreSeries(times, np.random.default_rng(0).random(len(times)))
    curves = json.dumps(series_payload(series=series, tracks={1: series, 2: series}, threshold=0.6))
    items = [ReviewedSegment(Segment(float(t), float(t) + 2, 0.9, 0.8, (1,))) for t in range(0, 1800, 72)]  # 25 laughs
    rerun = json.dumps(
        timeline_payload(
            sha256="ab" * 32, url="/v", fps=30.0, duration_s=1800.0, problem=None, series_url="/s/k", items=items, threshold=0.6
        )
    )
    assert len(curves) > 200_000 and len(rerun) < 5_000, (len(curves), len(rerun))


def test_the_thumbnail_strip_is_ten_small_jpegs_encoded_once(tmp_path):
    """A 720p video's strip: 320 px JPEGs, upright and whole, cached as they are sent (`st.image` re-encoded
    ten full frames to PNG on every rerun: 80 ms a rerun for 720p, and sent them at full size)."""
    video = astronaut_video(tmp_path / "hd.mp4", seconds=1.0, size=(1280, 720), fps=10)
    times = tuple(float(t) for batch in iter_batches(video) for t in batch.times_s)
    strip = thumbnails(str(video), 0, times)
    assert [t for t, _ in strip] == list(times)
    for _, jpeg in strip:
        assert jpeg[:3] == b"\xff\xd8\xff" and cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (180, 320, 3)
