"""The files `laughvid analyze` writes per video: timeline.csv, segments.csv, analysis.json.

timeline.csv is the whole-video series (max over faces) with an empty `laugh_prob` where no face
is visible, so spreadsheets show a gap rather than a fake 0; `laugh_intensity` (how big the laugh
is, 0..1) is empty there too, and everywhere for an analysis without face geometry. segments.csv uses the same columns
as the UI's exported lists (laughvid.export.lists). analysis.json holds everything else: video
metadata, model version, analysis and smoothing parameters, per-person observations (and those of
faces seen too briefly to be a person, under "fragments"), warnings.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from laughvid.atomic import write_files_atomic
from laughvid.export.lists import rows as segment_rows
from laughvid.export.lists import to_csv as segments_csv
from laughvid.pipeline.analyze import AnalysisResult
from laughvid.pipeline.timeline import track_average
from laughvid.types import ScoreCache


def _num(value: float, digits: int) -> float | None:
    return None if np.isnan(value) else round(float(value), digits)


def _intensity(result: AnalysisResult) -> np.ndarray:
    """The whole-video intensity on the series' frames (NaN throughout without face geometry)."""
    return result.intensity.probs if result.intensity is not None else np.full(len(result.series.times_s), np.nan)


def timeline_csv(result: AnalysisResult) -> str:
    counts = np.bincount(np.searchsorted(result.series.times_s, result.cache.times_s), minlength=len(result.series.times_s))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time_s", "laugh_prob", "faces", "laugh_intensity"])
    for t, p, n, i in zip(result.series.times_s, result.series.probs, counts, _intensity(result), strict=False):
        writer.writerow([f"{t:.3f}", "" if np.isnan(p) else f"{p:.4f}", int(n), "" if np.isnan(i) else f"{i:.4f}"])
    return buffer.getvalue()


def _track_document(cache: ScoreCache, laugh: np.ndarray, tid: int) -> dict:
    """One person's observations: `prob` is the face's own score, `laugh_prob` the same averaged over
    the person's score window, as the timeline and the segments read it (`mean_prob` and `max_prob`
    summarise the former, `max_laugh_prob` the latter)."""
    mine = cache.track_ids == tid
    return {
        "track_id": tid,
        "start_s": round(float(cache.times_s[mine].min()), 3),
        "end_s": round(float(cache.times_s[mine].max()), 3),
        "mean_prob": round(float(cache.probs[mine].mean()), 4),
        "max_prob": round(float(cache.probs[mine].max()), 4),
        "max_laugh_prob": _num(np.fmax.reduce(laugh[mine]), 4),  # fmax: NaN only where every value is
        "observations": [
            {
                "time_s": round(float(t), 3),
                "box": [round(float(v), 1) for v in box],
                "prob": round(float(p), 4),
                "laugh_prob": _num(a, 4),
                "detected": bool(d),
            }
            for t, box, p, a, d in zip(
                cache.times_s[mine], cache.boxes[mine], cache.probs[mine], laugh[mine], cache.detected[mine], strict=False
            )
        ],
    }


def analysis_document(result: AnalysisResult) -> dict:
    record, cache = result.record, result.cache
    laugh = track_average(cache, result.smoothing.score_window_s)
    return {
        "video": {"path": record.path, "sha256": record.sha256, **asdict(record.info)},
        "model_version": record.model_version,
        "analysis_id": record.id,
        "analysis_params": record.params,
        "smoothing_params": asdict(result.smoothing),
        "from_cache": result.from_cache,
        "warnings": record.warnings,
        "frames_analysed": len(result.series.times_s),
        "frames_with_faces": int(np.count_nonzero(~np.isnan(result.series.probs))),
        "segments": segment_rows(result.segments),
        "tracks": [_track_document(cache, laugh, tid) for tid in sorted(result.tracks)],  # one per person
        "fragments": [_track_document(cache, laugh, tid) for tid in result.fragments],  # faces seen too briefly to be a person
        "timeline": [
            {"time_s": round(float(t), 3), "laugh_prob": _num(p, 4), "laugh_intensity": _num(i, 4)}
            for t, p, i in zip(result.series.times_s, result.series.probs, _intensity(result), strict=False)
        ],
    }


def write_outputs(result: AnalysisResult, out_dir: str | Path) -> Path:
    """Write the three files into `out_dir` (created); returns it. All three or none: a failed
    write (full disk) raises OSError and leaves the previous three files as they were."""
    out = Path(out_dir)
    write_files_atomic(
        {
            out / "timeline.csv": timeline_csv(result),
            out / "segments.csv": segments_csv(result.segments),
            out / "analysis.json": json.dumps(analysis_document(result), indent=1) + "\n",
        }
    )
    return out
