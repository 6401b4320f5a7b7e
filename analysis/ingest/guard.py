"""Untrusted files read where they cannot hurt the server: a worker process with a memory ceiling and a time limit.

Every file a user hands over (an upload, a file named on the command line) is read by the
door in a worker process: :func:`guarded_load`, :func:`guarded_survey` and
:func:`guarded_sheets` take what :func:`~analysis.ingest.pipeline.load_extract`,
:func:`~analysis.ingest.survey.inspect_extract` and
:func:`~analysis.ingest.reading.list_sheets` take, and give what they give. The worker caps
its own address space (``RLIMIT_AS``) at :data:`MEMORY_ENV` MB and is killed after
:data:`SECONDS_ENV` seconds. A reader's panic, a recursion error, running out of memory, a
timeout or a crash of the whole worker (an abort in a native reader) end in a refusal,
``ExtractError("guard", reason=...)``, naming the limit; the caller's process and its data
stay as they were. A refusal of the door itself (``missing_required`` …) comes back as it was
raised.

Workers are forked from a *forkserver*: a clean process started once, with the door's
modules already imported, never a fork of the app (whose threads a fork would break). The
file goes to the worker and the result comes back through a private temporary folder: the
input as bytes, the result as Arrow IPC files and JSON (:mod:`analysis.ingest.handover`),
the worker's answer as JSON on a pipe. Nothing is pickled.
"""

from __future__ import annotations

import functools
import io
import json
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerProcess, set_spawning_popen
from pathlib import Path
from typing import Any, Final, Mapping

from analysis.errors import ExtractError
from analysis.ingest.handover import read_result, write_result
from analysis.ingest.pipeline import BYTES_PER_MB, LoadResult, load_extract
from analysis.ingest.presets import MappingPreset, parse_preset, preset_to_toml
from analysis.ingest.survey import ExtractSurvey

#: Settings (environment variables) and their defaults: the worker's memory ceiling in MB (its
#: address space: a 300 MB CSV reaches about 3 GB of it) and its time limit in seconds (that CSV
#: takes about 15 s); 0 turns a limit off. ``LAPSELENS_PARSE_GUARD=0`` reads in-process (tests of the door itself).
MEMORY_ENV: Final = "LAPSELENS_PARSE_MEMORY_MB"
SECONDS_ENV: Final = "LAPSELENS_PARSE_SECONDS"
GUARD_ENV: Final = "LAPSELENS_PARSE_GUARD"
DEFAULT_MEMORY_MB: Final = 8_000
DEFAULT_SECONDS: Final = 180
#: The worker's answer on its pipe is a short JSON object: at most this many bytes are read.
MAX_ANSWER_BYTES: Final = 1_000_000
#: Text parsed in a worker (a preset, a scenario file, a share link's scenarios): job → ``module:function``
#: taking ``(bytes, args)`` and giving JSON-able data (see :func:`guarded_parse`).
TEXT_JOBS: Final = {
    "preset": "analysis.ingest.presets:preset_job",
    "scenarios": "analysis.interventions.scenario:scenarios_job",
    "cohorts": "analysis.study.cohort_presets:cohorts_job",
}
#: The file handed to the worker, and the folder its result comes back in.
_INPUT, _OUTPUT = "input", "result"


@dataclass(frozen=True)
class GuardLimits:
    """The worker's memory ceiling (MB, 0 = none) and time limit (seconds, 0 = none)."""

    memory_mb: int = DEFAULT_MEMORY_MB
    seconds: float = DEFAULT_SECONDS

    @classmethod
    def from_env(cls) -> GuardLimits:
        """The limits set by :data:`MEMORY_ENV` and :data:`SECONDS_ENV` (defaults where unset or not a number)."""
        return cls(memory_mb=_setting(MEMORY_ENV, DEFAULT_MEMORY_MB), seconds=_setting(SECONDS_ENV, DEFAULT_SECONDS))


def _setting(name: str, default: int) -> int:
    try:
        return max(0, int(os.environ.get(name, "").strip() or default))
    except ValueError:
        return default


