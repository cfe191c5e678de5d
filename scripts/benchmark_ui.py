"""How fast the review page answers, on a long synthetic analysis (no video is decoded).

    .venv/bin/python scripts/benchmark_ui.py [--minutes 30] [--people 2] [--no-browser]

Writes a synthetic score cache (10 analysed fps, N faces) into a temporary LAUGHVID_HOME, then

1. times what every rerun of the app does on the server: load the cache and re-segment it (once per
   analysis and tuning: the app caches it), merge the review state, build the player's data (the
   curves once per analysis and tuning, served by the series route; the per-rerun data and its size),
   and the whole page script per rerun (headless AppTest: Streamlit's element tree included);
2. unless --no-browser, serves the app (`streamlit run`) and drives Debian Chromium (Playwright):
   - keypress -> view updated, for actions that need no server round trip (n: next segment, Right:
     one frame), measured in the page from the key event to the animation frame that shows it;
   - keypress -> stored and answered, for an action that needs a rerun (a: accept, saved to the store,
     the page rerun and the player's status line showing the answer).
   Targets (issue 12): 100 ms and 1 s. Figures are printed as median and 90th percentile.
The video file of the synthetic analysis does not exist: the player shows the timeline without the
picture, which is the same drawing and key handling.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from laughvid import review, store  # noqa: E402
from laughvid.pipeline.analyze import load_result  # noqa: E402
from laughvid.pipeline.segments import SmoothingParams  # noqa: E402
from laughvid.types import VideoInfo  # noqa: E402
from laughvid.ui.timeline_payload import series_payload, timeline_payload  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SHA = "b" * 64

# Runs in the page: press `key` n times; each time, milliseconds until the player's data-<attr>
# changes (the player updates its data-* attributes in the animation frame that draws the change).
_KEY_TO_VIEW = """async ([key, attr, n]) => {
  const find = () => document.querySelector('[data-testid=lv-player]') ||
    [...document.querySelectorAll('*')].map(e => e.shadowRoot && e.shadowRoot.querySelector('[data-testid=lv-player]')).find(Boolean);
  const el = find(), out = [];
  for (let i = 0; i < n; i++) {
    const before = el.dataset[attr], t0 = performance.now();
    window.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
    await new Promise(res => { const poll = () => (el.dataset[attr] !== before ? res() : requestAnimationFrame(poll)); poll(); });
    out.push(performance.now() - t0);
    await new Promise(r => setTimeout(r, 30));
  }
  return out;
}"""

# Press a (accept), then milliseconds until the status line shows the server's answer.
_KEY_TO_STORED = """async ([key, prefix]) => {
  const find = () => document.querySelector('[data-testid=lv-player]') ||
    [...document.querySelectorAll('*')].map(e => e.shadowRoot && e.shadowRoot.querySelector('[data-testid=lv-player]')).find(Boolean);
  const status = find().querySelector('.lv-status'), before = status.textContent, t0 = performance.now();
  window.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
  await new Promise(res => { const poll = () => (status.textContent.startsWith(prefix) && status.textContent !== before ? res() : requestAnimationFrame(poll)); poll(); });
  return performance.now() - t0;
}"""


def synthetic_store(path: Path, minutes: float, people: int) -> int:
    """A finished analysis of a `minutes`-long 1280x720 30 fps video: laughs come and go per person."""
    conn = store.open_store(path)
    seconds = minutes * 60
    video_id = store.upsert_video(conn, SHA, VideoInfo("bench.mp4", 1280, 720, 30.0, seconds, int(seconds * 30)))
    record = store.start_analysis(conn, video_id, "bench", {"fps": 10})
    times = np.arange(int(seconds * 10)) / 10
    rng = np.random.default_rng(0)
    rows = []
    for person in range(people):
        laugh = np.sin(times / (17 + 5 * person)) > 0.8
        probs = np.clip(0.15 + 0.7 * laugh + rng.normal(0, 0.05, len(times)), 0, 1)
        box = (100 + 300 * person, 100, 200 + 300 * person, 200)
        rows += [(float(t), person, *box, 0.9, float(p), 1) for t, p in zip(times, probs, strict=False)]
    store.save_chunk(conn, record.id, times, rows, {}, 1.0)
    store.finish_analysis(conn, record.id, [])
    print(f"{minutes:g} min at 10 analysed fps, {people} face(s): {len(rows):,} cached face scores")
    return record.id


def server_side(path: Path, analysis_id: int, minutes: float) -> None:
    conn = store.open_store(path)
    for threshold in (0.5, 0.6, 0.7):
        t0 = time.perf_counter()
        result = load_result(conn, analysis_id, SmoothingParams(on_threshold=threshold))
        t1 = time.perf_counter()
        items = review.review_list(result.segments, conn, SHA)
        t2 = time.perf_counter()
        curves = json.dumps(series_payload(series=result.series, tracks=result.tracks, threshold=threshold))
        t3 = time.perf_counter()
        data = json.dumps(
            timeline_payload(
                sha256=SHA,
                url="/v",
                fps=30.0,
                duration_s=minutes * 60,
                problem=None,
                series_url="/laughvid/series/" + "0" * 32,
                items=items,
                threshold=threshold,
            )
        )
        t4 = time.perf_counter()
        print(
            f"  threshold {threshold}: load + re-segment {t1 - t0:.2f} s ({len(items)} segments; cached by the app after the first run), "
            f"review merge {1000 * (t2 - t1):.1f} ms, curves {1000 * (t3 - t2):.0f} ms ({len(curves) / 1e6:.2f} MB, once per "
            f"analysis and tuning, from the series route), player data per rerun {1000 * (t4 - t3):.1f} ms ({len(data) / 1e3:.1f} kB)"
        )


def whole_rerun(home: Path, reruns: int) -> None:
    """The page's whole script per rerun (Streamlit's element tree included), headless, after the first run."""
    from streamlit.testing.v1 import AppTest

    os.environ["LAUGHVID_HOME"] = str(home)
    os.environ.pop("LAUGHVID_STORE", None)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "streamlit_app.py"), default_timeout=300)
    at.query_params["video"] = SHA[:16]
    at.run()
    ms = []
    for _ in range(reruns):
        t0 = time.perf_counter()
        at.run()
        ms.append(1000 * (time.perf_counter() - t0))
    (player,) = at.get("bidi_component")
    print(f"  whole page rerun (AppTest): {len(player.proto.json) / 1e3:.1f} kB to the player")
    summary("page script per rerun", ms, 1000)


def load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def summary(name: str, ms: list[float], target_ms: float) -> None:
    q = statistics.quantiles(ms, n=10)[-1] if len(ms) >= 2 else ms[0]
    print(
        f"  {name}: median {statistics.median(ms):.0f} ms, 90th percentile {q:.0f} ms over {len(ms)} presses "
        f"(target {target_ms:.0f} ms; {load()})"
    )


def in_browser(home: Path, presses: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.app_server import serving

    env = dict(os.environ, LAUGHVID_HOME=str(home))
    env.pop("LAUGHVID_STORE", None)
    with serving("streamlit_app.py", home / "streamlit.log", env) as (url, _port), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{url}/?reviewer=bench&video={SHA[:16]}")
        page.locator('[data-testid="lv-player"]').wait_for(timeout=300_000)
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=300_000)
        page.wait_for_timeout(1000)
        print("in Chromium (1440x900), keypress -> view:")
        summary("n (next segment, no round trip)", page.evaluate(_KEY_TO_VIEW, ["n", "selected", presses]), 100)
        summary("Right (one frame, no round trip)", page.evaluate(_KEY_TO_VIEW, ["ArrowRight", "time", presses]), 100)
        page.keyboard.press("Home")
        page.keyboard.press("n")
        stored = []
        for _ in range(max(3, presses // 2)):
            stored.append(page.evaluate(_KEY_TO_STORED, ["a", "accepted"]))
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)
        summary("a (accept: stored, page rerun, answer shown)", stored, 1000)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--people", type=int, default=2)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        analysis_id = synthetic_store(home / "laughvid.sqlite", args.minutes, args.people)
        print("server side, per rerun:")
        server_side(home / "laughvid.sqlite", analysis_id, args.minutes)
        whole_rerun(home, args.presses)
        if not args.no_browser:
            if not Path(CHROMIUM).exists():
                sys.exit(f"no browser figures: needs Debian chromium at {CHROMIUM} (apt-get install chromium)")
            in_browser(home, args.presses)


if __name__ == "__main__":
    main()
