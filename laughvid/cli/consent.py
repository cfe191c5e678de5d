"""`laughvid consent ...`: the participant/consent registry, which faces of a video are whom (`link`),
and a person's data (export, delete)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from laughvid.cli import EXIT_OK
from laughvid.cli.export import find_analysis
from laughvid.clock import today_utc
from laughvid.config import Settings
from laughvid.governance import consent
from laughvid.governance import people as person_tracks
from laughvid.lifecycle import registry
from laughvid.store import open_store
from laughvid.store.video_identity import check_video


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from exc


def _ids(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected raw track ids as ID[,ID...], got {text!r}") from exc


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("consent", help="participants' consent; export or delete a person's face data")
    actions = parser.add_subparsers(dest="consent_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="register a participant's consent")
    add.add_argument("participant_id")
    add.add_argument("--name", required=True)
    add.add_argument(
        "--scope",
        action="append",
        choices=consent.SCOPES,
        required=True,
        help="finetune: crops may train models; clips: face may appear unblurred in exported clips (repeatable)",
    )
    add.add_argument("--date", type=_date, default=date.today(), help="consent given on (default today)")
    add.add_argument("--expires", type=_date, help="consent ends after this day")
    add.add_argument("--note", default="")
    add.set_defaults(func=_add)
    actions.add_parser("list", help="all participants and their consent").set_defaults(func=_list)
    wd = actions.add_parser("withdraw", help="stop using a participant's data from today (or --date)")
    wd.add_argument("participant_id")
    wd.add_argument("--date", type=_date)
    wd.set_defaults(func=_withdraw)
    link = actions.add_parser(
        "link",
        aliases=["link-track"],
        help="say which participant a person of a video is: links each of its raw face tracks",
        description="Link a person (an id analysis.json and the app's People panel show; the timeline shows it until it is linked) to a participant. Links name the tracker's "
        "raw tracks, which stitching may have joined into one person: check each one (--sheet) and link "
        "only those that show the participant (--tracks).",
    )
    link.add_argument(
        "video",
        help="the video: its file, its file name in the library, its sha256 (8 or more characters) or an analysis id, "
        "as `laughvid export` takes it (persons are those of its newest analysis)",
    )
    link.add_argument(
        "person_id",
        type=int,
        help="person (or fragment) id, as analysis.json and the app's People panel show it (the timeline shows a linked person by name)",
    )
    link.add_argument("participant_id")
    link.add_argument("--tracks", type=_ids, metavar="ID[,ID...]", help="link only these raw tracks of the person")
    link.add_argument("--sheet", type=Path, metavar="PNG", help="write a contact sheet: one face per raw track of the person")
    link.add_argument("--dry-run", action="store_true", help="only print the raw tracks (and write --sheet); link nothing")
    link.set_defaults(func=_link)
    for name, helptext in (
        ("export", "copy everything held about a participant into a local folder"),
        ("delete", "delete a participant's crops and manifest rows; flag models trained on them"),
    ):
        p = actions.add_parser(name, help=helptext)
        p.add_argument("participant_id")
        p.add_argument(
            "--set",
            dest="sets",
            action="append",
            type=Path,
            default=[],
            help="also this fine-tune set folder (repeatable; always: the UI's set and every set a registered model used)",
        )
        if name == "export":
            p.add_argument("--out", type=Path, required=True)
            p.set_defaults(func=_export)
        else:
            p.add_argument("--yes", action="store_true", help="confirm: deletion cannot be undone")
            p.add_argument(
                "--exports",
                action="append",
                type=Path,
                default=[],
                metavar="DIR",
                help="a `laughvid export --out` folder (repeatable): its folders of videos they appear in are "
                "deleted, as are those in the app's exports folder",
            )
            p.add_argument(
                "--keep-exports",
                action="store_true",
                help="only list those export folders (they cannot be found again once the links are gone)",
            )
            p.set_defaults(func=_delete)


def _set_dirs(conn, given: list[Path]) -> list[Path]:
    """The UI's set, every set a registered model used, and the `--set` folders on top (a person's data
    everywhere laughvid knows of: `--set` replaced them, so the UI's set kept their crops)."""
    return sorted({Path(d).resolve() for d in (Settings.from_env().finetune_dir, *registry.set_dirs_used(conn), *given)})


