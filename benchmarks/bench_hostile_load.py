"""Big books and a hostile upload at once (issue [7/7] §9): does every other session keep working?

Run: ``.venv/bin/python benchmarks/bench_hostile_load.py [--sessions 8] [--policies 440000] [--seconds 900]``

Loopback only and bounded in time. Starts ``streamlit run app.py`` on a free port of 127.0.0.1
(as ``bench_load.py`` does), then opens ``--sessions`` browser contexts at once in one headless
Chromium. Each uploads its own big extract (the sample tiled, ``--policies + k`` policies: about
100 MB of CSV at the default) and waits for the Data page's account to show its own count,
then opens the Persistency overview. At the same time one more session uploads the hostile
files of ``tests/hostile/corpus.py`` at their full size, one after the other, and waits for
each refusal. The script reports each session's times, each hostile file's outcome and time,
the server's memory (its own RSS, and the whole process tree's with the guard's workers)
while the sessions run, and again ``--settle`` seconds after they close (Streamlit drops a
closed session's state after 120 s). Before the big sessions, one session shows the sample
(Data page, then the overview) and closes, and the server's memory ``--settle`` seconds later is
the level it should return to: a server that has imported what those pages use
(``--no-warm`` skips it).

Exit status 1 when a session did not finish, showed an error, or the server died.
``BENCH_CONSOLE=1`` prints the hostile session's browser console and navigations.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "hostile"))

from bench_load import (  # noqa: E402
    _IDLE_JS,
    CHROMIUM,
    CHROMIUM_ARGS,
    METRIC,
    OUT,
    ROWS_READ_LABEL,
    UPLOAD_INPUT,
    MemorySampler,
    proc_status_mb,
    start_server,
    stop_server,
)
from extracts import big_csv  # noqa: E402

#: The hostile files uploaded while the big books load (their full size), by the corpus's names.
HOSTILE = (
    "workbook_huge_dimension",
    "workbook_bomb",
    "workbook_cell_beyond_limit",
    "parquet_repeated_rows",
    "csv_many_short_rows",
    "csv_huge_field",
    "parquet_binary_column",
)
#: A session's problem when the overall time cap (``--seconds``) stopped it.
UNFINISHED = "unfinished when the time cap was reached"
#: How long the hostile session waits for the page to answer one file.
HOSTILE_TIMEOUT_S = 240
_ALERTS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stAlert"], [data-testid="stException"]'))
  .map((e) => e.innerText.replace(/\\s+/g, ' ').trim()).filter(Boolean)"""


@dataclass
class Outcome:
    name: str
    seconds: float = float("nan")
    shown: str = ""
    problems: list[str] = field(default_factory=list)


