"""Model registry: every smile model version with its metrics and lineage, which one is active,
the promotion gate, and rollback.

Why a gate: a fine-tuned model that fits the team's faces better can silently get worse on everyone
else. A candidate is promoted only if, with a stated confidence (paired bootstrap), it beats the active
model on the frozen validation split of the collected data AND loses at most `margin` ROC-AUC on each
public test set; the decision is printed as a table so a person can see why. Activations are an append-only log, so rollback to any earlier version is one
more activation and the history stays auditable.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

from laughvid.clock import now_iso
from laughvid.config import MODEL_ENV, SHIPPED_MODEL_DIR, Settings, model_override  # noqa: F401 (MODEL_ENV re-exported)
from laughvid.errors import RegistryError
from laughvid.training.metrics import PairedDifference

DEFAULT_MODEL_DIR = SHIPPED_MODEL_DIR


@dataclass
class ModelRecord:
    """One registered model version."""

    version: str
    path: str
    parent: str | None = None
    created_at: str = ""
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # eval set -> metric -> value
    data_versions: list[str] = field(default_factory=list)  # fine-tune set versions it was trained on
    participants: list[str] = field(default_factory=list)  # consent refs of people whose crops trained it
    gate: list[str] = field(default_factory=list)  # the gate table printed when it was registered
    needs_retraining: str | None = None  # why, once data it was trained on has been deleted


@dataclass(frozen=True)
class GateRule:
    """Promote only what the data shows with a stated confidence. On the frozen validation split the
    lower end of the `level` interval of the candidate's ROC-AUC change must be above `min_gain` (it is
    better, not lucky); on every public test set it must be above -`margin` (a drop larger than
    `margin` is ruled out). Intervals: paired bootstrap over `resamples` draws of whole groups.

    `min_groups`: a frozen validation split with fewer groups (people / videos) cannot promote. Why: a
    percentile interval from a handful of groups is too narrow. Measured (docs/finetune.md, Phase 2 on
    video faces): an 8-clip split gave +0.036 [+0.0005, +0.065], and the promoted model then lost
    ROC-AUC and event F1 on the 52 clips held out."""

    margin: float = 0.005
    min_groups: int = 20
    min_gain: float = 0.0
    level: float = 0.95
    resamples: int = 2000


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    lines: tuple[str, ...]
    details: dict = field(default_factory=dict)  # rule, decision and every set's comparison, for the model card

    def __str__(self) -> str:
        return "\n".join(self.lines)


_COLUMNS = "version, path, parent, created_at, metrics_json, data_versions_json, participants_json, gate_json, needs_retraining"


def _record(row: tuple) -> ModelRecord:
    version, path, parent, created, metrics, data, people, gate, retrain = row
    return ModelRecord(version, path, parent, created, json.loads(metrics), json.loads(data), json.loads(people), json.loads(gate), retrain)


def register(conn: sqlite3.Connection, record: ModelRecord) -> ModelRecord:
    """Add a model version (idempotent for the same version and path; metrics are merged)."""
    existing = get(conn, record.version)
    if existing and Path(existing.path).resolve() != Path(record.path).resolve():
        raise RegistryError(f"version {record.version} is already registered at {existing.path}")
    if existing:
        record.metrics = {**existing.metrics, **record.metrics}
    record.created_at = record.created_at or (existing.created_at if existing else now_iso())
    with conn:
        conn.execute(
            f"INSERT OR REPLACE INTO models ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.version,
                str(record.path),
                record.parent,
                record.created_at,
                json.dumps(record.metrics),
                json.dumps(record.data_versions),
                json.dumps(sorted(set(record.participants))),
                json.dumps(list(record.gate)),
                record.needs_retraining,
            ),
        )
    return record


def get(conn: sqlite3.Connection, version: str) -> ModelRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM models WHERE version = ?", (version,)).fetchone()
    return _record(row) if row else None


def list_models(conn: sqlite3.Connection) -> list[ModelRecord]:
    return [_record(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM models ORDER BY created_at, version")]


def activate(conn: sqlite3.Connection, version: str, reason: str) -> None:
    """Make `version` the active model (appends to the activation log; for a model the promotion gate kept
    out, the logged reason says it was activated against the gate, whichever door it came through)."""
    record = get(conn, version)
    if record is None:
        raise RegistryError(f"no model version {version!r} in the registry (see `laughvid models list`)")
    if gate_kept_out(record):
        reason += ", against the promotion gate"
    with conn:
        conn.execute("INSERT INTO model_activations (version, activated_at, reason) VALUES (?, ?, ?)", (version, now_iso(), reason))


def active_version(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT version FROM model_activations ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def activation_log(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(version, activated_at, reason), oldest first."""
    return conn.execute("SELECT version, activated_at, reason FROM model_activations ORDER BY id").fetchall()


