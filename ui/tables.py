"""Display shaping for tables: translated headers and codes, editor rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis.ingest.account import worded_account
from analysis.ingest.presets import MappingPreset
from analysis.ingest.survey import ExtractSurvey
from analysis.personal import STRUCTURED, mask_identifiers
from analysis.report.catalogue import LANGUAGES, column_label, value_word
from analysis.report.export import neutralise
from analysis.schema import CANONICAL_COLUMNS, STATUSES
from ui.i18n import has, language, t

#: Rows of the account the page shows (the downloads have them all).
ACCOUNT_ROWS_SHOWN = 5000


def header_label(column: object) -> str:
    """The translated header of a known column (canonical or table column)."""
    return column_label(column, language())


def translate_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with translated headers and translated code values."""
    out = frame.copy()
    for column in ("verdict", "action"):
        if column in out:
            out[column] = out[column].map(lambda v: t(f"action.{v}") if has(f"action.{v}") else v)
    if "kind" in out:
        out["kind"] = out["kind"].map(lambda v: t(f"kind.{v}") if has(f"kind.{v}") else v)
    if "status" in out:
        out["status"] = out["status"].map(lambda v: t(f"status.{v}") if has(f"status.{v}") else v)
    out.columns = distinct_headers([header_label(c) for c in out.columns])
    return out


def distinct_headers(headers: list[str]) -> list[str]:
    """Headers made distinct: a repeat gets `` (2)``, `` (3)`` (a file's own 证件号码 beside the translated ``id_number``)."""
    seen: set[str] = set()
    out = []
    for header in headers:
        name, n = header, 1
        while name in seen:
            n += 1
            name = f"{header} ({n})"
        seen.add(name)
        out.append(name)
    return out


def account_view(table: pd.DataFrame, verdict: str) -> pd.DataFrame:
    """The account table filtered to one verdict ("all" keeps everything), in the session's language."""
    shown = (table if verdict == "all" else table[table["verdict"] == verdict]).head(ACCOUNT_ROWS_SHOWN)
    return translate_columns(worded_account(shown, language()))


def account_sheet(table: pd.DataFrame) -> pd.DataFrame:
    """The whole account in the session's language, for a download."""
    return translate_columns(worded_account(table, language()))


def notes_view(notes: pd.DataFrame) -> pd.DataFrame:
    """The column notes in the session's language, translated (the key and values columns dropped)."""
    shown = notes.copy()
    shown["column"] = shown["column"].map(lambda c: column_label(c, language()) if c in CANONICAL_COLUMNS else c)
    shown["detail"] = [_note_text(code, params, detail) for code, params, detail in zip(shown["note"], shown["params"], shown["detail"])]
    return translate_columns(shown.drop(columns=["note", "params"]))


def _note_text(code: str, params: dict[str, str], detail: str) -> str:
    if language() == "en" or not has(f"note.{code}"):
        return detail
    values = dict(params)
    if "unit" in values and has(f"unit.{values['unit']}"):
        values["unit"] = t(f"unit.{values['unit']}")
    return t(f"note.{code}", **values)


def mapping_rows(result: LoadResult | ExtractSurvey) -> pd.DataFrame:
    """One editable row per canonical column: its source header and confidence (of a load, or of a file that failed to load)."""
    return pd.DataFrame(
        {
            "canonical": list(CANONICAL_COLUMNS),
            "label": [t(f"canon.{c}") for c in CANONICAL_COLUMNS],
            "source": [result.mapping[c].source if c in result.mapping else "" for c in CANONICAL_COLUMNS],
            "confidence": [result.mapping[c].confidence if c in result.mapping else None for c in CANONICAL_COLUMNS],
        }
    )


def status_words() -> dict[str, str]:
    """Each canonical status in the UI language (the editor's choices), by code."""
    return {s: t(f"status.{s}") for s in STATUSES}


def status_rows(result: LoadResult | ExtractSurvey) -> pd.DataFrame:
    """One editable row per distinct source status value with its canonical status, in words."""
    frame = result.status_values.groupby(["value", "status"], as_index=False)["count"].sum()
    frame["status"] = frame["status"].map(status_words())
    return frame.sort_values("count", ascending=False)[["value", "count", "status"]].reset_index(drop=True)


def column_config(frame: pd.DataFrame) -> dict[str, object]:
    """Display formats for a translated frame: dates without a time, amounts with separators."""
    config: dict[str, object] = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            config[column] = st.column_config.DateColumn(column, format="YYYY-MM-DD")
        elif pd.api.types.is_float_dtype(series):
            config[column] = st.column_config.NumberColumn(column, format="localized")
    return config


def status_totals(result: LoadResult) -> pd.DataFrame:
    """Accepted policies per canonical status (:attr:`LoadResult.status_counts`), largest first."""
    counts = sorted(result.status_counts.items(), key=lambda item: -item[1])
    return pd.DataFrame(counts, columns=["status", "count"])