def _add(args: argparse.Namespace) -> int:
    p = consent.Participant(args.participant_id, args.name, tuple(args.scope), args.date, args.expires, note=args.note)
    consent.add_participant(open_store(), p)
    print(
        f"registered {p.participant_id}: {', '.join(p.scopes)} from {p.consented_on}{' until ' + str(p.expires_on) if p.expires_on else ''}"
    )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    today = today_utc()  # the day consent checks use: 'active' here is what fine-tuning and blurring see
    participants = consent.list_participants(open_store())
    if not participants:
        print(
            "no participant registered yet: `laughvid consent add p01 --name NAME --scope clips --scope finetune` "
            "(or the app's People panel)",
            file=sys.stderr,
        )
        return EXIT_OK
    print(f"{'id':<12} {'name':<24} {'scopes':<16} {'given':<11} {'expires':<11} status")
    for p in participants:
        status = "withdrawn" if p.withdrawn_on and p.withdrawn_on <= today else ("active" if p.active(today) else "expired/not started")
        print(
            f"{p.participant_id:<12} {p.name[:24]:<24} {','.join(p.scopes):<16} {p.consented_on!s:<11} "
            f"{str(p.expires_on or '-'):<11} {status}"
        )
    return EXIT_OK


def _withdraw(args: argparse.Namespace) -> int:
    consent.withdraw(open_store(), args.participant_id, args.date)
    print(f"{args.participant_id}: consent withdrawn; their crops are no longer used (delete them with `consent delete`)")
    return EXIT_OK


def _link(args: argparse.Namespace) -> int:
    conn = open_store()
    is_file = Path(args.video).is_file()
    person = person_tracks.find_person(conn, find_analysis(conn, args.video).sha256, args.person_id)
    if args.sheet:
        person_tracks.write_contact_sheet(args.video if is_file else check_video(person.analysis, conn), person.tracks, args.sheet)
    chosen = person.select(args.tracks) if args.dry_run else person_tracks.link_person(conn, person, args.participant_id, args.tracks)
    a = person.analysis
    print(f"person {person.person_id} of {a.name} (analysis {a.id}, {a.model_version}): {len(person.tracks)} raw track(s)")
    done = f"would link to {args.participant_id} (dry run)" if args.dry_run else f"linked to {args.participant_id}"
    for t in person.tracks:
        status = done if t in chosen else "not linked (not in --tracks)"
        print(f"  raw track {t.track_id:<4} {t.span:<14} {t.detections:>4} detections  {status}")
    if args.sheet:
        print(f"contact sheet: {args.sheet}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    conn = open_store()
    path = consent.export_person(conn, args.participant_id, _set_dirs(conn, args.sets), args.out)
    print(f"exported {args.participant_id} to {path.parent} (record: {path.name})")
    record = json.loads(path.read_text(encoding="utf-8"))
    untraced = record["fine_tune_items_untraced"]["paths"]
    if untraced:
        print(
            f"  {len(untraced)} crop(s) were {consent.UNTRACED_WHY}; named in the record, "
            "not copied (check them by eye, or add those videos to the fine-tune set again to trace them)"
        )
    if not record["finetune_consent_today"]["ok"]:
        print(f"  fine-tuning uses none of their crops, nor those that may show them: {record['finetune_consent_today']['reason']}")
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    if not args.yes:
        raise consent.ConsentError("deletion cannot be undone: run again with --yes (export first if they asked for a copy)")
    conn = open_store()
    exports = [Settings.from_env().exports_dir, *args.exports]
    report = consent.delete_person(conn, args.participant_id, _set_dirs(conn, args.sets), exports, args.keep_exports)
    print(
        f"deleted {args.participant_id}: {len(report.crops_deleted)} crops, {report.manifest_rows_deleted} manifest rows, "
        f"{report.track_links_deleted} track links, {len(report.exports_deleted)} export folder(s)"
    )
    if report.crops_untraced:
        print(
            f"  {len(report.crops_untraced)} of those crops were {consent.UNTRACED_WHY}; others' crops among them are "
            "made again by adding their videos to the fine-tune set again (laughvid export VIDEO --finetune-set):"
        )
        for crop in report.crops_untraced:
            print(f"    {crop}")
    for folder in report.staging_deleted:
        print(f"  deleted crops left by an interrupted fine-tune export (no manifest named whose faces they were): {folder}")
    for folder in report.exports_deleted:
        print(f"  deleted export folder (clips, reel, lists of a video they appear in; export again to remake it): {folder}")
    for folder in report.exports_kept:
        print(f"  KEPT export folder of a video they appear in (may show their face unblurred): {folder}")
    for v in report.models_flagged:
        print(f"  model {v} was trained on their data: flagged NEEDS RETRAINING")
    print(
        "not covered, laughvid does not record them: contact sheets written with `consent link --sheet`, exports under "
        "folders not given with --exports, `analyze --out` folders (face boxes and scores, no images), copies made elsewhere; "
        "the videos and their analyses are kept (delete a video file yourself if their consent requires it)"
    )
    return EXIT_OK