def rollback_target(conn: sqlite3.Connection) -> str | None:
    """The model that was active before the current one; None when only one has ever been active."""
    log = [v for v, _, _ in activation_log(conn)]
    return next((v for v in reversed(log) if v != log[-1]), None) if log else None


def rollback(conn: sqlite3.Connection, version: str | None = None) -> str:
    """Re-activate `version`, or by default the model that was active before the current one."""
    version = version or rollback_target(conn)
    if version is None:
        raise RegistryError("nothing to roll back to: only one model has ever been active")
    activate(conn, version, reason="rollback")
    return version


def gate_kept_out(record: ModelRecord) -> bool:
    """Whether the promotion gate decided KEEP (the parent) when this model was trained: its recorded
    table (`promotion_gate`'s lines) says why. False for a model no gate judged (shipped, registered)."""
    return any(re.search(r"(decision: |-> )KEEP ", line) for line in record.gate)


def models_trained_on(conn: sqlite3.Connection, participant_id: str) -> list[str]:
    return [m.version for m in list_models(conn) if participant_id in m.participants]


def models_trained_on_set(conn: sqlite3.Connection, set_dir: str | Path) -> list[str]:
    """Models fine-tuned on the set at `set_dir` (any version of it)."""
    root = Path(set_dir).resolve()
    return [m.version for m in list_models(conn) if any("@" in v and Path(v.split("@", 1)[1]) == root for v in m.data_versions)]


def flag_models(conn: sqlite3.Connection, versions: list[str], reason: str) -> list[str]:
    """Mark these models as needing retraining (data they were trained on has gone); returns them."""
    with conn:
        for v in versions:
            conn.execute("UPDATE models SET needs_retraining = ? WHERE version = ?", (reason, v))
    return versions


def flag_models_trained_on(conn: sqlite3.Connection, participant_id: str, reason: str) -> list[str]:
    """Mark every model trained on this participant's data as needing retraining; returns their versions."""
    return flag_models(conn, models_trained_on(conn, participant_id), reason)


def promotion_gate(
    comparisons: dict[str, PairedDifference],
    validation: list[str],
    public: list[str],
    rule: GateRule = GateRule(),
    names: tuple[str, str] = ("candidate", "active"),
) -> GateDecision:
    """Decide from paired comparisons of the two models measured on the same items NOW (never against
    stale stored figures): see `GateRule`. Why not "F1 must rise": on a few hundred crops F1 moves by
    +-0.01 between two equally good models, so that rule promoted luck and refused real gains."""
    if not validation:
        return GateDecision(False, ("Promotion gate: no frozen validation split to compare on -> KEEP " + names[1],))
    pct = f"{rule.level:.0%}"
    lines = [
        f"Promotion gate: {names[0]} vs {names[1]}, ROC-AUC, paired bootstrap ({rule.resamples} draws of whole groups), {pct} intervals",
        f"  {'set':<22} {'n':>6} {'groups':>6} {names[1][:9]:>9} {names[0][:9]:>9} {'change':>7}  {pct + ' interval':<18} rule",
    ]
    ok = True
    rows = {}

    def row(name: str, bound: float, rule_text: str, min_groups: int = 0) -> None:
        nonlocal ok
        c = comparisons[name]
        passed = c.low > bound and c.groups >= min_groups
        ok &= passed
        rows[name] = {**c.as_dict(), "rule": rule_text, "passed": passed}
        interval = f"[{c.low:+.4f}, {c.high:+.4f}]"
        lines.append(
            f"  {name:<22} {c.n:>6} {c.groups:>6} {c.before:>9.4f} {c.after:>9.4f} {c.change:>+7.4f}  {interval:<18} "
            f"{rule_text:<38} {'PASS' if passed else 'FAIL'}"
        )

    for name in validation:
        row(name, rule.min_gain, f"gain: low end > {rule.min_gain:+.3f}, >= {rule.min_groups} groups", rule.min_groups)
    for name in public:
        row(name, -rule.margin, f"no drop: low end > {-rule.margin:+.3f}")
    decision = f"PROMOTE {names[0]}" if ok else f"KEEP {names[1]}"
    lines.append(
        f"  decision: {decision} (promote only when, at {pct} confidence, it gains on the collected people's held-out "
        f"faces and loses at most {rule.margin:.3f} ROC-AUC on each public test set)"
    )
    for name in validation:
        if not ok and rows[name]["passed"] is False and comparisons[name].groups >= rule.min_groups:
            hint = _inconclusive_gain(comparisons[name], rule.min_gain)
            if hint:
                lines.append(f"  {name}: {hint}")
    few = [name for name in validation if comparisons[name].groups < rule.min_groups]
    if few:
        lines.append(
            f"  {', '.join(few)}: fewer than {rule.min_groups} people/videos, too few to trust an interval; "
            "collect more people or videos (or lower --min-validation-groups knowingly)"
        )
    details = {"rule": asdict(rule), "candidate": names[0], "active": names[1], "decision": decision, "sets": rows}
    return GateDecision(ok, tuple(lines), details)


