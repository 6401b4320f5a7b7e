"""The ledger of a load: every problem of a source row, and every note on a whole column.

Each step of the door (:mod:`analysis.ingest.pipeline`) writes what it did here:
a problem names the source row, the column (its source header), a ``kind`` code,
the ``action`` taken (rejected, repaired or flagged), the value as written, the
``variant`` of the kind's sentence and its parameters; a note says what happened to
a whole column (values reformatted, a column derived or left out). The row account
(accepted, repaired, rejected) is read off the problems at the end.

A problem carries no words: :func:`problem_details` turns problems into sentences of
a language from the catalogue (``detail.<kind>`` or ``detail.<kind>.<variant>``).
"""

from __future__ import annotations

import json
import string
from typing import Final, cast

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.ingest.rows import SKIP_REASONS
from analysis.ingest.text import TEXT
from analysis.report.catalogue import column_label, translate

#: ``variant`` and ``params`` name and fill the sentence of a problem (:func:`problem_details`).
PROBLEM_COLUMNS = ["row", "column", "kind", "action", "value", "variant", "params"]
#: ``note`` is the catalogue key of the text (``note.<note>``) and ``params`` fills it, so the page can show it in 中文.
NOTE_COLUMNS = ["column", "kind", "count", "detail", "note", "params"]
#: What happened to a row with a problem: left out, kept with a value changed, or kept as it was with a warning.
REJECTED, REPAIRED, FLAGGED = "rejected", "repaired", "flagged"
#: The verdict of a source row that is not a policy row (its kind is :data:`NOT_A_POLICY_ROW`).
SKIPPED = "skipped"
NOT_A_POLICY_ROW = "not_a_policy_row"
#: Every kind of row problem the door records, with the variants of its sentence: the catalogue
#: words a variant as ``detail.<kind>.<variant>``, a kind with one sentence (variant "") as
#: ``detail.<kind>``. A row that is not a policy row takes its reason as its variant.
PROBLEM_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "missing_required": (S.POLICY_ID, S.ISSUE_DATE, S.STATUS),
    "invalid_date": ("not_a_date", "not_a_date_blanked", "outside_range", "outside_range_blanked"),
    "invalid_number": ("amount", "age", "income", "duration"),
    "negative_amount": ("",),
    "implausible_age": ("",),
    "unknown_code": (S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.WAIVER, S.GENDER),
    "id_precision_lost": ("",),
    "date_order": (S.STATUS_DATE, S.REINSTATEMENT_DATE),
    "status_corrected": ("",),
    "reinstated_without_lapse": ("",),
    "exit_dated": ("paid_to", "free_look", "lapse", "reinstated"),
    "exit_without_date": (
        "no_status_or_paid_to",
        "no_lapse_or_paid_to",
        "paid_to_before_issue",
        "paid_to_rule_off",
        "free_look_rule_off",
        "lapse_rule_off",
    ),
    "date_after_study": (
        S.ISSUE_DATE,
        S.STATUS_DATE,
        S.LAPSE_DATE,
        S.REINSTATEMENT_DATE,
        f"{S.STATUS_DATE}_derived",
        f"{S.LAPSE_DATE}_derived",
    ),
    "duplicate": ("",),
    "conflicting_duplicate": ("policy", "policy_coverage"),
    "ragged_row": ("",),
    NOT_A_POLICY_ROW: SKIP_REASONS,
}
#: The parameters of a problem without any (JSON text).
NO_PARAMS = "{}"
#: A source value is quoted in a sentence up to this many characters.
_SHOWN_CHARS = 60
#: The language whose sentences name columns as the code does (``status_date, status``, as the
#: command line has always printed them); the others show each column's header.
_CODE_NAMES_LANGUAGE = "en"

#: One column note: (column, kind, count, English text, catalogue note, its parameters).
Note = tuple[str, str, int, str, str, dict[str, str]]


def column_note(column: str, kind: str, count: int, note: str, **params: object) -> Note:
    """One column note: its English text from the catalogue, and the key and values to show it in another language."""
    values = {name: str(value) for name, value in params.items()}
    return (column, kind, int(count), translate(f"note.{note}", "en", **values), note, values)


