"""Review a whole video with the keyboard alone (issue 12's 'done when'), and log what each key did.

    .venv/bin/python scripts/walk_keyboard_review.py VIDEO [--home DIR] [--out DIR] [--size 1440x900]

Analyses VIDEO into LAUGHVID_HOME (a temporary one unless --home; an analysis already there is
reused), serves the app with `streamlit run` on 127.0.0.1 and drives Debian Chromium (Playwright)
with `page.keyboard` only once the page has loaded: Tab to the reviewer's name, type it, Esc; `?`;
Enter loops the first segment, then through every pending segment: watch its loop (up to 1.5 s),
a or x (auto-advance loops the next one), and on the way each other key: K pause, I/O bounds,
s split, m merge, Delete + Ctrl+Z + Ctrl+Shift+Z, + and I..O missed laughs; then Tab to 'I have
reviewed the whole video' (Space), 'Export clips' and 'Add to fine-tune set' (Enter). A script
cannot judge a laugh: it accepts a segment whose peak is at least 0.85 and rejects the others (it
exercises the keys, not the model). Prints the figures (segments, keys, time, per-key answer times,
Tabs to each control, every key whose answer never came) and writes a JSON-lines log and
screenshots to --out. Needs the video to be yours to analyse; nothing is committed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ACCEPT_PEAK = 0.85
WATCH_S = 1.5
# The player's element, its Player object (kept on its shadow root) and the focused element.
_EL = "(document.querySelector('[data-testid=lv-player]') || [...document.querySelectorAll('*')].map(e => e.shadowRoot && e.shadowRoot.querySelector('[data-testid=lv-player]')).find(Boolean))"
_STATE = f"""() => {{ const el = {_EL}, pl = el.getRootNode().__laughvid, status = el.querySelector('.lv-status');
  let f = document.activeElement; while (f && f.shadowRoot && f.shadowRoot.activeElement) f = f.shadowRoot.activeElement;
  return {{ sel: pl.selectedIndex(), loop: pl.loop, playing: el.dataset.playing === '1', t: pl.now(), status: status.textContent,
    segments: pl.segments.map(s => [s.start, s.end, s.state, s.peak || 0]),
    focus: f ? (f.getAttribute('aria-label') || f.innerText || f.tagName).trim().slice(0, 60) : '',
    actionsBottom: el.querySelector('.lv-actions').getBoundingClientRect().bottom, statusBottom: status.getBoundingClientRect().bottom,
    videoHeight: el.querySelector('.lv-video').getBoundingClientRect().height, viewport: innerHeight }}; }}"""


class Walk:
    """One browser page, every key logged with how long its answer took."""

    def __init__(self, page, log_path: Path, shots: Path):
        self.page, self.shots = page, shots
        self.log = log_path.open("w")
        self.keys = 0
        self.answers: dict[str, list[float]] = {}
        self.missed: list[str] = []

    def state(self) -> dict:
        return self.page.evaluate(_STATE)

    def press(self, key: str, until: str | None = None, note: str = "", timeout_s: float = 20) -> bool:
        """Press `key`; wait until `until` (JS over the player's `el`, `pl` and `status`) holds."""
        self.keys += 1
        t0 = time.perf_counter()
        self.page.keyboard.press(key)
        ok = True
        if until:
            try:
                self.page.wait_for_function(
                    f"() => {{ const el = {_EL}, pl = el.getRootNode().__laughvid, status = el.querySelector('.lv-status').textContent; return {until}; }}",
                    timeout=timeout_s * 1000,
                )
                self.answers.setdefault(key, []).append(time.perf_counter() - t0)
            except Exception:  # noqa: BLE001 - a missing answer is a finding, logged
                ok = False
                self.missed.append(f"{key} ({note})")
        s = self.state()
        self.log.write(
            json.dumps(
                {
                    "key": key,
                    "ok": ok,
                    "ms": round((time.perf_counter() - t0) * 1000),
                    "note": note,
                    "sel": s["sel"],
                    "status": s["status"],
                    "focus": s["focus"],
                }
            )
            + "\n"
        )
        self.log.flush()
        return ok

    def answer(self, key: str, verb: str, note: str = "") -> bool:
        """A key that stores a change: wait for the server's answer in the status line."""
        return self.press(
            key,
            f"status.startsWith({json.dumps(verb)}) && !status.endsWith('…') || el.querySelector('.lv-status').classList.contains('lv-error')",
            note,
        )

    def tab_to(self, name: str, limit: int = 200) -> int:
        for n in range(1, limit + 1):
            self.keys += 1
            self.page.keyboard.press("Tab")
            if self.state()["focus"].startswith(name):
                return n
        self.missed.append(f"Tab never reached {name!r}")
        return -1

    def idle(self) -> None:
        self.page.wait_for_timeout(250)
        self.page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=300_000)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=self.shots / f"{name}.png")


