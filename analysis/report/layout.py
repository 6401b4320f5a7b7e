"""A report workbook laid out as a finance team sends one: titled tables on few sheets, number formats, native charts.

A sheet is a list of blocks (:class:`Block`) written one below the other: a title, lines of notes, a
bold header and the table, each column in its own Excel number format (money ``¥1,234``,
percentages ``12.3%``: the cells stay numbers). A block may carry native Excel charts of its
own columns (:class:`Chart`: a line against a dashed target, bars, a funnel's columns), drawn to
the right of its table, and a three-colour scale over its body (a persistency triangle). Every
frame is neutralised (:func:`analysis.report.export.neutralise`) before it is written.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any, Final, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.report.export import neutralise

#: Rows left empty between two blocks of a sheet.
GAP_ROWS: Final = 2
#: Excel's default row height in pixels (a chart's height is counted in rows of it).
ROW_PIXELS: Final = 20
#: A chart's size in pixels, and the extra height a bar chart takes per category.
CHART_WIDTH: Final = 620
CHART_HEIGHT: Final = 300
BAR_PIXELS: Final = 22
#: Columns left empty between a table and its chart.
CHART_GAP_COLUMNS: Final = 1
#: Column widths in characters: bounds, and the rows read to size a column.
MIN_WIDTH, MAX_WIDTH, SIZED_ROWS = 8.0, 48.0, 500
#: The colour scale of a triangle: low red, middle yellow, high green (Excel's own red-yellow-green).
SCALE_COLOURS: Final = {"min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B"}
#: Series colours, in order; a target takes its series' colour, dashed.
PALETTE: Final = ("#1F4E79", "#C55A11", "#548235", "#7030A0")


@dataclass(frozen=True)
class Series:
    """One series of a chart: the header of its values column and its name in the legend; ``dashed`` for a target."""

    values: str
    name: str
    dashed: bool = False
    colour: int = 0


@dataclass(frozen=True)
class Chart:
    """A native Excel chart of its block's columns: ``kind`` ``line``, ``bar`` (horizontal) or ``column``.

    ``categories`` is the header of the category column; ``number_format`` that of the value axis;
    ``low``/``high`` fix the value axis (None: Excel chooses).
    """

    kind: str
    title: str
    categories: str
    series: tuple[Series, ...]
    number_format: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Block:
    """One table on a sheet: title and notes above it, number formats by header, charts and a colour scale."""

    frame: pd.DataFrame
    title: str = ""
    notes: tuple[str, ...] = ()
    formats: Mapping[str, str] = field(default_factory=dict)
    charts: tuple[Chart, ...] = ()
    colour_scale: bool = False


@dataclass(frozen=True)
class Placed:
    """Where a block's table landed: its sheet, header row (0-based) and size."""

    sheet: str
    header_row: int
    rows: int
    columns: tuple[str, ...]

    def column_range(self, header: str) -> list[Any]:
        """``[sheet, first_row, column, last_row, column]`` of a column's values, as xlsxwriter takes a range."""
        j = self.columns.index(header)
        return [self.sheet, self.header_row + 1, j, self.header_row + max(self.rows, 1), j]


def write_blocks(sheets: Mapping[str, Sequence[Block]]) -> bytes:
    """Write the sheets (name → blocks, top to bottom) to one ``.xlsx`` (see the module's notes)."""
    buffer = io.BytesIO()
    import xlsxwriter

    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "in_memory": True}
    with xlsxwriter.Workbook(buffer, options) as book:
        styles = _Styles(book)
        for name, blocks in sheets.items():
            sheet = book.add_worksheet(name[:31])
            row, widths = 0, dict[int, float]()
            for block in blocks:
                placed, height = _write_block(book, sheet, styles, block, row, widths)
                if len(blocks) == 1:  # one table on the sheet: its header and first column stay in view
                    sheet.freeze_panes(placed.header_row + 1, 1)
                row += height + GAP_ROWS
            for j, width in widths.items():
                sheet.set_column(j, j, float(np.clip(width * 1.2 + 2, MIN_WIDTH, MAX_WIDTH)))
    return buffer.getvalue()