def detail_key(kind: str, variant: str) -> str:
    """The catalogue key of a problem's sentence: ``detail.<kind>.<variant>``, or ``detail.<kind>`` without a variant."""
    return f"detail.{kind}.{variant}" if variant else f"detail.{kind}"


def params_text(**params: object) -> str:
    """A problem's parameters as the JSON text of the ``params`` column."""
    return json.dumps(params, ensure_ascii=False, sort_keys=True) if params else NO_PARAMS


class Ledger:
    """Collects per-row problems as whole-column masks: no loop over rows.

    ``rows`` are the source row numbers of the policy rows; a problem is recorded
    at the position of its row among them.
    """

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.parts: list[pd.DataFrame] = []
        self.notes: list[Note] = []

    def add(
        self,
        mask: pd.Series | np.ndarray,
        *,
        column: str,
        kind: str,
        action: str,
        variant: str = "",
        value: pd.Series | None = None,
        **params: object,
    ) -> None:
        """Record a problem for every row where ``mask`` is true.

        ``kind`` and ``variant`` name the sentence (:data:`PROBLEM_KINDS`); ``value`` is
        the source value (``{value}`` in the sentence); ``params`` fill its other
        placeholders, each a value the same for every row (one JSON text shared by all
        of them) or a Series or array with one value per policy row (dates, integers,
        lists of column names), taken at the flagged rows only.
        """
        where = np.asarray(mask, dtype=bool)
        if not where.any():
            return
        if variant not in PROBLEM_KINDS.get(kind, ()):
            raise ValueError(f"no sentence for the problem {kind!r}, variant {variant!r}: declare it in PROBLEM_KINDS")
        positions = np.flatnonzero(where)
        self.parts.append(
            pd.DataFrame(
                {
                    "position": positions,
                    "row": self.rows[positions],
                    "column": column,
                    "kind": kind,
                    "action": action,
                    "value": np.asarray(shown_values(value.iloc[positions]), dtype=object) if value is not None else "",
                    "variant": variant,
                    "params": _params_column(params, positions),
                }
            )
        )

    def note(self, column: str, kind: str, count: int, note: str, **params: object) -> None:
        """A note on a whole column; its English text is the catalogue's ``note.<note>`` filled with ``params``."""
        if count:
            self.notes.append(column_note(column, kind, count, note, **params))

    def frame(self) -> pd.DataFrame:
        """The problems so far, ``[position, *PROBLEM_COLUMNS]``, by source row."""
        if not self.parts:
            return pd.DataFrame(
                {c: pd.Series(dtype="int64" if c in ("position", "row") else "object") for c in ["position", *PROBLEM_COLUMNS]}
            )
        frame = pd.concat(self.parts, ignore_index=True)
        return frame.sort_values(["row", "column"], kind="stable").reset_index(drop=True)

    def rejected_positions(self) -> np.ndarray:
        """Positions of the rows rejected so far."""
        problems = self.frame()
        return problems.loc[problems["action"] == REJECTED, "position"].to_numpy(dtype=np.int64)


def _params_column(params: dict[str, object], positions: np.ndarray) -> str | np.ndarray:
    """The ``params`` JSON text of the flagged rows: one shared text, or one per row when a parameter varies by row."""
    per_row = {name for name, value in params.items() if isinstance(value, (pd.Series, np.ndarray))}
    if not per_row:
        return params_text(**params)
    pieces: list[object] = []
    for number, name in enumerate(sorted(params)):
        pieces.append(("{" if number == 0 else ", ") + json.dumps(name) + ": ")
        value = params[name]
        if name in per_row:
            pieces.append(_json_values(pd.Series(value).iloc[positions].reset_index(drop=True)))
        else:
            pieces.append(json.dumps(value, ensure_ascii=False))
    pieces.append("}")
    return _joined(pieces, len(positions))


def _json_values(values: pd.Series) -> pd.Series:
    """Each value as JSON text: dates as ``"YYYY-MM-DD"`` and integers without a loop over rows, the rest one by one."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return '"' + format_dates(values) + '"'
    if pd.api.types.is_integer_dtype(values):
        return values.astype(TEXT)
    return pd.Series([json.dumps(value, ensure_ascii=False) for value in values.tolist()], dtype=TEXT)


def _joined(pieces: list[object], size: int) -> np.ndarray:
    """Texts and columns of text joined row by row (in Arrow), as a column of Python strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if all(isinstance(piece, str) for piece in pieces):
        return np.full(size, "".join(str(piece) for piece in pieces), dtype=object)
    arrays = [
        pa.scalar(piece, pa.large_string()) if isinstance(piece, str) else pa.array(piece, type=pa.large_string(), from_pandas=True)
        for piece in pieces
    ]
    joined = pc.binary_join_element_wise(*arrays, pa.scalar("", pa.large_string()))
    return np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object)


