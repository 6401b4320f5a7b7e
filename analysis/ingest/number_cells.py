"""Policy numbers a workbook held in number cells: Excel kept 15 of their digits, whatever the rest of the column holds.

Every cell of a workbook is read as text, so a 20-digit policy number typed as text and one
Excel stored as a number (8.61123456789012E+19, written out by the reader as the double's
integer) look alike. Which was which is asked of the workbook
(:class:`~analysis.ingest.raw.NumberCells`), for the candidates only, while the other columns
are read (:func:`~analysis.ingest.columns.start_parses` starts it on the pool);
:func:`flag_number_cell_ids` collects the answer and flags each such row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.ingest.intake import Intake
from analysis.ingest.ledger import FLAGGED
from analysis.ingest.parsing import EXCEL_DIGITS
from analysis.ingest.raw import NumberCells
from analysis.ingest.text import arrow_text, as_text, holds_byte

#: The key of the look at a workbook's number cells: started with the parses, collected by :func:`flag_number_cell_ids`.
NUMBER_CELLS = ("number_cells", S.POLICY_ID)
#: 10**18 is a multiple of 2**18: the last 18 digits of a number settle whether 2**k divides it, for k up to 18.
_TAIL_DIGITS = 18
#: Bits of a binary double's significand: a larger integer is a double only when a multiple of 2**(bits − 53).
_SIGNIFICAND_BITS = 53


def number_cell_question(intake: Intake) -> tuple[NumberCells, int, np.ndarray, pd.Series] | None:
    """What to ask the workbook about the policy-number column: its position, rows and cells (None: nothing to ask)."""
    cells = intake.raw.number_cells
    if cells is None or S.POLICY_ID not in intake.mapping:
        return None
    return cells, intake.headers.index(intake.mapping[S.POLICY_ID].source), intake.rows, intake.source(S.POLICY_ID)


def number_cell_rows(cells: NumberCells, position: int, rows: np.ndarray, column: pd.Series) -> np.ndarray:
    """Per row: a policy number of more than 15 digits that the workbook held in a number cell.

    Only a workbook knows its cells' types, and asking costs a look at its XML, so only the
    candidates are asked about: numbers of more than :data:`EXCEL_DIGITS` digits that are
    exactly a binary double (what a number cell holds, written out in full by the reader;
    ``.0`` read back from a number is dropped first). A long number typed as text is rarely
    one (a 20-digit number one time in 16,384), and then the workbook says it is text. The
    workbook is let go afterwards.
    """
    flagged = np.zeros(len(column), dtype=bool)
    try:
        texts = as_text(column)
        if holds_byte(texts, b"."):
            texts = texts.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
        candidates = np.flatnonzero(binary_doubles(texts))
        if len(candidates):
            found = cells(position, rows[candidates], texts.iloc[candidates].astype(str).tolist())
            flagged[candidates[np.asarray(found, dtype=bool)]] = True
    finally:
        cells.release()
    return flagged


def flag_number_cell_ids(intake: Intake) -> None:
    """Policy numbers of more than 15 digits a workbook held in number cells, whatever the rest of the column holds.

    Reads which cells of the policy-number column were number cells (asked of the workbook
    while the other columns were read, :func:`number_cell_rows`) and ``policy_id``. Flags
    each such number not flagged already (``id_precision_lost``): Excel kept 15 of its digits.
    """
    question = number_cell_question(intake)
    if question is None:
        return
    found = intake.ahead.result(NUMBER_CELLS, number_cell_rows, *question)
    if not found.any():
        return
    problems = intake.ledger.frame()
    found[problems.loc[problems["kind"] == "id_precision_lost", "position"].to_numpy(dtype=np.int64)] = False
    ids = intake.out[S.POLICY_ID]
    intake.ledger.add(found, column=intake.label(S.POLICY_ID), kind="id_precision_lost", action=FLAGGED, value=ids, digits=EXCEL_DIGITS)


def binary_doubles(ids: pd.Series) -> np.ndarray:
    """True where a policy number has more than :data:`EXCEL_DIGITS` digits and is exactly a binary double.

    A number of bit length ``b`` above 53 is a double when a multiple of ``2**(b − 53)``;
    that divisibility shows in its last 18 digits. Numbers of more than 21 digits (past
    ``2**71``) are counted as candidates without the test. Leading zeros mark text: a
    number cell has none.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    array = arrow_text(ids)
    lengths = pc.fill_null(pc.binary_length(array), 0)
    digits = pc.fill_null(pc.ascii_is_decimal(array), False)
    leading_zero = pc.fill_null(pc.starts_with(array, "0"), False)
    long_ids = pc.and_(pc.and_(digits, pc.greater(lengths, EXCEL_DIGITS)), pc.invert(leading_zero))
    positions = np.flatnonzero(np.asarray(long_ids.to_numpy(zero_copy_only=False), dtype=bool))
    doubles = np.zeros(len(ids), dtype=bool)
    if not len(positions):
        return doubles
    longs = array.take(pa.array(positions))
    values = np.asarray(pc.cast(longs, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    shift = np.maximum(np.frexp(values)[1] - _SIGNIFICAND_BITS, 0)
    tails = np.asarray(pc.cast(pc.utf8_slice_codeunits(longs, -_TAIL_DIGITS), pa.uint64()).to_numpy(zero_copy_only=False))
    testable = shift <= _TAIL_DIGITS
    divisor = np.left_shift(np.uint64(1), np.minimum(shift, _TAIL_DIGITS).astype(np.uint64))
    doubles[positions] = ~testable | (tails % divisor == 0)
    return doubles
