"""What a file holds, read even when the door refuses it: its headers, the mapping they get, its status words.

A load that fails for want of a column (an unrecognised layout, a preset that names a column
the file lacks, a date column without dates) still read the file: :func:`inspect_extract`
reads it again without the checks that refused it, so the Data page can show the failed
file's own columns and status values in its mapping editors, the user can map them and
load again, and :func:`~analysis.ingest.presets.fitting_presets` can offer a preset that fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.ingest.columns import status_values
from analysis.ingest.headers import ColumnMatch, resolve_mapping
from analysis.ingest.pipeline import BYTES_PER_MB
from analysis.ingest.presets import MappingPreset
from analysis.ingest.reading import read_table
from analysis.ingest.text import normalise_key


@dataclass(frozen=True)
class ExtractSurvey:
    """The columns of a file and what the mapping makes of them, without loading its policies.

    Attributes
    ----------
    headers : list of str
        The file's headers (made unique), in its order.
    mapping : dict
        canonical column → :class:`~analysis.ingest.headers.ColumnMatch`: the preset's
        choices that the file has, and the headers recognised automatically.
    status_values : pandas.DataFrame
        ``[value, status, count]``: the values of the mapped status column and their
        canonical status (``unmapped`` when unknown); empty without a status column.
    preset : MappingPreset
        The preset the file was read with (its settings carry over into an edited mapping).
    header_row : int
        Source row number of the header.
    """

    headers: list[str]
    mapping: dict[str, ColumnMatch]
    status_values: pd.DataFrame
    preset: MappingPreset = field(default_factory=MappingPreset)
    header_row: int = 1


def inspect_extract(
    source: bytes | str | Path,
    *,
    filename: str | None = None,
    preset: MappingPreset | None = None,
    sheet: str | int | None = None,
    max_bytes: int | None = None,
) -> ExtractSurvey:
    """Read a file's headers and status values as :func:`~analysis.ingest.pipeline.load_extract` would.

    A preset column the file lacks is left out of the mapping (``load_extract`` refuses the
    file instead); required columns may be missing.

    Raises
    ------
    ExtractError
        When the file cannot be read as a table at all (then there are no columns to show).
    """
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    if max_bytes is not None and len(data) > max_bytes:
        raise ExtractError(
            "too_large", reason="upload_limit", size=f"{len(data) / BYTES_PER_MB:.1f}", limit=f"{max_bytes / BYTES_PER_MB:.0f}"
        )
    preset = preset or MappingPreset()
    raw = read_table(data, filename=filename, sheet=sheet if sheet is not None else preset.settings.get("sheet"))
    headers = list(raw.cells.columns)
    kept = {canonical: header for canonical, header in preset.columns.items() if not header or header in headers}
    mapping = resolve_mapping(headers, kept, auto=bool(preset.settings.get("auto_map", True)))
    statuses = pd.DataFrame({"value": pd.Series(dtype=object), "status": pd.Series(dtype=object), "count": pd.Series(dtype="int64")})
    if S.STATUS in mapping:
        words: dict[str, object] = dict(S.STATUS_ALIASES)
        words.update({normalise_key(word): status for word, status in preset.status_values.items()})
        statuses = status_values(raw.cells[mapping[S.STATUS].source], words)
    return ExtractSurvey(headers=headers, mapping=mapping, status_values=statuses, preset=preset, header_row=raw.header_row)
