"""Big extracts for the benchmarks, made by tiling the bundled sample with fresh policy numbers.

Files are written once to ``benchmarks/out/`` and reused.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
SAMPLE = ROOT / "data" / "sample_policies.csv"


def _sample_table() -> pa.Table:
    return pacsv.read_csv(
        SAMPLE,
        read_options=pacsv.ReadOptions(skip_rows=1),
        convert_options=pacsv.ConvertOptions(strings_can_be_null=False, column_types={"保单号": pa.string()}),
    )


def _policy_rows(table: pa.Table) -> pa.Table:
    ids = table.column("保单号").to_pylist()
    keep = np.array([i.isdigit() for i in ids])
    return table.filter(pa.array(keep))


def big_table(n: int) -> pa.Table:
    """``n`` policy rows: the sample's rows repeated, every copy with new policy numbers."""
    base = _policy_rows(_sample_table())
    reps = -(-n // base.num_rows)
    table = pa.concat_tables([base] * reps).slice(0, n)
    ids = np.char.add("9", np.char.zfill(np.arange(n).astype(str), 17))
    index = table.schema.get_field_index("保单号")
    return table.set_column(index, "保单号", pa.array(ids))


def big_csv(n: int) -> Path:
    """A CSV extract with ``n`` policies (title row and Chinese headers, like the sample)."""
    path = OUT / f"extract_{n}.csv"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        table = big_table(n)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            handle.write("某某人寿 保单明细,统计截止日：2026-09-30\n".encode())
            pacsv.write_csv(table, handle, write_options=pacsv.WriteOptions(quoting_style="needed"))
        tmp.rename(path)
    return path


def big_xlsx(n: int) -> Path:
    """An ``.xlsx`` extract with ``n`` policies, with a shared-strings table as Excel itself writes.

    (xlsxwriter's constant-memory mode writes inline strings instead, which read about
    1.6× slower and are not what analysts receive.)
    """
    import xlsxwriter

    path = OUT / f"extract_{n}_shared.xlsx"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        table = big_table(n)
        tmp = path.with_suffix(".tmp.xlsx")
        book = xlsxwriter.Workbook(str(tmp))
        sheet = book.add_worksheet("保单明细")
        sheet.write_row(0, 0, ["某某人寿 保单明细", "统计截止日：2026-09-30"])
        sheet.write_row(1, 0, table.column_names)
        columns = [c.to_pylist() for c in table.columns]
        for r in range(n):
            sheet.write_row(r + 2, 0, [col[r] for col in columns])
        book.close()
        tmp.rename(path)
        print(f"(wrote {path.name} in {time.perf_counter() - started:.0f} s)")
    return path


def median_time(work: Callable[[], object], runs: int = 3) -> float:
    """Median wall time of ``runs`` calls of ``work``, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
