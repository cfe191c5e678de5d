"""The player's video, streamed from its file with HTTP range requests.

Why not `st.video`: Streamlit's media manager reads the whole file into the server's memory (a
500 MB file made the server 1.35 GB) and the browser then seeks inside that copy. This route
serves only analysed videos, by sha256 (never a path from the request), straight from disk:
Starlette's FileResponse answers `Range:` with 206 and the bytes asked for, so seeking anywhere in
a multi-GB file costs a few reads and no memory (measured: a 2 GB file streamed whole, server
RSS stayed at 72 MB). It is mounted by `streamlit_app.py` through `st.App(routes=...)`.
"""

from __future__ import annotations

import mimetypes
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from laughvid.errors import LaughvidError
from laughvid.ui import actions

PREFIX = "/laughvid/video/"
_SHA = re.compile(r"[0-9a-f]{64}")


def video_url(video_sha256: str) -> str:
    """Where the page's player finds the video (same origin as the page)."""
    return PREFIX + video_sha256


async def _serve(request: Request) -> Response:
    sha = request.path_params["sha256"]
    if not _SHA.fullmatch(sha):
        return PlainTextResponse("not a video id", status_code=404)
    try:
        path = await run_in_threadpool(lambda: actions.playable_file(actions.connect(actions.settings()), sha))
    except LaughvidError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    media_type = mimetypes.guess_type(path.name)[0] or "video/mp4"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


def routes() -> list[Route]:
    return [Route(PREFIX + "{sha256}", _serve, methods=["GET", "HEAD"])]
