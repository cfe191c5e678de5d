"""The real thing: Debian Chromium driven by Playwright against `streamlit run` on 127.0.0.1.

upload -> analyse -> click a segment -> accept + edit its bounds -> export clip -> add to the
fine-tune set, then check the files: the clip lasts the edited segment plus padding (within one
frame) and the manifest has the reviewer's smile rows. Screenshots of the main screens go to a temp
dir, or to docs/screenshots/ with LAUGHVID_UPDATE_SCREENSHOTS=1 (`make screenshots`), so a test run
leaves the committed ones alone (they show only project-made media: the shipped sample and a generated video).
`make test` installs chromium when missing (as root); elsewhere this test skips and says why.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import av
import pytest

from laughvid import review
from laughvid.config import SHIPPED_MODEL_DIR
from laughvid.export.clips import ClipOptions
from laughvid.export.crops import read_manifest
from laughvid.pipeline.decode import probe
from laughvid.store import file_sha256, open_store
from tests.app_server import REPO, serving
from tests.media import astronaut_video

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
DOC_SCREENSHOTS = REPO / "docs" / "screenshots"
UPDATE_SCREENSHOTS_ENV = "LAUGHVID_UPDATE_SCREENSHOTS"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A fresh app (empty store in a temp LAUGHVID_HOME) served by `streamlit run`."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium (`make test` installs it when run as root: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="needs the playwright package (dev dependency)")
    if not (SHIPPED_MODEL_DIR / "model.onnx").is_file():
        pytest.skip(f"needs the smile model in {SHIPPED_MODEL_DIR}")
    home = tmp_path_factory.mktemp("laughvid_home")
    env = dict(os.environ, LAUGHVID_HOME=str(home))
    env.pop("LAUGHVID_STORE", None)
    with serving("streamlit_app.py", home / "streamlit.log", env) as (url, _port):
        yield url, home


def _wait_text(page, text: str | re.Pattern) -> None:
    page.get_by_text(text).first.wait_for(timeout=TIMEOUT_MS)


def _idle(page) -> None:
    """Wait until Streamlit has finished the current run (the 'Running...' indicator is gone)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=TIMEOUT_MS)


def _button(page, name: str):
    """A button by its label (icons and shortcut hints are part of the accessible name)."""
    return page.get_by_role("button", name=re.compile(re.escape(name)))


def _click_timeline(page, time_s: float) -> None:
    """Click the timeline above `time_s`, where a user would (plotly's axis maps time to pixels)."""
    chart = page.locator(".js-plotly-plot").first
    chart.scroll_into_view_if_needed()
    x, y = chart.evaluate(
        "(gd, t) => { const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis; return [xa._offset + xa.l2p(t), ya._offset + ya.l2p(0.5)]; }",
        time_s,
    )
    box = chart.bounding_box()
    page.mouse.move(box["x"] + x - 3, box["y"] + y)
    page.mouse.click(box["x"] + x, box["y"] + y)


def _until_shown(page, action, text: str | re.Pattern, attempts: int = 3) -> None:
    """Do `action` until `text` appears. On a loaded machine a late rerun can redraw the page between
    finding an element and using it (the click or upload is lost); a user would simply try again."""
    for attempt in range(attempts):
        try:
            _idle(page)
            action()
            page.get_by_text(text).first.wait_for(timeout=30_000)
            return
        except Exception:
            if attempt == attempts - 1:
                raise


def _click_first_marker(page) -> None:
    marker = page.locator(".js-plotly-plot .scatterlayer .trace").last.locator("path.point").first
    marker.scroll_into_view_if_needed(timeout=10_000)
    box = marker.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # plotly's drag layer takes it