def skipped_problems(skipped: pd.DataFrame) -> pd.DataFrame:
    """The rows that are not policy rows (``[row, reason]``) as problems: kind :data:`NOT_A_POLICY_ROW`, the reason as variant."""
    return pd.DataFrame(
        {
            "row": skipped["row"].to_numpy(),
            "column": "",
            "kind": NOT_A_POLICY_ROW,
            "action": SKIPPED,
            "value": "",
            "variant": skipped["reason"].to_numpy(dtype=object),
            "params": NO_PARAMS,
        },
        columns=PROBLEM_COLUMNS,
    )


def problem_details(problems: pd.DataFrame, language: str) -> pd.Series:
    """Each problem's sentence in ``language``: the catalogue's ``detail.<kind>[.<variant>]``, filled in.

    Parameters
    ----------
    problems : pandas.DataFrame
        ``[kind, variant, value, params]`` at least, as in ``LoadResult.problems`` or
        :func:`skipped_problems`.
    language : str
        A catalogue language (``zh``, ``en``).

    Returns
    -------
    pandas.Series
        One text per problem, on the index of ``problems``. ``{value}`` is the source value
        (its first 60 characters), every other placeholder a parameter of ``params``; a
        list of columns is shown with each column's header in the language (in English,
        by its name in the code) joined by the catalogue's ``list.separator``.
        The sentences are filled a (kind, variant) at a time, once per distinct parameter
        text: a column that flags every row costs no Python work per row.
    """
    details = np.full(len(problems), "", dtype=object)
    if len(problems):
        for key, positions in problems.groupby(["kind", "variant"], sort=False).indices.items():
            kind, variant = cast(tuple[str, str], key)
            at = np.asarray(positions, dtype=np.int64)
            template = translate(detail_key(str(kind), str(variant)), language)
            details[at] = _filled(template, problems["value"].iloc[at], problems["params"].iloc[at], language)
    return pd.Series(details, index=problems.index, dtype=object)


def _filled(template: str, values: pd.Series, params: pd.Series, language: str) -> np.ndarray:
    """``template`` filled for each row: its value, and the parameters decoded once per distinct text."""
    codes, distinct = pd.factorize(params.to_numpy(dtype=object))
    decoded = [json.loads(text) for text in distinct]
    pieces: list[object] = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        if literal:
            pieces.append(literal)
        if name is None:
            continue
        if name == "value":
            pieces.append(pd.Series(values.to_numpy(dtype=object), dtype=TEXT).fillna("").str.slice(0, _SHOWN_CHARS))
            continue
        missing = [text for text, given in zip(distinct, decoded) if name not in given]
        if missing:
            raise KeyError(f"the sentence {template!r} needs {name!r}, which the parameters {missing[0]} lack")
        words = np.array([_parameter_words(given[name], spec or "", language) for given in decoded], dtype=object)
        pieces.append(pd.Series(words[codes], dtype=TEXT))
    return _joined(pieces, len(values))


def _parameter_words(value: object, spec: str, language: str) -> str:
    """One parameter as text: a list of column names joined by the language's separator, else the value formatted."""
    if isinstance(value, list):
        names = [str(name) if language == _CODE_NAMES_LANGUAGE else column_label(name, language) for name in value]
        return translate("list.separator", language).join(names)
    return format(value, spec)


def shown_values(values: pd.Series) -> pd.Series:
    """Source values as the text a user would recognise (dates as YYYY-MM-DD)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return format_dates(values)
    return values.astype(TEXT).fillna("").reset_index(drop=True)


def format_dates(values: pd.Series) -> pd.Series:
    """Dates as ``YYYY-MM-DD`` text (missing ones as ""), indexed from 0."""
    return values.dt.strftime("%Y-%m-%d").astype(TEXT).fillna("").reset_index(drop=True)
