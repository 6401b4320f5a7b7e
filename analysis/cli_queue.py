"""The command line's ``queue``: the work queue with its outcomes, from a batch job or a terminal.

* ``queue export FILE --out queue.xlsx`` — the queue, every outcome and the outcomes view as
  one workbook (:func:`analysis.collections.words.queue_workbook`; identifiers masked unless
  ``--show-identifiers``);
* ``queue import FILE --outcomes OUTCOMES.xlsx`` — recorded outcomes read through the door with
  their row account (worded on standard error: every row accepted, repaired or rejected with
  its reason; policy numbers not in the book listed), then recorded;
* ``queue assign FILE --to A274314 [--kind agent|branch] [--list due|reinstatable]`` with the
  ``worklist`` command's ``--capacity``, ``--branch``, ``--agent``, ``--risk-band`` and ``--days``;
* ``queue record FILE --policy P --outcome paid --date 2026-10-05 [--lever …] [--note …]``.

FILE is the book (the outcomes view joins it; assignments and records are checked against
it). The database is ``--database URL``, else the configured one
(:func:`analysis.collections.database.configured_url`: ``LAPSELENS_DATABASE``, then the
``[database]`` table of ``.streamlit/secrets.toml``), else the embedded file in the data directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Final

from analysis.collections.outcomes import OUTCOMES
from analysis.collections.queue import ASSIGNEE_KINDS, DUE, LIST_KINDS
from analysis.errors import ExtractError
from analysis.report.catalogue import LANGUAGES, translate
from analysis.risk.actions import DUE_WITHIN_DAYS, LEVERS

if TYPE_CHECKING:
    from analysis.collections.database import Store
    from analysis.ingest.pipeline import LoadResult

#: The project's secrets file, read for a ``[database]`` table.
SECRETS_FILE: Final = Path(__file__).resolve().parents[1] / ".streamlit" / "secrets.toml"
#: The language of what the commands say on standard error.
MESSAGES: Final = "en"
Loader = Callable[[argparse.Namespace], "LoadResult"]
Factory = Callable[..., argparse.ArgumentParser]


def open_database(args: argparse.Namespace) -> Store:
    """The database ``--database`` names, else the configured one, else the embedded file."""
    from analysis.collections.database import DATABASE_TABLE, configured_url, open_store

    if args.database:
        return open_store(args.database)
    secrets = None
    if SECRETS_FILE.is_file():
        try:
            secrets = tomllib.loads(SECRETS_FILE.read_text(encoding="utf-8")).get(DATABASE_TABLE)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            secrets = None
    url, password = configured_url(secrets=secrets)
    return open_store(url, password=password)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _export(args: argparse.Namespace, load: Loader) -> int:
    from analysis.collections.outcomes import list_outcomes
    from analysis.collections.queue import assignments, work_queue
    from analysis.collections.summary import outcome_views
    from analysis.collections.words import queue_workbook, with_contacts

    loaded = load(args)
    store = open_database(args)
    queue, outcomes = assignments(store), list_outcomes(store)
    views = outcome_views(queue, outcomes, loaded.policies, as_of=loaded.study_date)
    note = translate("queue.export_note", args.lang, database=store.shown, study=loaded.study_date.date().isoformat())
    rows = with_contacts(work_queue(store), loaded.policies)
    data = queue_workbook(rows, outcomes, views, language=args.lang, mask=not args.show_identifiers, notes=[note])
    Path(args.out).write_bytes(data)
    print(translate("queue.cli.exported", MESSAGES, rows=len(rows), outcomes=len(outcomes), path=args.out), file=sys.stderr)
    return 0


def _import(args: argparse.Namespace, load: Loader) -> int:
    from analysis.collections.outcomes import import_outcomes, list_outcomes, match_outcomes, read_outcomes

    loaded = load(args)
    store = open_database(args)
    imported = match_outcomes(
        read_outcomes(args.outcomes, sheet=args.outcomes_sheet), loaded.policies["policy_id"], recorded=list_outcomes(store)
    )
    counts = imported.counts()
    print(
        translate(
            "queue.import_account",
            MESSAGES,
            rows=counts["rows"],
            accepted=counts["accepted"],
            repaired=counts["repaired"],
            rejected=counts["rejected"],
        ),
        file=sys.stderr,
    )
    for row in imported.account[imported.account["reason"].notna()].itertuples():
        print(
            translate(
                "queue.cli.account_row", MESSAGES, row=row.row, policy=row.policy_id, reason=translate(f"kind.{row.reason}", MESSAGES)
            ),
            file=sys.stderr,
        )
    count = import_outcomes(store, imported, at=_now(), by=args.by) if len(imported.outcomes) else 0
    print(translate("queue.imported_done", MESSAGES, rows=count), file=sys.stderr)
    return 0


def _known(loaded: LoadResult, policies: list[str]) -> None:
    """Refuse policy numbers the book does not have."""
    known = set(loaded.policies["policy_id"].astype(str))
    unknown = [p for p in policies if p not in known]
    if unknown:
        raise ExtractError("queue", reason="not_in_book", policies=", ".join(unknown))


def _record(args: argparse.Namespace, load: Loader) -> int:
    import pandas as pd

    from analysis.collections.outcomes import record_outcomes
    from analysis.collections.words import outcome_text

    loaded = load(args)
    _known(loaded, args.policy)
    store = open_database(args)
    records = pd.DataFrame(
        {"policy_id": args.policy, "outcome": args.outcome, "outcome_date": args.date, "lever": args.lever, "note": args.note}
    )
    count = record_outcomes(store, records, at=_now(), by=args.by, source="cli")
    print(translate("queue.recorded_done", MESSAGES, rows=count, outcome=outcome_text(args.outcome, MESSAGES)), file=sys.stderr)
    return 0


def _assign(args: argparse.Namespace, load: Loader) -> int:
    from analysis.cli_worklist import requested
    from analysis.collections.queue import assign, queue_rows
    from analysis.risk.worklist import WorklistRequest, select

    loaded = load(args)
    request = requested(args, loaded.policies) or WorklistRequest(capacity=None)
    rows = _list_rows(loaded, request, list_kind=args.list, days=args.days)
    chosen = select(rows, request)
    chosen = chosen if request.capacity is None else chosen.head(request.capacity)
    store = open_database(args)
    count = assign(
        store,
        queue_rows(chosen, list_kind=args.list, assignee_kind=args.kind, assignee=args.to, grace_days=loaded.preset.grace_days),
        at=_now(),
        by=args.by,
    )
    print(translate("queue.assigned_done", MESSAGES, rows=count, assignee=args.to), file=sys.stderr)
    return 0


def _list_rows(loaded: LoadResult, request: Any, *, list_kind: str, days: int) -> Any:
    """The list's rows, best first: the day's calls (the model's; by premium without one) or the reinstatable list."""
    from analysis.risk.actions import reinstatable_list, unscored_due_list
    from analysis.risk.model import default_risk
    from analysis.risk.rows import TOO_SMALL
    from analysis.risk.worklist import worklist

    if list_kind != DUE:
        return reinstatable_list(loaded.policies, loaded.study_date, reinstatement_years=loaded.preset.reinstatement_years)
    try:
        result = default_risk(loaded.policies, loaded.study_date)
    except ExtractError as error:
        if error.code != TOO_SMALL:
            raise
        return unscored_due_list(loaded.policies, loaded.study_date, days=days, grace_days=loaded.preset.grace_days)
    return worklist(loaded.policies, result, request, days=days, grace_days=loaded.preset.grace_days).rows


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser], command: Factory, load: Loader) -> None:
    """The ``queue`` command and its actions; ``command`` makes a subcommand with the shared book options, ``load`` reads the book."""
    from analysis.cli_worklist import add_arguments as add_request_arguments

    queue = commands.add_parser("queue", help="the work queue: assign the action list, record and import outcomes, export them")
    actions = queue.add_subparsers(dest="queue_command", required=True)

    def action(name: str, help_text: str, run: Callable[[argparse.Namespace, Loader], int]) -> argparse.ArgumentParser:
        parser = command(actions, name, help_text, formats=False)
        parser.add_argument(
            "--database", help="the database URL (postgresql://user@host:5432/db, or an SQLite file); default: the configured one"
        )
        parser.set_defaults(run=lambda args: run(args, load))
        return parser

    export = action("export", "write the work queue with its outcomes and the outcomes view (.xlsx)", _export)
    export.add_argument("-o", "--out", required=True, help="the .xlsx to write")
    export.add_argument("--lang", choices=list(LANGUAGES), default="zh", help="header language")
    export.add_argument("--show-identifiers", action="store_true", help="do not mask names, phone and ID numbers")

    imports = action("import", "record the outcomes of a file (CSV or Excel), with its row account", _import)
    imports.add_argument("--outcomes", required=True, help="the outcomes file: 保单号, 结果, 日期[, 措施, 备注, 记录人]")
    imports.add_argument("--outcomes-sheet", help="the outcomes workbook's sheet (default: the first)")
    imports.add_argument("--by", help="who recorded them, for rows without a 记录人")

    assign = action("assign", "assign rows of the action list to an agent or a branch", _assign)
    assign.add_argument("--to", required=True, help="the agent's or the branch's name or code")
    assign.add_argument("--kind", choices=list(ASSIGNEE_KINDS), default=ASSIGNEE_KINDS[0])
    assign.add_argument("--list", choices=list(LIST_KINDS), default=DUE, help="the due list (default) or the reinstatable list")
    assign.add_argument("--days", type=int, default=DUE_WITHIN_DAYS, help=f"policies due within this many days (default {DUE_WITHIN_DAYS})")
    assign.add_argument("--by", help="who assigns them")
    add_request_arguments(assign)

    record = action("record", "record one outcome for one or more policies", _record)
    record.add_argument("--policy", action="append", required=True, help="a policy number; repeat for several")
    record.add_argument("--outcome", required=True, choices=list(OUTCOMES))
    record.add_argument("--date", required=True, help="the outcome's date (YYYY-MM-DD)")
    record.add_argument("--lever", choices=list(LEVERS), help="the lever used")
    record.add_argument("--note", help="a note")
    record.add_argument("--by", help="who recorded it")