def review_every_segment(w: Walk) -> dict:
    """Through the pending segments in order; returns what was done how often."""
    done: dict[str, int] = {}
    count = lambda what: done.__setitem__(what, done.get(what, 0) + 1)  # noqa: E731
    w.press("n", "el.dataset.selected !== '-1'", "first segment")
    w.press("Enter", "pl.loop && el.dataset.playing === '1'", "loop it")
    k = 0
    while True:
        s = w.state()
        segs, i = s["segments"], s["sel"]
        for _ in range(5):  # a reviewer presses n until a pending one (after an add or an undo)
            if i >= 0 and segs[i][2] == "pending" or not any(x[2] == "pending" for x in segs):
                break
            w.press("n", None, "to the next pending one")
            s = w.state()
            segs, i = s["segments"], s["sel"]
        if i < 0 or segs[i][2] != "pending":
            return done
        if not s["loop"]:
            w.press("Enter", "pl.loop", "loop again")
        elif not s["playing"]:
            w.press(" ", "el.dataset.playing === '1'", "play the loop")
        k += 1
        start, end, _, peak = segs[i]
        w.page.wait_for_timeout(int(1000 * min(WATCH_S, end - start)))
        if k % 10 == 1:
            w.shot(f"segment_{k:03d}")
        if k % 12 == 2 and end - start > 1.0:
            w.press("k", "el.dataset.playing === '0'", "pause where it starts")
            w.answer("i", "", "start at the playhead")
            w.press(" ", "el.dataset.playing === '1'")
            w.page.wait_for_timeout(400)
            w.press("k", "el.dataset.playing === '0'", "pause where it ends")
            w.answer("o", "", "end at the playhead")
            count("I/O bounds")
            w.press("n", None, "on (the bounds made it accepted)")
            continue
        if k % 12 == 5 and end - start > 1.0:
            w.press("k", "el.dataset.playing === '0'", "pause inside")
            w.answer("s", "split", "split at the playhead")
            w.answer("a", "accepted", "accept the first half")
            w.answer("x", "rejected", "reject the second half")
            count("split")
            continue
        if k % 12 == 8 and i + 1 < len(segs) and segs[i + 1][2] == "pending":
            w.answer("m", "merged", "merge with the next")
            w.answer("a", "accepted", "accept the merged one")
            count("merge")
            continue
        if k % 12 == 10:
            w.answer("Delete", "deleted")
            w.answer("Control+z", "undone", "undo the delete")
            w.answer("Control+Shift+z", "redone", "redo the delete")
            count("delete+undo+redo")
            continue
        key = "a" if peak >= ACCEPT_PEAK else "x"
        w.answer(key, "accepted" if key == "a" else "rejected", f"peak {peak:.2f}")
        count("accept" if key == "a" else "reject")
        s = w.state()
        segs, i, t = s["segments"], s["sel"], s["t"]
        before = max([e for _, e, *_ in segs if e <= t], default=0.0)
        if k % 20 in (7, 17) and i >= 0 and segs[i][0] - before > 3.5:  # a missed laugh in the gap before the next segment
            w.press("k", None, "pause")
            w.press("Escape", "el.dataset.selected === '-1'", "nothing selected")
            for _ in range(3):
                w.press("Shift+ArrowLeft", None, "3 s back")
            if k % 20 == 7:
                w.answer("+", "added", "add 2 s at the playhead")
                count("+ add")
            else:
                w.press("i", "status.startsWith('start marked')", "mark a start")
                w.press("Shift+ArrowRight", None)
                w.answer("o", "added", "add up to the playhead")
                count("I..O add")


