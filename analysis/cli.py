"""Command line for batch use: ``python -m analysis COMMAND FILE [options]``, or ``--source URL`` instead of FILE."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import pandas as pd

    from analysis.engine.sources import OpenedBook

from analysis.cli_campaign import add_arguments as add_campaign_list_arguments
from analysis.cli_campaign import run_campaign_list
from analysis.cli_payments import add_arguments as add_payments_arguments
from analysis.cli_payments import drivers_risk, matched_payments
from analysis.cli_queue import add_commands as add_queue_commands
from analysis.cli_worklist import add_command_arguments as add_worklist_arguments
from analysis.cli_worklist import run_worklist
from analysis.engine.backend import DEFAULT_ENGINE, ENGINES
from analysis.errors import ExtractError
from analysis.ingest.guard import guarded_load
from analysis.ingest.ledger import problem_details
from analysis.ingest.pipeline import LoadResult
from analysis.ingest.presets import MappingPreset, load_preset
from analysis.interventions.arms import WINDOW_MONTHS
from analysis.interventions.projection import DRAWS
from analysis.persistency import ratios as persistency_ratios
from analysis.personal import masked_problems
from analysis.report.catalogue import LANGUAGES
from analysis.report.export import inert_json
from analysis.study.exposure import BASES, PERIODS

#: ``--at``: persistency measured at month N, or at N + 1 to include grace.
AT_MONTHS = ("N", "N+1")


def _emit(table: pd.DataFrame, fmt: str) -> None:
    """Print a result table as CSV or as JSON records, safe to open in a spreadsheet.

    Personal identifiers masked (a cohort of names, a remark with a phone number) and
    formula-looking text made inert, in both formats: JSON is opened in spreadsheets too.
    """
    from analysis.report.export import mask_identifiers, neutralise

    safe = neutralise(mask_identifiers(table))
    if fmt == "json":
        print(safe.to_json(orient="records", force_ascii=False, double_precision=15))
    else:
        sys.stdout.write(safe.to_csv(index=False))


def _load(args: argparse.Namespace) -> LoadResult:
    """The extract named on the command line, through its preset, sheet and study date (or the book of ``--source``)."""
    if _from_source(args):
        return _open(args).load_result()
    return guarded_load(args.file, preset=_preset(args.mapping), sheet=args.sheet, study_date=args.study_date)


def _engine_book(args: argparse.Namespace) -> tuple[Any, pd.Timestamp, Any, MappingPreset]:
    """``(policies, study_date, backend)`` for the commands the engine runs.

    A source's table as it lies, or a file's frame handed to ``--engine``.
    """
    from analysis.engine.backend import connect

    if _from_source(args):
        book = _open(args)
        return book.table, book.study_date, book.backend, book.preset
    loaded = _load(args)
    return loaded.policies, loaded.study_date, connect(args.engine), loaded.preset


def _from_source(args: argparse.Namespace) -> bool:
    """Whether the book is named by ``--source`` (or a Spark ``--table``) rather than a FILE."""
    if args.file and (args.source or args.query):
        raise ExtractError("bad_option", reason="file_and_source")
    return not args.file


def _open(args: argparse.Namespace) -> OpenedBook:
    """The book of ``--source`` (a database with ``--table``/``--query``, Parquet, ``spark:NAME``) on ``--engine``."""
    from analysis.engine.sources import open_source

    return open_source(
        args.source or args.file or "",
        table=args.table,
        query=args.query,
        preset=_preset(args.mapping),
        engine=args.engine,
        study_date=args.study_date,
        sheet=args.sheet,
    )


def _name(args: argparse.Namespace) -> str:
    """The book's name as a report shows it: the file's name, or the source without its password."""
    from pathlib import Path

    from analysis.engine.sources import redact

    return Path(args.file).name if args.file else redact(args.source or f"spark:{args.table}")


def _check_date(flag: str, value: str | None) -> None:
    """Refuse a date option that is not a date, with a one-line reason."""
    if value is None:
        return
    import pandas as pd

    try:
        pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ExtractError("bad_option", reason="not_a_date", option=flag, value=repr(value)) from exc


def _preset(path: str | None) -> MappingPreset | None:
    return load_preset(path) if path else None


def _check(args: argparse.Namespace) -> int:
    """The account of an extract; a reason that touches many rows (the loud account) is said first."""
    from analysis.ingest.loud import loud_reasons, loud_sentences

    result = _load(args)
    reasons = loud_reasons(result.problems, result.rows_read)
    sentences = loud_sentences(reasons, result.rows_read, "en")
    problems = masked_problems(result.problems, result.mapping)
    if args.json:
        summary = result.summary()
        for entry, detail in zip(summary["problems"], problem_details(problems, "en")):
            entry["detail"] = str(detail)
        summary["loud"] = [
            {"kind": r.kind, "action": r.action, "rows": r.rows, "share": round(r.share, 4), "detail": sentence}
            for r, sentence in zip(reasons, sentences)
        ]
        print(json.dumps(inert_json(summary), ensure_ascii=False))
    else:
        for sentence in sentences:
            print(f"WARNING: {sentence}")
        source = result.study_date_source + (f" in {result.study_date_column}" if result.study_date_column else "")
        print(
            f"{args.file or _name(args)}: {result.rows_read} rows read = {result.accepted} accepted + "
            f"{result.repaired} repaired + {result.rejected} rejected; "
            f"{len(result.skipped_rows)} non-policy rows skipped; study date {result.study_date.date()} "
            f"({source})"
        )
        for status, count in result.status_counts.items():
            print(f"  {status:<24}{count:>10,}")
        if len(result.problems):
            print(f"{len(result.problems)} problems; first ones:")
            first = problems.head(20)
            for p, detail in zip(first.itertuples(index=False), problem_details(first, "en")):
                print(f"  row {p.row}: [{p.action}] {p.column}: {detail}")
    return 0


def _rates(args: argparse.Namespace) -> int:
    from analysis.schema import EXIT_STATUSES
    from analysis.study.exposure import PERIODS
    from analysis.study.run import StudyRequest, parse_by, parse_events, rates_output, run_study

    policies, study_date, backend, _ = _engine_book(args)
    by = parse_by(args.by)
    period = args.period
    for name in by:
        if name in PERIODS:
            period = name
    events = parse_events(args.event)
    unknown = sorted(events - set(EXIT_STATUSES))
    if unknown:
        raise ExtractError("bad_option", reason="cli_events", unknown=unknown, allowed=", ".join(EXIT_STATUSES))
    for flag, value in (("--study-start", args.study_start), ("--study-end", args.study_end)):
        _check_date(flag, value)
    request = StudyRequest(
        by=by,
        period=period,
        events=events,
        basis=args.basis,
        weight=args.weight,
        study_start=args.study_start,
        study_end=args.study_end,
    )
    table = rates_output(run_study(policies, request, study_date=study_date, backend=backend))
    _emit(table, args.format)
    return 0


def _persistency(args: argparse.Namespace) -> int:
    from analysis.persistency.ratios import EXCLUSIONS, PersistencyOptions, persistency_table

    policies, study_date, backend, preset = _engine_book(args)
    try:
        months = tuple(int(m) for m in args.months.split(",") if m.strip())
    except ValueError as exc:
        raise ExtractError("bad_option", reason="cli_months", value=repr(args.months)) from exc
    if not months or min(months) < 1:
        raise ExtractError("bad_option", reason="cli_months_positive", value=repr(args.months))
    exclude = (
        frozenset(part.strip() for part in args.exclude.split(",") if part.strip()) if args.exclude is not None else frozenset(EXCLUSIONS)
    )
    options = PersistencyOptions(
        months=months,
        cohort=args.cohort,
        include_grace=args.at == AT_MONTHS[1],
        grace_days=preset.grace_days,
        exclude=exclude,
    )
    by = tuple(part.strip() for part in (args.by or "").split(",") if part.strip())
    payments = matched_payments(args, policies, study_date, backend)
    table = persistency_table(policies, study_date=study_date, options=options, by=by, basis=args.basis, backend=backend, payments=payments)
    _emit(table, args.format)
    return 0


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from analysis.report.monthly import monthly_report

    loaded = _load(args)
    payments = matched_payments(args, loaded.policies, loaded.study_date, None)
    data = monthly_report(loaded, dataset=_name(args), lang=args.lang, payments=payments)
    Path(args.output).write_bytes(data)
    print(f"wrote {args.output} ({len(data):,} bytes)")
    return 0


def _survival(args: argparse.Namespace) -> int:
    from analysis.study.run import parse_by, parse_events
    from analysis.survival.result import survival_study

    policies, study_date, backend, _ = _engine_book(args)
    by = parse_by(args.by)[:1]
    result = survival_study(
        policies, study_date=study_date, by=by[0] if by else None, events=parse_events(args.event), compare=False, backend=backend
    )
    _emit(result.curves[["cohort", "month", "at_risk", "events", "survival", "lower", "upper"]], args.format)
    return 0


def _drivers(args: argparse.Namespace) -> int:
    from analysis.report.catalogue import translate
    from analysis.report.export import neutralise
    from analysis.risk.words import importance_words

    loaded = _load(args)
    result = drivers_risk(args, loaded)  # with --payments, the payment behaviour is among the drivers
    sources = {canonical: match.source for canonical, match in loaded.mapping.items()}
    table = importance_words(result.explained.importance, "en")
    table = neutralise(table.assign(feature=table["feature"].map(lambda f: sources.get(f, f))))
    if args.format == "csv":
        _emit(table, "csv")
        return 0
    metrics = result.model.metrics
    print(
        json.dumps(
            {
                "target": translate("risk.target_text", "en", months=result.options.horizon_months),
                "metrics": {"auc": metrics["auc"], "pr_auc": metrics["pr_auc"], "baseline_auc": metrics["baseline_auc"]},
                "importance": table.to_dict(orient="records"),
            },
            ensure_ascii=False,
        )
    )
    return 0


def _worklist(args: argparse.Namespace) -> int:
    return run_worklist(args, _load)


def _column(loaded: LoadResult, name: str) -> str:
    """A column named as the data set has it, or by its source header (``交费方式`` → ``auto_debit``)."""
    if name in loaded.policies.columns:
        return name
    for canonical, match in loaded.mapping.items():
        if match.source == name and canonical in loaded.policies.columns:
            return str(canonical)
    columns = ", ".join(str(c) for c in loaded.policies.columns[:40])
    raise ExtractError("missing_column", reason="in_extract", column=name, columns=columns)


def _finite(value: object) -> object:
    """NaN and infinities as JSON null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _campaign(args: argparse.Namespace) -> int:
    from analysis.interventions.campaign import evaluate_campaign

    if args.campaign_list or args.list_table or args.list_query:
        return run_campaign_list(args, _load)
    if not args.treatment:
        raise ExtractError("bad_option", reason="campaign_needs_treatment")
    _check_date("--start", args.start)
    if args.window_months < 1:
        raise ExtractError("bad_option", reason="campaign_window_flag", months=args.window_months)
    loaded = _load(args)
    result = evaluate_campaign(
        loaded.policies,
        treatment=_column(loaded, args.treatment),
        study_date=loaded.study_date,
        start=args.start,
        window_months=args.window_months,
        uplift=False,
    )
    summary = {key: _finite(value) for key, value in result.summary().items()}
    if args.format == "json":
        print(json.dumps(inert_json(summary), ensure_ascii=False))
    else:
        import pandas as pd

        _emit(pd.DataFrame([summary]), "csv")
    return 0