def rate_column_config(frame: pd.DataFrame) -> dict[str, object]:
    """Formats for a translated rate table: rates as percentages, exposure with separators."""
    config: dict[str, object] = {}
    for key, fmt in (
        ("rate", "percent"),
        ("lower", "percent"),
        ("upper", "percent"),
        ("exposure", "localized"),
        ("events", "localized"),
        ("expected", "localized"),
    ):
        label = header_label(key)
        if label in frame.columns:
            config[label] = st.column_config.NumberColumn(label, format=fmt)
    for key in ("credibility", "ae"):
        label = header_label(key)
        if label in frame.columns:
            config[label] = st.column_config.NumberColumn(label, format="%.2f")
    return config


#: What an empty table cell shows (Streamlit's own placeholder is the English word "None").
EMPTY_CELL = "—"


def code_headers() -> frozenset[str]:
    """The headers of code columns (the policy number, the product…) as the tables show them, in every language."""
    return frozenset(STRUCTURED) | {column_label(c, lang) for c in STRUCTURED for lang in LANGUAGES}


def safe_table(data: pd.DataFrame, *, show_identifiers: bool = False) -> pd.DataFrame:
    """A table as it may leave the screen: personal identifiers masked (unless shown), formulas inert, headers distinct.

    The table toolbar downloads what the table holds, so this is what it downloads.
    """
    frame = data.copy()
    if frame.columns.duplicated().any():
        frame.columns = distinct_headers([str(c) for c in frame.columns])
    if not show_identifiers:
        frame = mask_identifiers(frame, keep=code_headers())
    return neutralise(frame)


def show_table(data: object, *, show_identifiers: bool = False, **options: Any) -> Any:
    """``st.dataframe`` for every table on the pages: empty cells show :data:`EMPTY_CELL`.

    The one door through which tables reach the screen (views and ui never call
    ``st.dataframe`` themselves), so a rule for every table is written here once: a frame is
    shown through :func:`safe_table` (names, phone and ID numbers masked unless the page's
    own tick box ``show_identifiers`` says otherwise; formula-looking text made inert), so the
    toolbar's download is safe too.
    """
    if isinstance(data, pd.DataFrame):
        data = safe_table(data, show_identifiers=show_identifiers)
    return st.dataframe(data, placeholder=EMPTY_CELL, **options)


def edit_table(data: object, **options: Any) -> Any:
    """``st.data_editor`` for every editable table: empty cells show :data:`EMPTY_CELL` (see :func:`show_table`)."""
    return st.data_editor(data, placeholder=EMPTY_CELL, **options)


def level_label(value: object, labels: dict[str, str] | None = None, column: str = "") -> str:
    """A cohort level as a reader sees it: named codes from ``labels``, else the value's words (blanks, yes/no, codes of ``column``)."""
    text = str(value)
    if labels and text in labels:
        return labels[text]
    word = value_word(column, value, language())
    return text if word is None else word


def display_levels(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], labels: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy with the levels of ``columns`` as readers see them (:func:`level_label`), in their original order.

    The result is categorical, so charts and tables keep the order (bands low to high, blanks last).
    """
    out = frame.copy()
    for column in columns:
        if column not in out.columns:
            continue
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            order = [*values.cat.categories, *([None] if values.isna().any() else [])]
        else:
            order = pd.Series(values.dropna().unique()).sort_values(kind="stable").tolist() + ([None] if values.isna().any() else [])
        words = {v: level_label(v, labels, column) for v in order if v is not None}  # once per level, not per row
        blank = level_label(None, labels, column)
        shown = values.astype(object).map(words).where(values.notna(), blank)
        out[column] = pd.Categorical(
            shown, categories=list(dict.fromkeys([*words.values(), *([blank] if None in order else [])])), ordered=True
        )
    return out


def preset_from_editors(result: LoadResult | ExtractSurvey, columns: pd.DataFrame, statuses: pd.DataFrame) -> MappingPreset:
    """The mapping the user edited, as a preset: every canonical column listed, no auto-mapping.

    The status editor shows statuses in words; they are turned back into codes here.
    """
    codes = {word: code for code, word in status_words().items()} | {code: code for code in STATUSES}
    return MappingPreset(
        columns={row.canonical: row.source or "" for row in columns.itertuples(index=False) if row.canonical in CANONICAL_COLUMNS},
        status_values={str(row.value): codes[str(row.status)] for row in statuses.itertuples(index=False) if str(row.status) in codes},
        settings={k: v for k, v in result.preset.settings.items() if k != "auto_map"} | {"auto_map": False},
    )


def percent_config(frame: pd.DataFrame, keys: tuple[str, ...]) -> dict[str, object]:
    """Formats for a translated frame: the columns named by ``keys`` as percentages, other floats with separators."""
    config = column_config(frame)
    for key in keys:
        label = header_label(key)
        if label in frame.columns:
            config[label] = st.column_config.NumberColumn(label, format="percent")
    return config
