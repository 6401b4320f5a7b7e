"""Display shaping for tables: translated headers and codes, editor rows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis.schema import CANONICAL_COLUMNS
from ui.i18n import has, t


def header_label(column: object) -> str:
    """The translated header of a known column (canonical or table column)."""
    name = str(column)
    for prefix in ("col.", "canon."):
        if has(prefix + name):
            return t(prefix + name)
    return name


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
    return out.rename(columns={c: header_label(c) for c in out.columns})


def account_view(table: pd.DataFrame, verdict: str) -> pd.DataFrame:
    """The account table filtered to one verdict ("all" keeps everything), translated."""
    shown = table if verdict == "all" else table[table["verdict"] == verdict]
    return translate_columns(shown.head(5000))


def mapping_rows(result: LoadResult) -> pd.DataFrame:
    """One editable row per canonical column: its source header and confidence."""
    return pd.DataFrame(
        {
            "canonical": list(CANONICAL_COLUMNS),
            "label": [t(f"canon.{c}") for c in CANONICAL_COLUMNS],
            "source": [result.mapping[c].source if c in result.mapping else "" for c in CANONICAL_COLUMNS],
            "confidence": [result.mapping[c].confidence if c in result.mapping else None for c in CANONICAL_COLUMNS],
        }
    )


def status_rows(result: LoadResult) -> pd.DataFrame:
    """One editable row per distinct source status value with its canonical status."""
    frame = result.status_values.groupby(["value", "status"], as_index=False)["count"].sum()
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