def _scenario(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from analysis.interventions.projection import compare_scenarios, project_scenarios
    from analysis.interventions.scenario import MAX_SCENARIO_JSON_BYTES, guarded_scenarios

    try:
        with Path(args.spec).open("rb") as spec:  # one byte past the limit at most: refused before it is parsed
            text = spec.read(MAX_SCENARIO_JSON_BYTES + 1)
    except OSError as exc:
        raise ExtractError("bad_option", reason="scenario_spec", path=args.spec, problem=exc.strerror) from exc
    scenarios = guarded_scenarios(text)
    if args.draws < 0:
        raise ExtractError("bad_option", reason="scenario_draws", draws=args.draws)
    loaded = _load(args)
    # A measured campaign's column may be named by its source header (交费方式 → auto_debit).
    scenarios = [
        replace(s, effect=replace(s.effect, treatment=_column(loaded, str(s.effect.treatment)))) if s.measures_campaign else s
        for s in scenarios
    ]
    results = project_scenarios(loaded.policies, scenarios, study_date=loaded.study_date, draws=args.draws)
    if args.format == "csv":
        _emit(compare_scenarios(results), "csv")
        return 0
    objects = [
        {
            "name": r.scenario.name,
            "lever": r.scenario.lever,
            "figures": {k: _finite(v) for k, v in r.figures.items()},
            "curve": [{k: _finite(v) for k, v in row.items()} for row in r.curve.to_dict(orient="records")],
        }
        for r in results
    ]
    print(json.dumps(inert_json(objects[0] if len(objects) == 1 else objects), ensure_ascii=False))
    return 0


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str, *, formats: bool = True
) -> argparse.ArgumentParser:
    """A subcommand with the options every command shares: the file, preset, sheet and study date."""
    command = commands.add_parser(name, help=help_text)
    command.add_argument("file", nargs="?", help="the extract (CSV, Excel or Parquet); or name the book with --source")
    command.add_argument(
        "--source", help="a database URL (postgresql://user@host:5432/db, mysql://user@host:3306/db), a Parquet file or folder, spark:TABLE"
    )
    command.add_argument("--table", help="the database (or, with --engine spark, the Spark) table to read")
    command.add_argument("--query", help="an SQL query to read instead of a table (databases)")
    command.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE, help="where the figures are computed (default duckdb)")
    command.add_argument("--mapping", help="mapping preset (TOML)")
    command.add_argument("--sheet", help="workbook sheet (default: the first)")
    command.add_argument("--study-date", help="override the extract's study date (YYYY-MM-DD)")
    if formats:
        command.add_argument("--format", choices=["csv", "json"], default="csv")
    command.set_defaults(parser=command)
    return command


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m analysis``."""
    parser = argparse.ArgumentParser(prog="python -m analysis", description="LapseLens batch commands.")
    commands = parser.add_subparsers(dest="command", required=True)

    check = _command(commands, "check", "load an extract and print its data-quality account", formats=False)
    check.add_argument("--json", action="store_true", help="print the account as one JSON object")
    check.set_defaults(run=_check)

    rates = _command(commands, "rates", "exposure-based lapse rates by cohort and period")
    rates.add_argument("--by", help="cohort columns, comma-separated (policy_year etc. groups by the period itself)")
    rates.add_argument("--period", choices=PERIODS, default=PERIODS[0])
    rates.add_argument("--event", help="studied statuses, comma-separated (default: lapsed,surrendered,terminated_after_lapse)")
    rates.add_argument("--basis", choices=BASES, default=BASES[0])
    rates.add_argument("--weight", help="weight column, e.g. annual_premium or sum_assured")
    rates.add_argument("--study-start", help="study window start (YYYY-MM-DD; default: the first issue date)")
    rates.add_argument("--study-end", help="study window end (YYYY-MM-DD; default: the study date)")
    rates.set_defaults(run=_rates)

    persistency = _command(commands, "persistency", "13/25/...-month persistency (继续率) of the issue cohorts that reached the month")
    persistency.add_argument("--months", default="13,25", help="months, comma-separated (default 13,25)")
    persistency.add_argument("--basis", choices=persistency_ratios.BASES, default=persistency_ratios.BASES[0])
    persistency.add_argument("--by", help="group columns, comma-separated")
    persistency.add_argument(
        "--cohort",
        choices=list(persistency_ratios.COHORT_GRAINS),
        default=persistency_ratios.DEFAULT_OPTIONS.cohort,
        help="issue-cohort grain that must have reached the month",
    )
    persistency.add_argument("--at", choices=AT_MONTHS, default=AT_MONTHS[0], help="measure at month N, or N+1 to include grace")
    persistency.add_argument(
        "--exclude",
        help="exclusions, comma-separated: single_premium,free_look,death,maturity,waiver (the default: all; '' for none)",
    )
    add_payments_arguments(persistency)
    persistency.set_defaults(run=_persistency)

    report = _command(commands, "report", "the monthly report workbook (overview and cohort study)", formats=False)
    report.add_argument("-o", "--output", required=True, help="the .xlsx to write")
    report.add_argument("--lang", choices=list(LANGUAGES), default="zh", help="header language")
    add_payments_arguments(report)
    report.set_defaults(run=_report)

    survival = _command(commands, "survival", "Kaplan–Meier curves by cohort (months since issue)")
    survival.add_argument("--by", help="cohort column (one), e.g. young_new_earners or channel")
    survival.add_argument("--event", help="studied statuses, comma-separated (default: lapsed,surrendered,terminated_after_lapse)")
    survival.set_defaults(run=_survival)

    drivers = _command(commands, "drivers", "lapse-risk drivers: the model's holdout metrics and SHAP importance")
    add_payments_arguments(drivers)
    drivers.set_defaults(run=_drivers)

    worklist = _command(
        commands, "worklist", "action lists: policies due soon or in grace, and reinstatable lapsed policies", formats=False
    )
    worklist.add_argument("-o", "--output", required=True, help="the .xlsx to write")
    worklist.add_argument("--lang", choices=list(LANGUAGES), default="zh", help="header language")
    add_worklist_arguments(worklist)  # --days, --show-identifiers and the day's request
    worklist.set_defaults(run=_worklist)

    campaign = _command(
        commands, "campaign", "evaluate a campaign: lapse within a window, treated vs control, and the adjusted hazard ratio"
    )
    campaign.add_argument("--treatment", help="treatment column (values such as 实验组/对照组, treated/control, 是/否, 1/0)")
    campaign.add_argument("--start", help="campaign start (YYYY-MM-DD; default: the latest issue date among the campaign's policies)")
    campaign.add_argument(
        "--window-months", type=int, default=WINDOW_MONTHS, help=f"outcome window after the start (default {WINDOW_MONTHS})"
    )
    add_campaign_list_arguments(campaign)
    campaign.set_defaults(run=_campaign)

    scenario = _command(
        commands, "scenario", "project retention scenarios from a JSON spec: persistency, premium, cost, NPV with intervals"
    )
    scenario.add_argument("--spec", required=True, help="scenario JSON (one scenario object or an array of them)")
    scenario.add_argument("--draws", type=int, default=DRAWS, help=f"effect draws for the intervals (default {DRAWS})")
    scenario.set_defaults(run=_scenario)
    add_queue_commands(commands, _command, _load)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; exit 0 on success, 2 with a one-line reason on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.file or args.source or (args.table and args.engine == "spark")):
        args.parser.error("the following arguments are required: file (or --source URL, or --engine spark --table NAME)")
    try:
        return int(args.run(args))
    except ExtractError as exc:
        print(f"error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader (head, less) went away: not an error of ours
        sys.stderr.close()
        return 0