def walk(url: str, out: Path, size: tuple[int, int], reviewer: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        page.goto(url)
        page.locator('[data-testid="lv-player"]').wait_for(timeout=300_000)
        w = Walk(page, out / "walk.jsonl", out)
        w.idle()
        t0 = time.perf_counter()
        s = w.state()
        layout = {k: round(s[k]) for k in ("actionsBottom", "statusBottom", "videoHeight", "viewport")}
        w.shot("loaded")
        tabs_reviewer = w.tab_to("Reviewer")
        page.keyboard.type(reviewer)
        w.press("Enter", None, "keep the name")
        w.idle()
        w.press("Escape", None, "leave the box")
        w.press("?", "!el.querySelector('.lv-help').hidden", "the key list")
        w.shot("keys")
        w.press("?", "el.querySelector('.lv-help').hidden")
        segments_before = len(w.state()["segments"])
        done = review_every_segment(w)
        review_s = time.perf_counter() - t0
        w.shot("reviewed")
        w.idle()
        tabs = {}
        for name, key, wait in (
            ("I have reviewed the whole video", " ", re.compile("whole video reviewed")),
            ("Export clips", "Enter", re.compile(r"wrote \d+ file|export failed|[Nn]othing to export")),
            ("Add to fine-tune set", "Enter", re.compile(r"fine-tune set .*crops from this video")),
        ):
            w.page.keyboard.press("Escape")  # from the page's top each time
            w.page.evaluate("() => document.activeElement && document.activeElement.blur()")
            tabs[name] = w.tab_to(name)
            w.keys += 1
            page.keyboard.press(key)
            try:
                page.get_by_text(wait).first.wait_for(timeout=600_000)
            except Exception:  # noqa: BLE001
                w.missed.append(f"{key} on {name!r}: no answer")
            w.idle()
            w.shot(name.split()[0].lower())
        s = w.state()
        browser.close()
    figures = {
        "viewport": f"{size[0]}x{size[1]}",
        "layout_px": layout,
        "segments_at_start": segments_before,
        "segments_at_end": len(s["segments"]),
        "states_at_end": {st: sum(x[2] == st for x in s["segments"]) for st in ("pending", "accepted", "added", "rejected")},
        "done": done,
        "keys_pressed": w.keys,
        "review_minutes": round(review_s / 60, 1),
        "total_minutes": round((time.perf_counter() - t0) / 60, 1),
        "tabs_to": {"Reviewer": tabs_reviewer, **tabs},
        "answer_ms": {
            k: {
                "n": len(v),
                "median": round(1000 * statistics.median(v)),
                "p90": round(1000 * (statistics.quantiles(v, n=10)[-1] if len(v) > 1 else v[0])),
            }
            for k, v in sorted(w.answers.items())
        },
        "no_answer": w.missed,
    }
    (out / "figures.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--home", type=Path, help="LAUGHVID_HOME to use (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "laughvid-walk")
    parser.add_argument("--size", default="1440x900")
    parser.add_argument("--reviewer", default="walk")
    parser.add_argument("--url", help="an app already serving --home (skips analysing and serving)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"needs Debian chromium at {CHROMIUM} (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    size = tuple(int(x) for x in args.size.split("x"))
    if args.url:
        walk(args.url, args.out, size, args.reviewer)
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        store = home / "laughvid.sqlite"
        subprocess.run(
            [
                str(Path(sys.executable).with_name("laughvid")),
                "analyze",
                str(args.video),
                "--out",
                str(Path(tmp) / "out"),
                "--store",
                str(store),
                "--quiet",
            ],
            check=True,
        )
        from tests.app_server import serving

        env = dict(os.environ, LAUGHVID_HOME=str(home))
        env.pop("LAUGHVID_STORE", None)
        with serving("streamlit_app.py", home / "streamlit.log", env) as (url, _port):
            walk(url, args.out, size, args.reviewer)


if __name__ == "__main__":
    main()
