"""`laughvid models ...`: list the registered smile models, show one, activate, roll back, register."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from laughvid.cli import EXIT_OK
from laughvid.lifecycle import registry
from laughvid.store import open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list, show, activate or roll back smile model versions")
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="registered versions (* = active)").set_defaults(func=_list)
    show = actions.add_parser("show", help="one version: lineage, metrics, the gate it passed")
    show.add_argument("version")
    show.set_defaults(func=_show)
    act = actions.add_parser("activate", help="make a version the active model (UI and analyze use it)")
    act.add_argument("version")
    act.set_defaults(func=_activate)
    back = actions.add_parser("rollback", help="re-activate the previous model, or VERSION")
    back.add_argument("version", nargs="?")
    back.set_defaults(func=_rollback)
    add = actions.add_parser("register", help="register a model directory (model.onnx + model_card.json)")
    add.add_argument("model_dir")
    add.add_argument("--activate", action="store_true", help="also make it the active model")
    add.set_defaults(func=_register)


def shared_eval_set(models: list[registry.ModelRecord]) -> str | None:
    """The evaluation set most of `models` have figures on (of those, the largest): one column must
    compare like with like. Each model's own first set did not: a fine-tune's is its 30 held-out faces
    (F1 1.000), the shipped model's the public validation split (0.869), although the gate kept the latter."""
    counts = Counter(name for m in models for name in m.metrics)
    size = {name: figures.get("n", 0) for m in reversed(models) for name, figures in m.metrics.items()}
    return max(counts, key=lambda name: (counts[name], size[name])) if counts else None


def format_table(conn) -> str:
    """The `models list` table."""
    active = registry.active_version(conn)
    models = registry.list_models(conn)
    if not models:
        return (
            f"no models registered yet: the shipped default {registry.DEFAULT_MODEL_DIR} is used "
            "(`laughvid train` and `laughvid finetune` register the models they make)"
        )
    shared = shared_eval_set(models)
    lines = [f"  {'version':<30} {'parent':<30} {'created':<20} {'F1/AUC on ' + (shared or '-'):<28} note"]
    for m in models:
        on = m.metrics.get(shared)
        figures = f"{on.get('f1', float('nan')):.3f}/{on.get('roc_auc', float('nan')):.3f}" if on else "-"
        notes = ["kept out by the promotion gate" if registry.gate_kept_out(m) else ""]
        notes.append(f"NEEDS RETRAINING: {m.needs_retraining}" if m.needs_retraining else "")
        note = "; ".join(n for n in notes if n)
        lines.append(
            f"{'*' if m.version == active else ' '} {m.version:<30} {m.parent or '-':<30} {m.created_at[:19]:<20} {figures:<28} {note}"
        )
    if active is None:
        lines.append(f"(no active model registered: the shipped default {registry.DEFAULT_MODEL_DIR} is used)")
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    print(format_table(open_store()))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    conn = open_store()
    record = registry.get(conn, args.version)
    if record is None:
        raise registry.RegistryError(f"no model version {args.version!r} (see `laughvid models list`)")
    print(f"version {record.version}{'  (active)' if registry.active_version(conn) == record.version else ''}")
    print(f"path {record.path}\nparent {record.parent or '-'}\ncreated {record.created_at}")
    print(f"fine-tune data versions: {', '.join(record.data_versions) or '-'}")
    print(f"participants whose data trained it: {len(record.participants)}")
    if record.needs_retraining:
        print(f"NEEDS RETRAINING: {record.needs_retraining}")
    for name, m in record.metrics.items():
        print(f"  {name:<32} " + " ".join(f"{k} {v:.3f}" for k, v in m.items() if k in ("roc_auc", "pr_auc", "f1", "balanced_accuracy")))
    if record.gate:
        print("\n".join(record.gate))
    return EXIT_OK


def _activate(args: argparse.Namespace) -> int:
    """Does what it is asked, as a registry's manual override does, but never silently against the gate:
    its recorded decision and table go to stderr, and the activation log says it was overridden."""
    conn = open_store()
    record = registry.get(conn, args.version)
    overridden = record is not None and registry.gate_kept_out(record)
    previous = registry.active_version(conn)
    registry.activate(conn, args.version, reason="manual")
    if overridden:
        back = (
            f"`laughvid models rollback` re-activates {previous}" if previous and previous != args.version else "see `laughvid models list`"
        )
        print(
            f"laughvid models: warning: the promotion gate kept {args.version} out when it was trained; activated anyway, "
            f"as asked ({back}). Its gate table:\n" + "\n".join(record.gate),
            file=sys.stderr,
        )
    print(f"active model: {args.version}")
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    version = registry.rollback(open_store(), args.version)
    print(f"rolled back: active model is now {version}")
    return EXIT_OK


def _register(args: argparse.Namespace) -> int:
    conn = open_store()
    record = registry.ensure_registered(conn, args.model_dir)
    if args.activate:
        registry.activate(conn, record.version, reason="manual")
    print(f"registered {record.version} at {record.path}{' (active)' if args.activate else ''}")
    return EXIT_OK