def guarded_load(
    source: bytes | str | Path,
    *,
    filename: str | None = None,
    preset: MappingPreset | str | None = None,
    sheet: str | int | None = None,
    study_date: str | None = None,
    max_bytes: int | None = None,
    limits: GuardLimits | None = None,
    keep: tuple[Path, Mapping[str, object], float] | None = None,
) -> LoadResult:
    """:func:`~analysis.ingest.pipeline.load_extract` in a worker process (see the module's notes).

    ``preset`` may be a preset's TOML text (anyone's): it is then parsed only in the worker.
    ``keep`` = ``(root, key, now)``: the worker also keeps the book in the
    :class:`~analysis.store.books.BookStore` at ``root`` under ``key`` (as the app keeps every
    book it loads), so the caller need not write it again.

    Raises
    ------
    ExtractError
        The door's refusal, or ``guard`` (``timeout``, ``memory``, ``recursion``, ``crashed``,
        ``internal``) when the worker failed, naming the limit.
    """
    if isinstance(source, (str, Path)):
        filename = filename or Path(source).name
    args: dict[str, Any] = {
        "filename": filename,
        "preset": _preset_text(preset),
        "sheet": sheet,
        "study_date": None if study_date is None else str(study_date),
        "max_bytes": max_bytes,
    }
    if not _guarding():
        return _load_job(source, args)
    if keep is not None:
        args["keep"] = [str(keep[0]), json.loads(json.dumps(dict(keep[1]), default=str)), keep[2]]
    with _worker("load", source, args, limits or GuardLimits.from_env()) as (folder, _):
        try:
            return read_result(folder / _OUTPUT)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExtractError("guard", reason="internal", file=_shown(filename), kind=type(exc).__name__) from exc


def guarded_survey(
    source: bytes,
    *,
    filename: str | None = None,
    preset: MappingPreset | str | None = None,
    sheet: str | int | None = None,
    max_bytes: int | None = None,
) -> ExtractSurvey:
    """:func:`~analysis.ingest.survey.inspect_extract` in a worker process.

    Raises
    ------
    ExtractError
        As :func:`guarded_load`.
    """
    args = {"filename": filename, "preset": _preset_text(preset), "sheet": sheet, "max_bytes": max_bytes}
    if not _guarding():
        return _survey_job(source, args)
    with _worker("survey", source, args, GuardLimits.from_env()) as (_, answer):
        return _survey_from_json(answer["survey"])


def guarded_sheets(source: bytes, *, filename: str | None = None) -> tuple[str, ...]:
    """:func:`~analysis.ingest.reading.list_sheets` in a worker process.

    Raises
    ------
    ExtractError
        As :func:`guarded_load`.
    """
    from analysis.ingest.reading import list_sheets

    if not _guarding():
        return list_sheets(source, filename=filename)
    with _worker("sheets", source, {"filename": filename}, GuardLimits.from_env()) as (_, answer):
        return tuple(str(name) for name in answer["sheets"])


def guarded_table(source: bytes | str | Path, *, filename: str | None = None, sheet: str | int | None = None) -> tuple[Any, Any]:
    """:func:`~analysis.ingest.reading.read_table` in a worker process: ``(cells as text, source row numbers)``.

    For side files read beside a book (a campaign list): every cell comes back as text (a date
    cell as ``YYYY-MM-DD``, a whole number without ``.0``), a blank as missing.

    Raises
    ------
    ExtractError
        As :func:`guarded_load`.
    """
    if isinstance(source, (str, Path)):
        filename = filename or Path(source).name
    args: dict[str, Any] = {"filename": filename, "sheet": sheet}
    if not _guarding():
        return _table_job(source, args)
    with _worker("table", source, args, GuardLimits.from_env()) as (folder, _):
        return _read_cells(folder / _OUTPUT)


def guarded_parse(job: str, data: bytes, args: Mapping[str, Any]) -> Any:
    """Run a text job of :data:`TEXT_JOBS` on ``data`` in a worker process: its JSON-able answer.

    Raises
    ------
    ExtractError
        The job's refusal, or ``guard`` as :func:`guarded_load`.
    """
    if not _guarding():
        return _text_job(job, data, dict(args))
    with _worker(job, data, dict(args), GuardLimits.from_env()) as (_, answer):
        return answer["value"]


def _guarding() -> bool:
    return os.environ.get(GUARD_ENV, "1").strip() != "0"


def _preset_text(preset: MappingPreset | str | None) -> str:
    return preset if isinstance(preset, str) else preset_to_toml(preset) if preset is not None else ""


def _shown(filename: str | None) -> str:
    return repr(filename or "the file")


# --- the worker's side ----------------------------------------------------------------------


def _load_job(source: bytes | str | Path, args: dict[str, Any]) -> LoadResult:
    preset = parse_preset(args["preset"]) if args["preset"] else None
    return load_extract(
        source,
        filename=args["filename"],
        preset=preset,
        sheet=args["sheet"],
        study_date=args.get("study_date"),
        max_bytes=args["max_bytes"],
    )


