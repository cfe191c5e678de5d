"""File names shown by Streamlit's Markdown (headers, alerts, toasts, button labels) read in Chromium
exactly as written: no bold, code, list, link or emoji made of a name. The app sends names through
`laughvid.ui.text.literal` (tests/test_app.py checks that it does); this checks what the escaping
renders to, which only a browser running Streamlit's own Markdown pipeline can tell."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app_server import serving
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

pytestmark = [pytest.mark.browser]

NAMES = [
    "**bold** [x](e.com).mp4",
    "**bold** [x](www.e.com).mp4",
    "party_night.mp4",
    "- draft.mp4",
    "12. intro.mp4",
    "1) a.mp4",
    "_x_ y.mp4",
    "www.evil.com.mp4",
    "a@b.com.mp4",
    ":smile: :red[x] :blue-background[y].mp4",
    "$x^2$.mp4",
    "<b>hi</b>.mp4",
    "&copy;.mp4",
    "`code`.mp4",
    "~~s~~ ~t~.mp4",
    "# h.mp4",
    "a\\b\\*c.mp4",
    "---",
    "3.5 s.mp4",
    "> quote.mp4",
    "![i](x.png).mp4",
    "*a* __b__ ***c***.mp4",
    "a|b|c.mp4",
    "<https:x>.mp4",
    "[a]: x.mp4",
    "it's (1).mp4",
    "+ plus.mp4",
    "== eq",
    "snake_case_name_.mp4",
]

APP = """
import streamlit as st
from laughvid.ui.text import literal
for i, name in enumerate({names!r}):
    st.header(literal(name))
    st.error(f"{{literal(name)}}: analysed")
    st.button(literal(name), key=f"b{{i}}")
"""


def test_escaped_names_render_as_written(tmp_path: Path):
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium (`make test` installs it when run as root)")
    sync_playwright = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (dev dependency)").sync_playwright
    script = tmp_path / "names_app.py"
    script.write_text(APP.format(names=NAMES))
    with serving(script, tmp_path / "streamlit.log") as (url, _port):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url, timeout=TIMEOUT_MS)
            buttons = page.locator("[data-testid=stButton] button")
            buttons.nth(len(NAMES) - 1).wait_for(timeout=TIMEOUT_MS)

            def texts(selector: str) -> list[str]:
                return [t.replace("\u2060", "").strip() for t in page.locator(selector).all_inner_texts()]

            assert texts("[data-testid=stHeading]") == NAMES
            assert texts("[data-testid=stAlertContentError]") == [f"{n}: analysed" for n in NAMES]
            assert texts("[data-testid=stButton] button") == NAMES
            made = "strong, em, code, del, img, ul, ol, blockquote, table, a[href]:not([href^='#'])"
            assert (
                page.locator(
                    f"[data-testid=stHeading] :is({made}), [data-testid=stAlert] :is({made}), [data-testid=stButton] :is({made})"
                ).count()
                == 0
            )
            browser.close()
