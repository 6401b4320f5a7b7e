"""Many users at once (issue [7/7] §4): concurrent browser sessions against one app server.

Run: ``.venv/bin/python benchmarks/bench_load.py [--sessions 8] [--waves 2] [--seconds 600]``

Loopback only and bounded in time. The script starts ``streamlit run app.py`` on a free
port of 127.0.0.1 (as the browser test does), then opens ``--sessions`` browser contexts
at once in one headless Chromium (Debian's ``/usr/bin/chromium`` through Playwright). Each
session uploads its own extract — a distinct subset of the bundled sample (drawn with its
own seed) with ``5,000 + 137·k`` policies for the k-th session of a wave, named
``policies_wW_sK_N.csv``, so every file is recognisable and the sessions running at the same
time all hold different counts; every wave has the same sizes, so waves can be compared for
memory — waits for the account, then walks every page the sidebar lists (found from
the navigation links, so pages added later are walked too) and comes back to the Data page.

It shows

- isolation: on every page the sidebar's data-set line must name the session's own file
  and policy count, and the Data page's rows-read metric must be the session's own; any
  other name or count is a violation (there must be none);
- page times, from the click on the sidebar link until the app is idle and stays so for
  1.5 s (script finished, nothing stale, no progress bar, spinner or "model is training"
  note; the time is taken where that idle stretch began): median and 95th percentile,
  overall and per page. The risk model trains in the background, one data set at a time on
  one worker, so the Risk drivers time includes waiting behind the other sessions' models;
  a model that has to be trained again on a later page is counted;
- memory: the server process's VmRSS sampled every 0.25 s from ``/proc/<pid>/status``, and
  its VmHWM (peak). Further waves of new sessions with new extracts (``--waves``) show
  whether memory keeps growing with every new data set or levels off (the caches have
  ``max_entries``).

Exit status 1 on an isolation violation, a page error, or a session that did not finish; a
failed step leaves a screenshot in ``benchmarks/out/bench_load_failures/``.
``--screenshots DIR`` keeps a screenshot of every page walked.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_extract  # noqa: E402
from analysis.report.catalogue import CATALOGUE  # noqa: E402

SAMPLE = ROOT / "data" / "sample_policies.csv"
OUT = ROOT / "benchmarks" / "out"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STUDY_DATE = "2026-09-30"
BASE_ROWS, STEP_ROWS = 5_000, 137
#: A page counts as ready once it has stayed idle this long; its time is when that stretch began.
SETTLE_MS = 1500
#: Pages that wait for the risk model (it trains in the background): they get --model-timeout.
MODEL_PAGES = ("drivers", "actions", "interventions")
TRAINING_NOTE = CATALOGUE["risk.training_note"]["zh"]

METRIC = '[data-testid="stMetric"]'
UPLOAD_INPUT = '[data-testid="stFileUploaderDropzoneInput"]'
ROWS_READ_LABEL = "读取行数"  # the sessions ask for zh-CN, as the browser test does
#: The sidebar's data-set line, ``app.dataset_line`` in Chinese: "{name}：{rows:,} 张保单，统计截止日 {study_date}".
DATASET_LINE = re.compile(r"(\S+)：([\d,]+) 张保单，统计截止日 (\d{4}-\d\d-\d\d)")

# Arms the readiness check before a click or an upload: notes the page title shown now, and records
# whether the script runs from here on (a MutationObserver sees even a quick run).
_ARM_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const title = document.querySelector('[data-testid="stMain"] h1');
  window.__lapselensTitle = title ? title.innerText : null;
  window.__lapselensRan = false;
  window.__lapselensTraining = false;
  window.__lapselensReadySince = null;
  window.__lapselensArmed = performance.now();
  if (window.__lapselensObserver) window.__lapselensObserver.disconnect();
  window.__lapselensObserver = new MutationObserver((records) => {
    for (const r of records) {
      if (r.oldValue === 'running' || app.getAttribute('data-test-script-state') === 'running') window.__lapselensRan = true;
    }
  });
  window.__lapselensObserver.observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
}"""