def _text_job(job: str, data: bytes, args: dict[str, Any]) -> Any:
    import importlib

    module, function = TEXT_JOBS[job].split(":")
    return getattr(importlib.import_module(module), function)(data, args)


def _survey_job(source: bytes | str | Path, args: dict[str, Any]) -> ExtractSurvey:
    from analysis.ingest.survey import inspect_extract

    preset = parse_preset(args["preset"]) if args["preset"] else None
    return inspect_extract(source, filename=args["filename"], preset=preset, sheet=args["sheet"], max_bytes=args["max_bytes"])


def _table_job(source: bytes | str | Path, args: dict[str, Any]) -> tuple[Any, Any]:
    import pandas as pd

    from analysis.ingest.reading import read_table
    from analysis.ingest.side_tables import column_text

    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
    raw = read_table(data, filename=args["filename"], sheet=args["sheet"])
    columns = {name: pd.arrays.ArrowStringArray(column_text(raw.cells[name])) for name in raw.cells.columns}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(raw.cells))), raw.rows


def _write_cells(cells: Any, rows: Any, path: Path) -> None:
    import pyarrow as pa

    table = pa.table({**{f"c{i}": pa.array(cells.iloc[:, i].array) for i in range(cells.shape[1])}, "row": rows})
    table = table.replace_schema_metadata({"headers": json.dumps([str(c) for c in cells.columns], ensure_ascii=False)})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_cells(path: Path) -> tuple[Any, Any]:
    import pandas as pd
    import pyarrow as pa

    with pa.OSFile(str(path), "rb") as source:
        table = pa.ipc.open_file(source).read_all()
    headers = json.loads((table.schema.metadata or {})[b"headers"])
    columns = {h: pd.arrays.ArrowStringArray(table.column(f"c{i}")) for i, h in enumerate(headers)}
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows)), table.column("row").to_numpy()


def _survey_to_json(survey: ExtractSurvey) -> dict[str, Any]:
    import dataclasses

    return {
        "headers": survey.headers,
        "mapping": [dataclasses.asdict(match) for match in survey.mapping.values()],
        "status_values": survey.status_values.to_json(orient="split", index=False, force_ascii=False),
        "preset": preset_to_toml(survey.preset),
        "header_row": survey.header_row,
    }


def _survey_from_json(data: dict[str, Any]) -> ExtractSurvey:
    import io

    import pandas as pd

    from analysis.ingest.headers import ColumnMatch

    frame = pd.read_json(io.StringIO(data["status_values"]), orient="split", dtype=False)
    return ExtractSurvey(
        headers=[str(h) for h in data["headers"]],
        mapping={match["canonical"]: ColumnMatch(**match) for match in data["mapping"]},
        status_values=frame,
        preset=parse_preset(data["preset"]),
        header_row=int(data["header_row"]),
    )


def _run_job(job: str, folder: Path, args: dict[str, Any]) -> dict[str, Any]:
    """Do ``job`` on the file in ``folder``; the answer to send back (the book itself is written to the folder)."""
    from analysis.ingest.reading import list_sheets, prefer_jemalloc

    prefer_jemalloc()
    source = Path(args.pop("path", None) or folder / _INPUT)
    if job == "load":
        keep = args.pop("keep", None)
        result = _load_job(source, args)
        if keep is not None:
            from analysis.store.books import BookStore

            try:
                BookStore(Path(keep[0])).put(keep[1], result, now=float(keep[2]))
            except (OSError, TypeError, ValueError):  # a book that cannot be kept is simply loaded again next time
                pass
        (folder / _OUTPUT).mkdir()
        write_result(result, folder / _OUTPUT)
        return {"ok": True}
    if job == "survey":
        return {"ok": True, "survey": _survey_to_json(_survey_job(source.read_bytes(), args))}
    if job == "table":
        _write_cells(*_table_job(source, args), folder / _OUTPUT)
        return {"ok": True}
    if job in TEXT_JOBS:
        return {"ok": True, "value": _text_job(job, source.read_bytes(), args)}
    return {"ok": True, "sheets": list(list_sheets(source.read_bytes(), filename=args["filename"]))}


