"""The player's curves (analysed frame times, laugh and intensity lines), served once per analysis
and tuning from their own URL, so that a rerun sends the player only what changed.

Why: the curves of a 30-minute analysis are ~0.37 MB of JSON, and the component's data travels on
every rerun (each accept, each edit). They change only with the analysis and the tuning, so the page
publishes them here under a key made of the curves themselves (`curves_key`, `series_url`) and hands
the player the URL; the player fetches each URL once and keeps the curves across reruns, and the
browser caches the answer for good (`immutable`, ETag = the key). A key of names (store path, analysis
id, tuning) was not enough: a store recreated at the same path reuses analysis ids, and the browser
would show the old analysis' curves for the new one. Only what the page itself published is served (curves of
analyses it loaded from the store), never anything named by the request; a key nobody published
(or one evicted long ago) is a 404. Mounted with the video route by `streamlit_app.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from laughvid.ui import actions

PREFIX = "/laughvid/series/"
KEEP = 16  # published curves kept in memory (0.4 MB each for 30 minutes): tabs x tunings in use
_KEY = re.compile(r"[0-9a-f]{32}")
CACHE_CONTROL = "private, max-age=31536000, immutable"

_published: OrderedDict[str, bytes] = OrderedDict()
_lock = threading.Lock()


def series_key(*parts: Any) -> str:
    """A key for what determines the curves: same parts, same key. Arrays count by their bytes (the
    repr of a long one elides its middle), the rest by repr."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(f"{part.dtype.str}{part.shape}".encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def curves_key(result: actions.AnalysisResult, names: actions.PersonNames = actions.PersonNames()) -> str:
    """The key of what the player draws of `result`: its frame times, the threshold line, each line's
    values (laugh probability and intensity, whole video and per person) and the people's names in the
    legend (a face linked or unlinked renames its line). Other curves never share it, whatever store or
    analysis id they came from."""
    parts: list[Any] = [result.smoothing.on_threshold, result.series.times_s, sorted(names.linked.items())]
    for lane, whole, people in (("laugh", result.series, result.tracks), ("intensity", result.intensity, result.track_intensity)):
        for line in ([] if whole is None else [whole]) + list(people.values()):
            parts += [lane, line.track_id, line.probs]
    return series_key(*parts)


def series_url(key: str, build: Callable[[], dict[str, Any]]) -> str:
    """Publish `build()` under `key` (built once; later calls only touch it) and say where it is."""
    with _lock:
        if key in _published:
            _published.move_to_end(key)
            return PREFIX + key
    body = json.dumps(build(), separators=(",", ":")).encode()
    with _lock:
        _published[key] = body
        while len(_published) > KEEP:
            _published.popitem(last=False)
    return PREFIX + key


def published(url: str) -> dict[str, Any] | None:
    """What a series URL serves, or None (for tests and the benchmark)."""
    with _lock:
        body = _published.get(url.removeprefix(PREFIX))
    return None if body is None else json.loads(body)


async def _serve(request: Request) -> Response:
    key = request.path_params["key"]
    with _lock:
        body = _published.get(key) if _KEY.fullmatch(key) else None
    if body is None:
        return PlainTextResponse("no such timeline data: reload the page", status_code=404)
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": f'"{key}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def routes() -> list[Route]:
    return [Route(PREFIX + "{key}", _serve, methods=["GET", "HEAD"])]