# Ready: on the page asked for (path, or null for "stay here"), the script has run since arming or the
# page title has changed (a slow server may not start the run for a while: until then the old page is
# still on screen, idle), it is not running, no status widget, nothing stale, no progress bar, spinner
# or "model is training" note — and all of that has held for ``settle`` ms (a fragment's progress bar
# can appear a moment after the run ends). Returns [milliseconds from arming to the start of that
# settled stretch — the page's time —, whether the model was seen training].
_READY_JS = """([path, settle, busyText, newTitle]) => {
  const now = performance.now();
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]');
  const title = document.querySelector('[data-testid="stMain"] h1');
  const training = !!main && main.innerText.includes(busyText);
  if (training) window.__lapselensTraining = true;
  const moved = newTitle ? (!!title && title.innerText !== window.__lapselensTitle) : window.__lapselensRan;
  const ok = !!app && !training && moved
    && (path === null || location.pathname.replace(/^\\/+|\\/+$/g, '') === path)
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-testid="stProgress"], [data-testid="stSpinner"]')
    && document.querySelectorAll('[data-stale="true"]').length === 0;
  if (!ok) { window.__lapselensReadySince = null; return false; }
  if (window.__lapselensReadySince === null) window.__lapselensReadySince = now;
  if (now - window.__lapselensReadySince < settle) return false;
  return [Math.max(1, window.__lapselensReadySince - window.__lapselensArmed), window.__lapselensTraining];
}"""

_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  return document.querySelectorAll('[data-stale="true"]').length === 0;
}"""

_NAV_JS = """() => Array.from(document.querySelectorAll('[data-testid="stSidebarNav"] a')).map((a) => [
  new URL(a.href).pathname.replace(/^\\/+|\\/+$/g, ''), a.innerText.trim()])"""

_METRICS_JS = """(sel) => Array.from(document.querySelectorAll(sel)).map((m) => [
  (m.querySelector('[data-testid="stMetricLabel"]') || {}).innerText || '',
  (m.querySelector('[data-testid="stMetricValue"]') || {}).innerText || '',
])"""

_PROBLEMS_JS = """() => ({
  exceptions: Array.from(document.querySelectorAll('[data-testid="stException"]')).map((e) => e.innerText.slice(0, 300)),
  errors: Array.from(document.querySelectorAll('[data-testid="stAlertContentError"]')).map((e) => e.innerText.slice(0, 300)),
})"""


# --- extracts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Extract:
    """One session's file: its name, where it is, and the policies it holds."""

    index: int
    name: str
    path: Path
    policies: int