def _work(job: str, folder: str, args: dict[str, Any], memory_mb: int, answers: Connection) -> None:
    """The worker: cap the address space, do the job, send back what happened as JSON."""
    if memory_mb:
        import resource

        ceiling = memory_mb * BYTES_PER_MB
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    answer: dict[str, Any]
    try:
        answer = _run_job(job, Path(folder), args)
    except ExtractError as exc:
        answer = {"refused": {"code": exc.code, "reason": exc.reason, "params": exc.params}}
    except RecursionError:
        answer = {"failed": "recursion"}
    except MemoryError:
        answer = {"failed": "memory"}
    except BaseException as exc:  # a native reader's panic (pyo3 raises PanicException, a BaseException) or a bug
        answer = {"failed": "internal", "kind": type(exc).__name__}
    answers.send_bytes(json.dumps(answer).encode("utf-8"))
    answers.close()


# --- the caller's side ----------------------------------------------------------------------


@functools.cache
def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["analysis.ingest.guard", "analysis.store.books", "analysis.ingest.survey"])
    return context


class _Popen(popen_forkserver.Popen):
    """multiprocessing's forkserver launch (Python 3.11), without the main-module entries in what the child is told.

    multiprocessing makes a new process import the parent's ``__main__`` again; in the app
    that is Streamlit's page script (it would run the whole app in the worker), in a script
    without a ``__main__`` guard it starts the work again. The worker needs none of it: the
    door's modules are preloaded in the forkserver.
    """

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _WorkerProcess(ForkServerProcess):
    """A forkserver process launched by :class:`_Popen`."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _Popen(process_obj)


class _worker:
    """Run a job in a worker: a context manager giving ``(folder, answer)``; the folder goes when it ends."""

    def __init__(self, job: str, source: bytes | str | Path, args: dict[str, Any], limits: GuardLimits) -> None:
        self.job, self.source, self.args, self.limits = job, source, dict(args), limits
        self.folder = Path(tempfile.mkdtemp(prefix="lapselens-guard-"))

    def __enter__(self) -> tuple[Path, dict[str, Any]]:
        try:
            if isinstance(self.source, (str, Path)):
                self.args["path"] = str(Path(self.source).resolve())
            else:
                (self.folder / _INPUT).write_bytes(self.source)
                self.source = b""  # the worker reads the file: this object (and a traceback through it) holds no copy
            answer = self._answer()
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        return self.folder, answer

    def __exit__(self, *_: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _answer(self) -> dict[str, Any]:
        context = _context()
        receive, send = context.Pipe(duplex=False)
        process = _WorkerProcess(target=_work, args=(self.job, str(self.folder), self.args, self.limits.memory_mb, send), daemon=True)
        process.start()
        send.close()
        timeout = self.limits.seconds or None
        deadline = None if timeout is None else time.monotonic() + timeout
        answer: dict[str, Any] | None = None
        try:
            if wait([receive, process.sentinel], timeout):
                try:
                    answer = json.loads(receive.recv_bytes(MAX_ANSWER_BYTES))
                except (EOFError, OSError, ValueError):
                    answer = None
            process.join(None if deadline is None else max(0.0, deadline - time.monotonic()) + 1.0)
        finally:
            if process.is_alive():
                process.kill()
                process.join()
            receive.close()
        return self._verdict(answer, process.exitcode, timed_out=answer is None and deadline is not None and time.monotonic() >= deadline)

    def _verdict(self, answer: dict[str, Any] | None, exitcode: int | None, *, timed_out: bool) -> dict[str, Any]:
        file = _shown(self.args.get("filename"))
        if answer is not None and answer.get("ok"):
            return answer
        if answer is not None and "refused" in answer:
            refused = answer["refused"]
            raise ExtractError(str(refused["code"]), reason=refused["reason"], **dict(refused["params"]))
        if timed_out:
            raise ExtractError("guard", reason="timeout", file=file, seconds=f"{self.limits.seconds:g}")
        failed = (answer or {}).get("failed")
        if failed == "memory":
            raise ExtractError("guard", reason="memory", file=file, limit=f"{self.limits.memory_mb:,}")
        if failed == "recursion":
            raise ExtractError("guard", reason="recursion", file=file)
        if failed == "internal":
            raise ExtractError("guard", reason="internal", file=file, kind=str(answer.get("kind", "?")) if answer else "?")
        how = _how_it_ended(exitcode)
        raise ExtractError("guard", reason="crashed", file=file, how=how, limit=f"{self.limits.memory_mb:,}")


def _how_it_ended(exitcode: int | None) -> str:
    """A dead worker's end in words: the signal that stopped it (SIGABRT, SIGKILL …) or its exit status."""
    if exitcode is not None and exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"