def _inconclusive_gain(c: PairedDifference, min_gain: float) -> str:
    """For a gain too small to be sure of on this split: how large a split would show one of that size.

    Why: a fine-tune on 1,000 faces gained +0.0097 ROC-AUC on 12,153 held-out faces, yet its 250-face
    frozen split read +0.0039 [-0.0018, +0.0104] and the parent was kept (docs/model.md). "Kept" then
    reads as "no better"; the honest reading is "not sure yet", and what settles it is more faces.
    The interval's reach below the change shrinks with the square root of the number of groups resampled."""
    gain = c.change - min_gain
    if gain <= 0:
        return ""
    below = c.change - c.low  # how far the interval reaches below the change: it shrinks as 1/sqrt(groups)
    scale = (below / gain) ** 2
    if scale <= 1:
        return ""
    return (
        f"inconclusive: {c.change:+.4f} on {c.n} faces ({c.groups} groups), but the interval still holds no gain; "
        f"about {math.ceil(c.n * scale):,} faces ({math.ceil(c.groups * scale):,} groups) would tell a gain this size from luck. "
        "A set's split stays frozen: collect more people into a second set and fine-tune on both "
        "(`laughvid finetune SET NEW_SET`; each set holds back about a quarter of its faces and every split joins the test)"
    )


def resolve_model_dir(model: str | Path | None, conn: sqlite3.Connection | None = None) -> Path:
    """Which model directory to load: an explicit dir or registered version, else env LAUGHVID_MODEL,
    else the registry's active model, else the shipped default."""
    choice = model if model is not None else model_override()
    if choice is not None and Path(choice).is_dir():
        return Path(choice)
    if conn is None:
        from laughvid.store import open_store  # lazy: only when no connection was given

        store_path = Settings.from_env().store_path
        if not store_path.exists():  # no store yet: nothing registered, and loading a model must not create one
            return Path(choice) if choice is not None else DEFAULT_MODEL_DIR
        conn = open_store(store_path)
    if choice is not None:  # a registered version, else a path the loader will report as missing
        record = get(conn, str(choice))
        return Path(record.path) if record else Path(choice)
    version = active_version(conn)
    if version is None:
        return DEFAULT_MODEL_DIR
    path = Path(get(conn, version).path)
    if not path.is_dir():
        raise RegistryError(
            f"the active model {version} is missing from {path}: restore it, or "
            "`laughvid models rollback` / `laughvid models activate VERSION`"
        )
    return path


def record_from_dir(model_dir: str | Path) -> ModelRecord:
    """A registry record from a model directory's card (version, parent, metrics, lineage)."""
    from laughvid.lifecycle.modelcard import ModelCard

    try:
        card = ModelCard.load(model_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise RegistryError(str(exc)) from exc
    if not (Path(model_dir) / "model.onnx").is_file():
        raise RegistryError(f"{model_dir}: no model.onnx")
    lineage = card.training.get("lineage", {})
    return ModelRecord(
        version=card.version,
        path=str(Path(model_dir).resolve()),
        parent=card.parent_version,
        metrics=dict(card.metrics),
        data_versions=list(lineage.get("data_versions", [])),
        participants=list(lineage.get("participants", [])),
    )


def ensure_registered(conn: sqlite3.Connection, model_dir: str | Path) -> ModelRecord:
    """Register a model directory if its version is not known yet; returns the stored record."""
    record = record_from_dir(model_dir)
    return get(conn, record.version) or register(conn, record)


def adopt_shipped_model(conn: sqlite3.Connection, model_dir: str | Path = DEFAULT_MODEL_DIR) -> str | None:
    """The active version; when none has ever been active, register and activate the shipped model
    first, so the registry lists the model actually in use and a rollback can return to it.
    None only when nothing is active and there is no shipped model to adopt."""
    active = active_version(conn)
    if active is None and (Path(model_dir) / "model.onnx").is_file():
        active = ensure_registered(conn, model_dir).version
        activate(conn, active, reason="shipped default")
    return active


def set_dirs_used(conn: sqlite3.Connection) -> list[Path]:
    """Fine-tune set folders that registered models were trained on (data versions read `ft-...@/abs/root`)."""
    return sorted({Path(v.split("@", 1)[1]) for m in list_models(conn) for v in m.data_versions if "@" in v})


def load_classifier(model: str | Path | None = None, conn: sqlite3.Connection | None = None, threads: int = 1):
    """The classifier for a model directory or registered version (None = `$LAUGHVID_MODEL`, else the
    active model, else the shipped one). Resolving a version is the registry's job; the classifier
    itself only ever loads a directory, so inference never depends on the store."""
    from laughvid.pipeline.scoring import SmileClassifier  # lazy: onnxruntime only when a model is loaded

    return SmileClassifier.load(resolve_model_dir(model, conn), threads=threads)
