"""Which source rows are policy rows: the rest (blank rows, 合计/注 rows) is skipped with its reason."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.ingest.ahead import WORKERS
from analysis.ingest.headers import ColumnMatch
from analysis.ingest.raw import RawTable
from analysis.ingest.text import TEXT, blank_mask, starts_with_word

#: Why a source row is not a policy row: the ``reason`` code of ``LoadResult.skipped_rows``, in words
#: ``detail.not_a_policy_row.<reason>`` (see :func:`~analysis.ingest.ledger.problem_details`).
ABOVE_HEADER, HEADER_ROW, BLANK_ROW, FOOTER_ROW = "above_header", "header_row", "blank_row", "footer_row"
SKIP_REASONS = (ABOVE_HEADER, HEADER_ROW, BLANK_ROW, FOOTER_ROW)
#: Up to this many runs of kept rows, Arrow columns are filtered as slices of themselves.
_MAX_SLICES = 2000
#: Columns filtered at a time (all cores busy, and the unfiltered copies freed as we go).
_COLUMNS_PER_BATCH = 2 * WORKERS


@dataclass(frozen=True)
class PolicyRows:
    """The policy rows of a raw table and the account of the others.

    Attributes
    ----------
    cells : pandas.DataFrame
        The cells of the policy rows (and of the rows to be rejected), as read.
    rows : numpy.ndarray
        Their source row numbers.
    skipped : list of (int, str)
        Rows that are not policy rows, with the reason (a code of :data:`SKIP_REASONS`).
    ragged : list of (int, int)
        Rows the reader could not split into the header's columns: rejected, with the number of fields found.
    """

    cells: pd.DataFrame
    rows: np.ndarray
    skipped: list[tuple[int, str]]
    ragged: list[tuple[int, int]]


def footer_rows(values: pd.Series) -> np.ndarray:
    """True where a text starts with a summary or note word (合计, 小计, 注, total...), whatever its case."""
    return starts_with_word(values, S.FOOTER_MARKERS)


def policy_rows(raw: RawTable, mapping: dict[str, ColumnMatch], *, pool: Executor | None) -> PolicyRows:
    """Skip the rows of ``raw`` that are not policies: above the header, blank, or a footer.

    A footer row starts with a summary or note word (:func:`footer_rows`) in its first
    cell or its policy-number cell, and has no issue date. A row the reader could not
    split is skipped when it is blank or a footer, and otherwise rejected as ragged.

    Raises
    ------
    ExtractError
        ``header_only`` when no row is left.
    """
    cells, headers = raw.cells, list(raw.cells.columns)
    skipped = [(row, ABOVE_HEADER) for row, _ in raw.preamble]
    if raw.header_row:
        skipped.append((raw.header_row, HEADER_ROW))
    # A row is blank when every cell is empty (readers give empty cells as missing).
    blank = _blank_rows(cells)
    footer = np.zeros(len(cells), dtype=bool)
    probes = [headers[0]] if headers else []
    if S.POLICY_ID in mapping and mapping[S.POLICY_ID].source not in probes:
        probes.append(mapping[S.POLICY_ID].source)
    for probe in probes:
        footer |= footer_rows(cells[probe])
    footer &= ~blank
    if S.ISSUE_DATE in mapping:  # a real policy row has an issue date, whatever its first cell says
        footer &= blank_mask(cells[mapping[S.ISSUE_DATE].source]).to_numpy(dtype=bool)
    skipped += [(int(row), BLANK_ROW) for row in raw.rows[blank]]
    skipped += [(int(row), FOOTER_ROW) for row in raw.rows[footer]]
    ragged = _split_bad_rows(raw.bad_rows, skipped)
    keep = ~(blank | footer)
    if not keep.all():
        cells = pd.DataFrame(drop_rows({name: cells[name] for name in headers}, ~keep, pool), copy=False)
    if len(cells) == 0 and not ragged:
        raise ExtractError("header_only", reason="no_policy_rows", row=raw.header_row)
    return PolicyRows(cells=cells, rows=raw.rows[keep], skipped=skipped, ragged=ragged)


def _split_bad_rows(bad_rows: list[tuple[int, str, int]], skipped: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """The rows the reader could not split: blank and footer lines are added to ``skipped``, the others returned."""
    texts = [line.replace(",", "").replace("\t", "").strip() for _, line, _ in bad_rows]
    footer = footer_rows(pd.Series(texts, dtype=TEXT))
    ragged: list[tuple[int, int]] = []
    for (row, _, fields), text, is_footer in zip(bad_rows, texts, footer):
        if not text:
            skipped.append((row, BLANK_ROW))
        elif is_footer:
            skipped.append((row, FOOTER_ROW))
        else:
            ragged.append((row, fields))
    return ragged


def _blank_rows(cells: pd.DataFrame) -> np.ndarray:
    """True where every cell of a row is missing; a column without missing cells settles it at once."""
    blank = np.ones(len(cells), dtype=bool) if cells.shape[1] else np.zeros(len(cells), dtype=bool)
    for position in range(cells.shape[1]):
        column = cells.iloc[:, position]
        arrow = getattr(column.array, "_pa_array", None)
        if arrow is not None and arrow.null_count == 0:
            return np.zeros(len(cells), dtype=bool)
        blank &= column.isna().to_numpy(dtype=bool)
        if not blank.any():
            break
    return blank


def drop_rows(columns: dict[str, Any], dropped: np.ndarray, pool: Executor | None) -> dict[str, Any]:
    """The columns without the ``dropped`` rows, as pandas arrays.

    A few rejected rows in a long extract leave a few long runs of kept rows:
    Arrow columns then become chunked arrays of zero-copy slices, so no text is
    copied, and other columns are joined from their runs. Columns cut into many
    runs are gathered row by row. Columns go a few at a time, on all cores, so
    the unfiltered copy of each is freed as we go.
    """
    import pyarrow as pa

    kept = ~dropped
    edges = np.flatnonzero(np.diff(np.concatenate([[False], kept, [False]]).astype(np.int8)))
    runs = list(zip(edges[0::2].tolist(), edges[1::2].tolist()))
    keep_rows = np.flatnonzero(kept)
    result: dict[str, Any] = {}

    def take(key: str) -> Any:
        array = pd.Series(columns[key]).array
        arrow = getattr(array, "_pa_array", None)
        kind: Any = type(array)
        if arrow is not None and len(runs) <= _MAX_SLICES:
            pieces = [chunk for start, stop in runs for chunk in arrow.slice(start, stop - start).chunks]
            return kind(pa.chunked_array(pieces, type=arrow.type))
        if 0 < len(runs) <= _MAX_SLICES:  # a few long runs copy faster than a gather of every row
            return kind._concat_same_type([array[start:stop] for start, stop in runs])
        return array.take(keep_rows)

    keys = list(columns)
    for start in range(0, len(keys), _COLUMNS_PER_BATCH):
        batch = keys[start : start + _COLUMNS_PER_BATCH]
        for key, taken in zip(batch, (pool.map if pool is not None else map)(take, batch)):
            result[key] = taken
            columns[key] = None  # free the unfiltered column
    return result