def _video_span(path: Path) -> tuple[float, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [f.time for f in container.decode(stream)]
        return times[-1] - times[0] + 1 / float(stream.average_rate), float(stream.average_rate)


def _screenshot_dir(tmp_path: Path) -> Path:
    """docs/screenshots/ only when asked (`make screenshots`): plain test runs keep the git tree clean."""
    folder = DOC_SCREENSHOTS if os.environ.get(UPDATE_SCREENSHOTS_ENV) == "1" else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def _browser_page(home: Path, name: str):
    """A Chromium page; on failure, a full-page screenshot `<name>.png` beside the server log."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        try:
            yield page
        except Exception:
            page.screenshot(path=home / f"{name}.png", full_page=True)
            print(f"browser test failed: screenshot in {home / f'{name}.png'}, server log in {home / 'streamlit.log'}")
            raise
        finally:
            browser.close()


def test_upload_review_export_in_a_real_browser(app, tmp_path):
    url, home = app
    upload = astronaut_video(tmp_path / "My Clip (1).mp4", seconds=6.0, blank_spans=[(2.0, 3.5)], audio=True)
    shots = _screenshot_dir(tmp_path)
    with _browser_page(home, "failure") as page:
        _walk_through(page, url, upload, shots)
    _check_files(home, upload)


def _walk_through(page, url: str, upload: Path, shots: Path) -> None:
    page.goto(url)
    # First start: the shipped sample is analysed and shown without any upload.
    page.locator(".js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
    _wait_text(page, "two_people_astronaut.mp4")
    _idle(page)
    page.screenshot(path=shots / "timeline.png", full_page=True)
    _click_timeline(page, 0.8)  # before the sample's first laugh: the player seeks there, nothing is selected
    _wait_text(page, re.compile(r"^Playing from 0\.[78]\d s$"))
    _idle(page)

    page.get_by_label("Reviewer").fill("ana")
    page.get_by_label("Reviewer").press("Enter")
    page.get_by_text("Upload videos").click()
    _until_shown(page, lambda: page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload)), "My Clip (1).mp4")
    _button(page, "Analyse").click()
    _wait_text(page, "My_Clip_1.mp4: analysed")  # sanitised name on disk
    _idle(page)
    page.screenshot(path=shots / "upload.png", full_page=True)

    # Click the first segment's marker on the timeline: the player seeks there and the segment is selected.
    _until_shown(page, lambda: _click_first_marker(page), re.compile(r"^Segment 1: "))
    _idle(page)
    _button(page, "Accept").click()
    _wait_text(page, re.compile(r"1 accepted"))  # the caption's count, once the rerun has saved it
    _idle(page)
    start_box = page.get_by_label("Start (s)")
    start_box.fill("0.50")
    start_box.press("Enter")
    _idle(page)
    _button(page, "Save bounds").click()
    _wait_text(page, re.compile(r"Segment 1: 0\.50-"))
    _idle(page)
    page.screenshot(path=shots / "review.png", full_page=True)

    _button(page, "Export clips").click()
    _wait_text(page, re.compile(r"wrote 1 file\(s\)"))
    _button(page, "Add to fine-tune set").click()
    _wait_text(page, re.compile(r"fine-tune set .*crops from this video"))
    _idle(page)
    page.screenshot(path=shots / "export.png", full_page=True)

    # The People panel cuts one face out of the video per raw track, for linking consent face by face.
    _until_shown(page, lambda: page.get_by_text("People in this video").click(), "Register a participant")
    panel = page.locator('[data-testid="stExpander"]').filter(has_text="People in this video")
    panel.get_by_text("raw track 0", exact=True).wait_for(timeout=30_000)
    _idle(page)
    assert panel.locator("img").count() >= 1 and "not linked: blurred when blurring is on" in panel.inner_text()
    panel.screenshot(path=shots / "people.png")


def _check_files(home: Path, upload: Path) -> None:
    sha = file_sha256(upload)
    conn = open_store(home / "laughvid.sqlite")
    (accepted,) = [s for s in review.stored(conn, sha) if s.state == "accepted"]
    assert accepted.start_s == pytest.approx(0.5) and accepted.reviewer == "ana"
    (clip,) = (home / "exports").glob("My_Clip_1-*/clips/*.mp4")
    options = ClipOptions()
    duration, fps = _video_span(clip)
    expected = min(6.0, accepted.end_s + options.post_roll_s) - max(0.0, accepted.start_s - options.pre_roll_s)
    assert duration == pytest.approx(expected, abs=1 / fps)
    rows = [r for r in read_manifest(home / "finetune_set") if r["video_sha256"] == sha]
    assert rows and {r["label"] for r in rows} == {"smile"} and {r["reviewer"] for r in rows} == {"ana"}
    assert all(accepted.start_s <= float(r["time_s"]) < accepted.end_s for r in rows)
    assert all((home / "finetune_set" / r["path"]).is_file() for r in rows)


def test_a_laugh_running_to_the_last_frame_is_reviewed_and_exported(app, tmp_path):
    """Issue 10: selecting a segment that ends on the video's last frame crashed the review section
    (StreamlitValueAboveMaxError) and took the export buttons with it. 56 frames at 30 fps end at
    1.87 s; the last analysed frame (1.8 s) stood for a 0.1 s step, so the smile ended at 1.9 s."""
    url, home = app
    upload = astronaut_video(tmp_path / "smile_to_the_end.mp4", seconds=1.85)
    with _browser_page(home, "failure_last_frame") as page:
        page.goto(url)
        page.locator(".js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
        _idle(page)
        page.get_by_label("Reviewer").fill("bo")
        page.get_by_label("Reviewer").press("Enter")
        _until_shown(page, lambda: page.get_by_text("Upload videos").click(), re.compile(r"^Videos \(up to"))  # open (or reopen) it
        _until_shown(
            page, lambda: page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload)), "smile_to_the_end.mp4"
        )
        _button(page, "Analyse").click()
        _wait_text(page, "smile_to_the_end.mp4: analysed")
        _until_shown(page, lambda: _click_first_marker(page), re.compile(r"^Segment 1: 0\.00-1\.87 s"))
        _idle(page)
        _button(page, "Accept").click()
        _wait_text(page, re.compile(r"1 accepted"))
        _idle(page)
        _button(page, "Export clips").click()
        _wait_text(page, re.compile(r"wrote 1 file\(s\)"))
        assert page.locator('[data-testid="stException"]').count() == 0
    (accepted,) = [s for s in review.stored(open_store(home / "laughvid.sqlite"), file_sha256(upload)) if s.state == "accepted"]
    end = probe(upload).duration_s
    assert accepted.end_s == pytest.approx(end)
    (clip,) = (home / "exports").glob("smile_to_the_end-*/clips/*.mp4")
    duration, fps = _video_span(clip)
    assert duration == pytest.approx(end - max(0.0, accepted.start_s - ClipOptions().pre_roll_s), abs=1 / fps)
