"""Every hostile input of issue [7/7] at the size the issue reported, through the command line as a user runs it.

Run: ``.venv/bin/python benchmarks/bench_hostile_cli.py [--small] [--only NAME ...]``

Each case of ``tests/hostile/corpus.py`` is written at its full size (``--small``: the CI size)
to a temporary folder and given to a fresh ``python -m analysis`` process, as a user would:
an extract to ``check FILE``, a preset to ``check data/sample_policies.csv --mapping FILE``, a
scenario file to ``scenario data/sample_policies.csv --spec FILE``. Printed for each case: the
exit status (0 loaded, 2 refused), the first line the command wrote (the account's first line
or the refusal), whether a traceback appeared, the wall time and the peak memory of the whole
process tree (the command and its guard's worker: their resident sets summed, sampled every
50 ms from ``/proc``). Exits 1 when a case ends in anything but what a sound door does with it (the corpus's ``expect``:
a load, a one-line refusal, or either).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "hostile"))

from corpus import CASES, Case  # noqa: E402

SAMPLE = ROOT / "data" / "sample_policies.csv"
#: A command that takes longer than this is stopped and counted as a failure (the guard's own limit is 180 s).
TIMEOUT_SECONDS = 600


def _children(pid: int) -> list[int]:
    """The processes started by any thread of ``pid``."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    return found


def _tree_rss_mb(pid: int) -> float:
    """The resident memory of ``pid`` and every process below it, in MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as handle:
                total += next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
        todo += _children(current)
    return total / 1024


def _command(case: Case, path: Path) -> list[str]:
    cli = [sys.executable, "-m", "analysis"]
    if case.target == "extract":
        return [*cli, "check", str(path)]
    if case.target == "preset":
        return [*cli, "check", str(SAMPLE), "--mapping", str(path)]
    return [*cli, "scenario", str(SAMPLE), "--spec", str(path)]


def run_case(case: Case, folder: Path, *, big: bool) -> tuple[bool, str]:
    """Run one case; return whether it ended as a sound door ends it and its table row."""
    path = folder / f"{case.name}{Path(case.filename).suffix}"
    path.write_bytes(case.make(big))
    size = path.stat().st_size
    started = time.perf_counter()
    # The command's output goes to files (a pipe nobody reads while it runs could fill and block it).
    with open(folder / "out", "w+") as out_file, open(folder / "err", "w+") as err_file:
        process = subprocess.Popen(_command(case, path), cwd=ROOT, stdout=out_file, stderr=err_file, text=True)
        peak = 0.0
        while process.poll() is None and time.perf_counter() - started < TIMEOUT_SECONDS:
            peak = max(peak, _tree_rss_mb(process.pid))
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
        process.wait()
        seconds = time.perf_counter() - started
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    path.unlink()
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    refused = process.returncode == 2 and len(errors) == 1 and "Traceback" not in err
    loaded = process.returncode == 0 and "Traceback" not in err
    outcome = "loaded" if loaded else "refused" if refused else f"exit {process.returncode}"
    expected = {"load": loaded, "refuse": refused}.get(case.expect, loaded or refused)
    said = errors[0] if refused else next((line for line in out.splitlines() if line.strip()), "(nothing)")
    mark = "" if expected else f" (NOT SOUND: expected {case.expect})"
    line = f"| {case.name} | {size / 1e6:,.1f} MB | {outcome}{mark} | {seconds:.1f} s | {peak:,.0f} MB | {said[:160]} |"
    return expected, line


def main(argv: list[str] | None = None) -> int:
    """Run every case (or those named) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the CI sizes instead of the issue's")
    parser.add_argument("--only", nargs="+", default=None, help="case names")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if args.only is None or c.name in args.only]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {'CI' if args.small else 'full'} sizes")
    print("| case | size | outcome | time | peak (process tree) | what the command said |")
    print("|---|---|---|---|---|---|")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="lapselens-hostile-") as folder:
        for case in cases:
            sound, line = run_case(case, Path(folder), big=not args.small)
            failures += not sound
            print(line, flush=True)
    print(f"{len(cases) - failures} of {len(cases)} cases ended in a load or a one-line refusal")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