def accepted_sample_rows() -> tuple[str, pd.DataFrame]:
    """The sample's title line and its rows that load without rejection (as raw text)."""
    loaded = load_extract(SAMPLE)
    raw = pd.read_csv(SAMPLE, skiprows=1, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    # source_row is the CSV line: line 1 is the title, line 2 the header, line 3 the first policy.
    return f"某某人寿 保单明细,统计截止日：{STUDY_DATE}\n", raw.iloc[loaded.policies["source_row"].to_numpy() - 3]


def make_extracts(sessions: int, waves: int, folder: Path, title: str, rows: pd.DataFrame) -> list[Extract]:
    """One distinct extract per session: the k-th session of a wave gets 5,000 + 137·k policies, drawn in file order.

    Every extract has its own seed, so no two share their content (and their cache key).
    """
    extracts = []
    for index in range(sessions * waves):
        wave, k = divmod(index, sessions)
        n = BASE_ROWS + STEP_ROWS * k
        chosen = np.sort(np.random.default_rng(index).choice(len(rows), n, replace=False))
        buffer = io.StringIO()
        buffer.write(title)
        rows.iloc[chosen].to_csv(buffer, index=False)
        name = f"policies_w{wave + 1}_s{k + 1}_{n}.csv"
        path = folder / name
        path.write_bytes(buffer.getvalue().encode("utf-8"))
        check = load_extract(path)
        if check.rows_read != n or len(check.policies) != n:
            raise SystemExit(
                f"{name}: expected {n} policies, load_extract gave rows_read={check.rows_read}, policies={len(check.policies)}"
            )
        extracts.append(Extract(index, name, path, n))
    return extracts


# --- the server and its memory ---------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def proc_status_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB (empty once it has exited)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


class MemorySampler(threading.Thread):
    """Samples the server's VmRSS every ``interval`` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self.started_at = time.monotonic()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss = proc_status_mb(self.pid).get("VmRSS")
            if rss is not None:
                self.samples.append((time.monotonic() - self.started_at, rss))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def now(self) -> float:
        return proc_status_mb(self.pid).get("VmRSS", float("nan"))

    def peak_since(self, t0: float) -> float:
        values = [rss for t, rss in self.samples if t >= t0]
        return max(values) if values else float("nan")


def start_server(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
    ]
    log = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not healthy(f"{url}/_stcore/health"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            raise SystemExit(f"streamlit did not start (see {log_path})")
        time.sleep(0.25)  # polling the server's health endpoint
    return process, url


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- one session ------------------------------------------------------------------------


@dataclass
class Session:
    """What one browser session saw."""

    extract: Extract
    wave: int
    page_times: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    pages_walked: int = 0
    #: Pages on which this session saw its model training (after the first: it had been dropped and was trained again).
    trained_on: list[str] = field(default_factory=list)
    finished: bool = False


def dataset_line_problem(sidebar_text: str, extract: Extract, all_names: dict[str, int], where: str) -> str | None:
    """None when the sidebar names the session's own file and count; else what it named instead."""
    match = DATASET_LINE.search(sidebar_text)
    if match is None:
        return f"{where}: no data-set line in the sidebar"
    name, rows = match.group(1), int(match.group(2).replace(",", ""))
    if name == extract.name and rows == extract.policies:
        return None
    owner = "another session's data" if name in all_names and name != extract.name else "not its own data"
    return f"{where}: sidebar shows {name} with {rows:,} policies ({owner}); expected {extract.name} with {extract.policies:,}"


async def run_session(
    browser,
    url: str,
    session: Session,
    all_names: dict[str, int],
    page_timeout_s: float,
    model_timeout_s: float,
    screenshots: Path | None = None,
) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    extract = session.extract
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    context.set_default_timeout(page_timeout_s * 1000)
    page = await context.new_page()
    page.on("pageerror", lambda error: session.problems.append(f"page error: {error}"))

    async def ready(path: str | None, timeout_s: float, *, new_title: bool) -> tuple[float, bool]:
        """Seconds from arming until the page settled, and whether it showed the model training."""
        handle = await page.wait_for_function(
            _READY_JS, arg=[path, SETTLE_MS, TRAINING_NOTE, new_title], timeout=timeout_s * 1000, polling=100
        )
        milliseconds, training = await handle.json_value()
        return float(milliseconds) / 1000, bool(training)

    async def check(where: str) -> None:
        found = await page.evaluate(_PROBLEMS_JS)
        session.problems += [f"{where}: exception {text!r}" for text in found["exceptions"]]
        session.problems += [f"{where}: error {text!r}" for text in found["errors"]]
        problem = dataset_line_problem(await page.get_by_test_id("stSidebar").inner_text(), extract, all_names, where)
        if problem:
            session.violations.append(problem)

    async def rows_read(where: str) -> None:
        pairs = await page.evaluate(_METRICS_JS, METRIC)
        shown = {label.strip(): value.strip() for label, value in pairs}.get(ROWS_READ_LABEL, "")
        if shown.replace(",", "") != str(extract.policies):
            session.violations.append(f"{where}: Data page shows {ROWS_READ_LABEL} {shown!r}; expected {extract.policies:,}")

    step = "open"
    try:
        started = time.perf_counter()
        await page.goto(url)
        await page.wait_for_selector(METRIC)
        await page.wait_for_function(_IDLE_JS, polling=100)
        session.page_times["open (sample)"] = time.perf_counter() - started

        # Upload: ready once the Data page's account shows this file's count.
        step = "upload"
        await page.evaluate(_ARM_JS)
        await page.locator(UPLOAD_INPUT).first.set_input_files(str(extract.path))
        expected = f"{extract.policies:,}"
        await page.wait_for_function(
            """([sel, label, value]) => Array.from(document.querySelectorAll(sel)).some((m) =>
                 ((m.querySelector('[data-testid="stMetricLabel"]') || {}).innerText || '').trim() === label &&
                 ((m.querySelector('[data-testid="stMetricValue"]') || {}).innerText || '').trim() === value)""",
            arg=[METRIC, ROWS_READ_LABEL, expected],
            polling=100,
        )
        session.page_times["data (upload)"], _ = await ready(None, page_timeout_s, new_title=False)
        session.pages_walked += 1
        await rows_read("data after upload")
        await check("data after upload")

        links = await page.evaluate(_NAV_JS)
        data_path = links[0][0]
        for path, _label in [*links[1:], links[0]]:
            step = path or "data"
            await page.evaluate(_ARM_JS)
            await page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').first.click()
            seconds, training = await ready(path, model_timeout_s if path in MODEL_PAGES else page_timeout_s, new_title=True)
            session.page_times[path if path != data_path else "data (again)"] = seconds
            if training:
                session.trained_on.append(path)
            session.pages_walked += 1
            if screenshots is not None:
                await page.screenshot(path=str(screenshots / f"{extract.name[:-4]}_{len(session.page_times):02d}_{path or 'data'}.png"))
            await check(path)
            if path == data_path:
                await rows_read("data again")
        session.finished = True
    except (TimeoutError, PlaywrightTimeout) as exc:
        session.problems.append(f"{step}: timed out: {str(exc).splitlines()[0]}; {await diagnose(page, extract, step)}")
    except Exception as exc:  # a crash of one session is reported, the others carry on
        session.problems.append(
            f"{step}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; {await diagnose(page, extract, step)}"
        )
    finally:
        await context.close()


_DIAGNOSE_JS = """() => {
  const text = (sel) => Array.from(document.querySelectorAll(sel)).map((e) => e.innerText.replace(/\\s+/g, ' ').trim()).filter(Boolean);
  const app = document.querySelector('[data-testid="stApp"]');
  return {
    url: location.pathname,
    state: app ? app.getAttribute('data-test-script-state') : null,
    title: text('[data-testid="stMain"] h1'),
    uploader: text('[data-testid="stFileUploader"]').map((t) => t.slice(0, 200)),
    alerts: text('[data-testid="stAlert"], [data-testid="stException"], [data-testid="stToast"]').map((t) => t.slice(0, 200)),
    metrics: text('[data-testid="stMetric"]'),
    progress: text('[data-testid="stProgress"]'),
    stale: document.querySelectorAll('[data-stale="true"]').length,
    status: text('[data-testid="stStatusWidget"]'),
  };
}"""


async def diagnose(page, extract: Extract, step: str) -> str:
    """What the page showed when a step failed; a screenshot goes to benchmarks/out/bench_load_failures/."""
    try:
        folder = OUT / "bench_load_failures"
        folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(folder / f"{extract.name[:-4]}_{step or 'data'}.png"), timeout=10_000)
        return f"page showed {await page.evaluate(_DIAGNOSE_JS)}"
    except Exception as exc:  # the page may be gone
        return f"(no diagnosis: {type(exc).__name__})"