def tree_rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and all its descendants (the guard's forkserver and workers), in MB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += proc_status_mb(current).get("VmRSS", 0.0)
        todo += children.get(current, [])
    return total


async def idle(page, timeout_s: float) -> None:
    await page.wait_for_function(_IDLE_JS, polling=200, timeout=timeout_s * 1000)


async def big_session(browser, url: str, path: Path, policies: int, timeout_s: float) -> Outcome:
    outcome = Outcome(path.name)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = await context.new_page()
    opened, closing = time.perf_counter(), []
    # A websocket that closes mid-session (the server missed the pings) leaves the page waiting: say so.
    page.on(
        "websocket",
        lambda ws: ws.on(
            "close",
            lambda _: closing or print(f"  {path.name}: its websocket closed after {time.perf_counter() - opened:.1f} s", flush=True),
        ),
    )
    try:
        await page.goto(url)
        await page.wait_for_selector(METRIC, timeout=timeout_s * 1000)
        started = time.perf_counter()
        await page.locator(UPLOAD_INPUT).first.set_input_files(str(path))
        expected = f"{policies:,}"
        await page.wait_for_function(
            """([sel, label, value]) => Array.from(document.querySelectorAll(sel)).some((m) =>
                 ((m.querySelector('[data-testid="stMetricLabel"]') || {}).innerText || '').trim() === label &&
                 ((m.querySelector('[data-testid="stMetricValue"]') || {}).innerText || '').trim() === value)""",
            arg=[METRIC, ROWS_READ_LABEL, expected],
            polling=200,
            timeout=timeout_s * 1000,
        )
        outcome.seconds = time.perf_counter() - started
        print(f"  {path.name}: the account shows {expected} policies after {outcome.seconds:.1f} s", flush=True)
        await page.locator('[data-testid="stSidebarNav"] a').nth(1).click()
        await idle(page, timeout_s)
        print(f"  {path.name}: the overview is drawn after {time.perf_counter() - started:.1f} s", flush=True)
        outcome.problems += [a[:200] for a in await page.evaluate(_ALERTS_JS) if "Traceback" in a or "encountered an error" in a]
        outcome.shown = f"{expected} policies, then the overview"
    except Exception as exc:  # one session's failure is reported, the others carry on
        outcome.problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    except asyncio.CancelledError:  # the overall time cap: keep what the page showed, and report this session as unfinished
        outcome.problems.append(UNFINISHED)
        await page.screenshot(path=str(OUT / f"bench_hostile_unfinished_{path.stem}.png"))
    finally:
        closing.append(True)  # the benchmark closes it now: not worth a line
        await context.close()
    return outcome


async def warm_session(browser, url: str, timeout_s: float) -> None:
    """One session on the bundled sample: the Data page, then the overview, as the big sessions do; then it closes."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = await context.new_page()
    try:
        await page.goto(url)
        await page.wait_for_selector(METRIC, timeout=timeout_s * 1000)
        await page.locator('[data-testid="stSidebarNav"] a').nth(1).click()
        await idle(page, timeout_s)
    finally:
        await context.close()


async def hostile_session(browser, url: str, files: list[Path], timeout_s: float) -> list[Outcome]:
    outcomes = []
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = await context.new_page()
    if os.environ.get("BENCH_CONSOLE"):
        page.on("console", lambda message: print(f"    console {message.type}: {message.text[:200]}", flush=True))
        page.on("framenavigated", lambda frame: print(f"    navigated: {frame.url[:120]}", flush=True))
    try:
        await page.goto(url)
        await page.wait_for_selector(METRIC, timeout=timeout_s * 1000)
        for path in files:
            outcome = Outcome(path.name)
            started = time.perf_counter()
            try:
                await page.locator(UPLOAD_INPUT).first.set_input_files(str(path))
                # Done when a message names the file (its refusal) or the sidebar does (it loaded).
                await page.wait_for_function(
                    """(name) => Array.from(document.querySelectorAll(
                         '[data-testid="stAlert"], [data-testid="stException"], [data-testid="stSidebar"]'))
                       .some((e) => e.innerText.includes(name))""",
                    arg=path.name,
                    polling=200,
                    timeout=HOSTILE_TIMEOUT_S * 1000,
                )
                await idle(page, timeout_s)
                outcome.seconds = time.perf_counter() - started
                alerts = [a for a in await page.evaluate(_ALERTS_JS) if path.name in a]
                outcome.shown = alerts[0][:140] if alerts else "loaded (the sidebar names it)"
                outcome.problems += [a[:200] for a in await page.evaluate(_ALERTS_JS) if "Traceback" in a or "encountered an error" in a]
            except Exception as exc:
                outcome.problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                await page.screenshot(path=str(OUT / f"bench_hostile_{path.stem}.png"))
            outcomes.append(outcome)
            print(f"  hostile {outcome.name}: {outcome.seconds:.1f} s {outcome.shown[:80] or outcome.problems}", flush=True)
    finally:
        await context.close()
    return outcomes


def hostile_files(folder: Path, names: tuple[str, ...] = HOSTILE) -> list[Path]:
    import corpus

    cases = {case.name: case for case in corpus.EXTRACTS}
    paths = []
    for name in names:
        case = cases[name]
        path = folder / f"{name}{Path(case.filename).suffix}"
        path.write_bytes(case.make(True))
        paths.append(path)
    return paths


async def main_async(args: argparse.Namespace) -> int:
    from playwright.async_api import async_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    books = [(big_csv(args.policies + k), args.policies + k) for k in range(args.sessions)]
    size = books[0][0].stat().st_size / 1e6
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.sessions} books of about {size:.0f} MB")
    with tempfile.TemporaryDirectory(prefix="lapselens-hostile-") as folder:
        files = hostile_files(Path(folder), tuple(args.hostile or HOSTILE))
        process, url = start_server(OUT / "bench_hostile_load_streamlit.log")
        sampler = MemorySampler(process.pid)
        sampler.start()
        tree_peak = [0.0]
        stop = asyncio.Event()

        async def watch_tree() -> None:
            while not stop.is_set():
                tree_peak[0] = max(tree_peak[0], tree_rss_mb(process.pid))
                await asyncio.sleep(0.5)

        started_rss = warm_rss = sampler.now()
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                if args.warm:  # the level to come back to: a server that has shown these pages once, then settled
                    await warm_session(browser, url, args.seconds)
                    await asyncio.sleep(args.settle)
                    warm_rss = sampler.now()
                    print(f"warm: one session on the sample, closed, then {args.settle:.0f} s: server RSS {warm_rss:.0f} MB", flush=True)
                watcher = asyncio.create_task(watch_tree())
                started = time.monotonic()
                tasks = [asyncio.create_task(big_session(browser, url, path, n, args.seconds)) for path, n in books]
                tasks.append(asyncio.create_task(hostile_session(browser, url, files, args.seconds)))
                _, pending = await asyncio.wait(tasks, timeout=args.seconds)
                if pending:  # say which; with the diagnostic, the server writes its threads' stacks to its log first
                    print(f"\n{len(pending)} session(s) unfinished after {args.seconds:.0f} s", flush=True)
                    if "memory_diagnostic" in os.environ.get("PYTHONPATH", ""):
                        os.kill(process.pid, signal.SIGUSR1)  # faulthandler's dump (benchmarks/memory_diagnostic)
                    for task in pending:
                        task.cancel()
                    await asyncio.wait(pending)
                results = [
                    task.result() if not task.cancelled() else Outcome(path.name, problems=[UNFINISHED])
                    for task, (path, _) in zip(tasks, books)
                ]
                results.append(tasks[-1].result() if not tasks[-1].cancelled() else [Outcome("hostile session", problems=[UNFINISHED])])
                wall = time.monotonic() - started
                during = (sampler.now(), sampler.peak_since(0.0), tree_peak[0])
                await browser.close()
                stop.set()
                await watcher
            await asyncio.sleep(args.settle)
            alive = process.poll() is None
            after = (sampler.now(), tree_rss_mb(process.pid))
        finally:
            sampler.stop()
            stop_server(process)
    big, hostile = results[:-1], results[-1]
    print(f"\nall sessions done in {wall:.0f} s; server alive: {alive}")
    print("\n| session | upload until the account shows | problems |\n|---|---|---|")
    for outcome in big:
        print(f"| {outcome.name} | {outcome.seconds:.1f} s | {'; '.join(outcome.problems) or 'none'} |")
    print("\n| hostile file | until the page is idle | what the page said |\n|---|---|---|")
    for outcome in hostile:
        print(f"| {outcome.name} | {outcome.seconds:.1f} s | {outcome.shown or '; '.join(outcome.problems)} |")
    print(
        f"\nserver RSS: started {started_rss:.0f} MB, warm {warm_rss:.0f} MB, peak {during[1]:.0f} MB, "
        f"when the sessions ended {during[0]:.0f} MB, "
        f"{args.settle:.0f} s after they closed {after[0]:.0f} MB; process tree (server, forkserver, workers) peak {during[2]:.0f} MB, "
        f"after {after[1]:.0f} MB"
    )
    failed = not alive or any(o.problems for o in big) or any(o.problems for o in hostile)
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="sessions uploading a big book at once (default 8)")
    parser.add_argument("--policies", type=int, default=440_000, help="policies in each book (about 228 bytes each; default 440,000)")
    parser.add_argument("--seconds", type=float, default=900, help="overall time cap in seconds (default 900)")
    parser.add_argument("--hostile", nargs="*", help=f"hostile files to upload, by name (default: {', '.join(HOSTILE)})")
    parser.add_argument("--settle", type=float, default=150, help="seconds to wait after the sessions close (default 150)")
    parser.add_argument(
        "--warm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="first show the sample in one session and wait --settle seconds: the level memory should return to (default on)",
    )
    raise SystemExit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
