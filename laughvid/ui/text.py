"""Text the review app must show as written: file names, and messages that hold names or paths.

Why: st.header, st.error, st.toast, button labels... render Markdown (GitHub's, plus Streamlit's
$math$ and :emoji: / :colour[...] directives), so a video named `**bold** [x](http://e.com).mp4`
showed bold text and a link in the page header. Escaping only what can start markup keeps plain
names such as `party_night.mp4` unchanged, so most text reads (and tests match) as before.
"""

from __future__ import annotations

import re

# Backslash-escaped wherever they stand: emphasis, code, strikethrough, links/images and their
# Streamlit directives, HTML and <autolinks>, entities, math, :shortcodes:, e-mail autolinks, headings.
_ANYWHERE = re.compile(r"([\\`*~\[\]<>&$:@#])")
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # `_` emphasises only at a word's edge
# GitHub's autolinks (`www.x.com`) are found in the text after escapes are undone: only an invisible
# word joiner between `www` and its dot stops them. (`http://` and `:material/icon:` need a `/`,
# which no file name holds.)
_WWW = re.compile(r"(?i)(?<=www)\.")
_LINE_START = re.compile(r"^(\s*\d*)([-+=|.)])")  # starts a list ("- ", "1. "), a setext heading or a table


def literal(text: str) -> str:
    """`text` on one line, escaped so Streamlit's Markdown shows every character as written."""
    text = " ".join(str(text).splitlines())
    text = _ANYWHERE.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _WWW.sub("\u2060.", text)
    return _LINE_START.sub(r"\1\\\2", text)