async def run_wave(
    browser, url: str, sessions: list[Session], all_names: dict[str, int], args: argparse.Namespace, deadline: float
) -> None:
    tasks = [
        asyncio.create_task(run_session(browser, url, s, all_names, args.page_timeout, args.model_timeout, args.screenshots))
        for s in sessions
    ]
    remaining = deadline - time.monotonic()
    done, pending = await asyncio.wait(tasks, timeout=max(1.0, remaining))
    for task in pending:
        task.cancel()
    for session in sessions:
        if not session.finished and not session.problems:
            session.problems.append("cut off by the overall time cap (--seconds)")
    await asyncio.gather(*pending, return_exceptions=True)


# --- reporting ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def report(sessions: list[Session], memory: list[tuple[str, float, float]], hwm: float, end_rss: float, seconds: float) -> int:
    times: dict[str, list[float]] = {}
    for s in sessions:
        for name, value in s.page_times.items():
            times.setdefault(name, []).append(value)
    walked = [v for name, values in times.items() if name != "open (sample)" for v in values]
    violations = [v for s in sessions for v in s.violations]
    problems = [f"{s.extract.name}: {p}" for s in sessions for p in s.problems]
    finished = sum(s.finished for s in sessions)

    print(
        f"sessions: {len(sessions)} ({finished} walked every page), pages walked: "
        f"{sum(s.pages_walked for s in sessions)}, wall time {seconds:.0f} s"
    )
    print(f"isolation violations: {len(violations)}")
    for v in violations:
        print(f"  VIOLATION {v}")
    print(f"page errors or unfinished sessions: {len(problems)}")
    for p in problems:
        print(f"  PROBLEM {p}")
    first_model_page = next((p for p in MODEL_PAGES if p in times), None)
    retrained = [f"{s.extract.name} on {p}" for s in sessions for p in s.trained_on if p != first_model_page]
    waited = sum(first_model_page in s.trained_on for s in sessions)
    print(
        f"risk model: {waited} sessions found it training on {first_model_page}; "
        f"dropped and trained again for a later page: {len(retrained)}" + (f" ({', '.join(retrained)})" if retrained else "")
    )
    print(
        f"page times, all pages walked after the upload (n={len(walked)}): "
        f"median {statistics.median(walked) if walked else float('nan'):.2f} s, "
        f"95th percentile {percentile(walked, 95):.2f} s"
    )
    print(f"  {'page':<16}{'n':>4}{'median':>10}{'p95':>10}{'max':>10}")
    for name, values in times.items():
        print(f"  {name:<16}{len(values):>4}{statistics.median(values):>9.2f}s{percentile(values, 95):>9.2f}s{max(values):>9.2f}s")
    print("server memory (streamlit process, VmRSS sampled every 0.25 s):")
    for label, rss_end, peak in memory:
        print(f"  {label:<44} RSS {rss_end:>7,.0f} MB   peak during it {peak:>7,.0f} MB")
    print(f"  peak RSS of the whole run (VmHWM) {hwm:,.0f} MB, RSS at the end {end_rss:,.0f} MB")
    waves = [m for m in memory if m[0].startswith("after wave")]
    if len(waves) >= 2:
        base = memory[0][1]
        growth = [waves[0][1] - base] + [waves[i][1] - waves[i - 1][1] for i in range(1, len(waves))]
        print("  growth per wave of new data sets: " + ", ".join(f"wave {i + 1} {g:+,.0f} MB" for i, g in enumerate(growth)))
        # The first wave also pays for the libraries loaded on first use and the sample, so later waves are
        # compared with each other: with bounded caches their growth falls towards zero once the caches are full.
        later = growth[1:]
        per_set = statistics.mean(later) / max(1, len(sessions) // len(waves))
        print(
            f"  after the first wave: {statistics.mean(later):+,.0f} MB per wave on average ({per_set:+.1f} MB per new data set), "
            f"last wave {later[-1]:+,.0f} MB; the first wave added {growth[0]:+,.0f} MB"
        )
    return 0 if not violations and not problems and finished == len(sessions) else 1


async def main_async(args: argparse.Namespace) -> int:
    from playwright.async_api import async_playwright

    started = time.monotonic()
    deadline = started + args.seconds
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lapselens-load-") as folder:
        title, rows = accepted_sample_rows()
        extracts = make_extracts(args.sessions, args.waves, Path(folder), title, rows)
        all_names = {e.name: e.policies for e in extracts}
        print(
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
            "at the start (other work on the machine slows every page)"
        )
        print(
            f"{len(extracts)} extracts of {extracts[0].policies:,}–{extracts[-1].policies:,} "
            f"policies; {args.sessions} concurrent sessions per wave, {args.waves} waves"
        )
        process, url = start_server(OUT / "bench_load_streamlit.log")
        sampler = MemorySampler(process.pid)
        sampler.start()
        memory: list[tuple[str, float, float]] = []
        sessions: list[Session] = []
        try:
            memory.append(("server started", sampler.now(), sampler.now()))
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                try:
                    for wave in range(args.waves):
                        if time.monotonic() >= deadline:
                            break
                        t0 = time.monotonic() - sampler.started_at
                        batch = [Session(e, wave) for e in extracts[wave * args.sessions : (wave + 1) * args.sessions]]
                        sessions += batch
                        await run_wave(browser, url, batch, all_names, args, deadline)
                        memory.append((f"after wave {wave + 1} ({len(batch)} new data sets)", sampler.now(), sampler.peak_since(t0)))
                finally:
                    await browser.close()
            status = proc_status_mb(process.pid)
            sampler.stop()
            print(f"load average {os.getloadavg()[0]:.1f} at the end")
            code = report(
                sessions, memory, status.get("VmHWM", float("nan")), status.get("VmRSS", float("nan")), time.monotonic() - started
            )
        finally:
            sampler.stop()
            stop_server(process)
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions per wave (default 8)")
    parser.add_argument("--waves", type=int, default=2, help="waves of new sessions with new extracts (default 2)")
    parser.add_argument("--seconds", type=float, default=600, help="overall time cap in seconds (default 600)")
    parser.add_argument("--page-timeout", type=float, default=120, help="per-page timeout in seconds (default 120)")
    parser.add_argument("--model-timeout", type=float, default=400, help="timeout for the pages that wait for the risk model (default 400)")
    parser.add_argument("--screenshots", type=Path, default=None, help="save a screenshot of every page walked into this folder")
    args = parser.parse_args()
    if args.screenshots is not None:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