class _Styles:
    """The workbook's cell formats: title, note, header, and one per number format (made once each)."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.title = book.add_format({"bold": True, "font_size": 13})
        self.note = book.add_format({"italic": True, "font_color": "#595959"})
        self.header = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True, "valign": "top"})
        self._numbers: dict[str, Any] = {}

    def number(self, text: str | None) -> Any:
        if not text:
            return None
        if text not in self._numbers:
            self._numbers[text] = self.book.add_format({"num_format": text})
        return self._numbers[text]


def _cells(values: pd.Series) -> list[Any]:
    """A column as Python cells: numbers, text, None for a blank (NaN, NA)."""
    out: list[Any] = []
    for value in values.astype(object).tolist():
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
            out.append(None)
        elif isinstance(value, (bool, np.bool_)):
            out.append(str(value))
        elif isinstance(value, (int, float, np.integer, np.floating)):
            out.append(float(value) if math.isfinite(float(value)) else None)
        elif isinstance(value, (pd.Timestamp, np.datetime64)):
            out.append(pd.Timestamp(value).date().isoformat())
        else:
            out.append(str(value))
    return out


def _write_block(book: Any, sheet: Any, styles: _Styles, block: Block, row: int, widths: dict[int, float]) -> tuple[Placed, int]:
    """One block at ``row``: title, notes, header, body, colour scale and charts; returns where and how many rows it took."""
    start = row
    if block.title:
        sheet.write_string(row, 0, block.title, styles.title)
        row += 1
    for line in block.notes:
        sheet.write_string(row, 0, line, styles.note)
        row += 1
    frame = neutralise(block.frame)
    headers = tuple(str(c) for c in frame.columns)
    for j, header in enumerate(headers):
        sheet.write_string(row, j, header, styles.header)
        cells = _cells(frame.iloc[:, j])
        fmt = styles.number(block.formats.get(str(block.frame.columns[j])))
        for i, value in enumerate(cells):
            if value is None:
                sheet.write_blank(row + 1 + i, j, None, fmt)
            elif isinstance(value, float):
                sheet.write_number(row + 1 + i, j, value, fmt)
            else:
                sheet.write_string(row + 1 + i, j, value, fmt)
        texts = [len(header) * 0.7] + [len(v) if isinstance(v, str) else 10 for v in cells[:SIZED_ROWS]]
        widths[j] = max(widths.get(j, 0.0), float(max(texts)))
    placed = Placed(str(sheet.name), row, len(frame), headers)
    if block.colour_scale and len(frame) and len(headers) > 1:
        sheet.conditional_format(row + 1, 1, row + len(frame), len(headers) - 1, {"type": "3_color_scale", **SCALE_COLOURS})
    height = row + 1 + len(frame) - start
    chart_row = start
    for spec in block.charts:
        chart, rows = _chart(book, spec, placed, [str(c) for c in block.frame.columns])
        sheet.insert_chart(chart_row, len(headers) + CHART_GAP_COLUMNS, chart)
        chart_row += rows + 1
    return placed, max(height, chart_row - start)


def _chart(book: Any, spec: Chart, placed: Placed, raw: list[str]) -> tuple[Any, int]:
    """The xlsxwriter chart of ``spec`` over the placed block (``raw``: the block's headers before neutralising)."""
    chart = book.add_chart({"type": spec.kind})
    header = dict(zip(raw, placed.columns))
    for series in spec.series:
        colour = PALETTE[series.colour % len(PALETTE)]
        options: dict[str, Any] = {
            "name": series.name,
            "categories": placed.column_range(header[spec.categories]),
            "values": placed.column_range(header[series.values]),
        }
        if spec.kind == "line":
            options["line"] = {"color": colour, "width": 1.5 if series.dashed else 2.25, **({"dash_type": "dash"} if series.dashed else {})}
            options["marker"] = {"type": "none"} if series.dashed else {"type": "circle", "size": 4, "fill": {"color": colour}}
        else:
            options["fill"] = {"color": colour}
        chart.add_series(options)
    axis: dict[str, Any] = {"num_format": spec.number_format, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}}
    if spec.low is not None:
        axis["min"] = spec.low
    if spec.high is not None:
        axis["max"] = spec.high
    if spec.kind == "bar":
        chart.set_x_axis(axis)
        chart.set_y_axis({"reverse": True})  # the table's first row at the top
    else:
        chart.set_y_axis(axis)
    chart.set_title({"name": spec.title, "name_font": {"size": 11, "bold": True}})
    chart.set_legend({"position": "bottom"} if len(spec.series) > 1 else {"none": True})
    chart.show_blanks_as("gap")
    height = CHART_HEIGHT + (BAR_PIXELS * max(placed.rows - 8, 0) if spec.kind == "bar" else 0)
    chart.set_size({"width": CHART_WIDTH, "height": height})
    return chart, math.ceil(height / ROW_PIXELS)
