"""Personal identifiers: which columns hold names, phone or ID numbers, and how they are masked.

The door maps one source column per kind (``name``, ``phone``, ``id_number``); an extract may
hold more (applicant and insured, 手机号 and 联系电话, 身份证号 and 证件号码) and phone or ID
numbers typed into free text (备注). Every way data leaves the screen or the process masks them
all: :func:`personal_columns` finds the columns (by header, in Chinese or English, canonical
or translated, or by values that are all phone or ID numbers) and :func:`mask_identifiers`
masks them, and the numbers inside other text columns.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Collection, Final, Iterable, Mapping

import pandas as pd

from analysis import schema as S

#: Header parts that name a person's name, phone or ID number (Chinese headers are matched as substrings).
_CHINESE_PARTS: Final[dict[str, tuple[str, ...]]] = {
    S.NAME: ("姓名", "名字"),
    S.PHONE: ("电话", "手机", "联系方式", "联系号码"),
    S.ID_NUMBER: ("身份证", "证件号", "证件编号", "护照号", "身份号码"),
}
#: Whole Chinese headers that hold a person's name without saying 姓名.
_CHINESE_WHOLE: Final = frozenset({"投保人", "被保人", "被保险人", "受益人", "客户", "客户名称", "联系人", "户名", "持卡人", "领款人"})
#: Words beside a phone word that make the column a flag or a count about calls, not a number.
_NOT_A_PHONE: Final = ("回访", "次数", "营销", "渠道", "类型", "标志", "是否", "时长", "结果")
#: English header words (snake_case, camelCase or spaced headers are split into words).
_PHONE_WORDS: Final = frozenset({"phone", "mobile", "telephone", "tel", "cellphone", "cell", "msisdn", "phoneno", "mobileno"})
_ID_WORDS: Final = frozenset({"ssn", "passport", "nationalid", "idcard", "idnumber", "idno", "identity", "nric"})
_ID_QUALIFIERS: Final = frozenset({"number", "no", "num", "card", "national", "document", "certificate", "cert"})
_NAME_WORDS: Final = frozenset({"surname", "forename", "fullname", "firstname", "lastname", "givenname", "familyname"})
_PERSON_WORDS: Final = frozenset(
    {"customer", "client", "insured", "applicant", "holder", "policyholder", "owner", "beneficiary", "full", "first", "last"}
    | {"given", "family", "person", "contact", "payer", "assured", "life", "member", "patient", "account"}
)
#: Words that make an ``id`` header some other identifier (a policy's, an agent's).
_OTHER_IDS: Final = frozenset({"policy", "agent", "product", "plan", "branch", "claim", "contract", "coverage", "row", "record"})

#: A mainland mobile number (+86 and separators allowed), a landline with its area code,
#: and a resident ID number (18 digits, or 15 for the old cards), each standing alone.
PHONE_PATTERN: Final = r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}(?![0-9])|(?<![0-9])0[0-9]{2,3}-[0-9]{7,8}(?![0-9])"
_DATE_PART: Final = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
ID_PATTERN: Final = (
    rf"(?<![0-9A-Za-z])[1-9][0-9]{{5}}(?:18|19|20)[0-9]{{2}}{_DATE_PART}[0-9]{{3}}[0-9Xx](?![0-9A-Za-z])"
    rf"|(?<![0-9A-Za-z])[1-9][0-9]{{7}}{_DATE_PART}[0-9]{{3}}(?![0-9A-Za-z])"
)
_IDENTIFIER: Final = re.compile(f"{ID_PATTERN}|{PHONE_PATTERN}")
#: Text cells worth a closer look for a phone or ID number (seven digits, a space or dash allowed after three).
_DIGIT_RUN: Final = r"[0-9]{3}[- ]?[0-9]{4}"
#: The dtype cells are searched in (Arrow's regular expressions run over the whole column at once).
TEXT_MATCH: Final = pd.StringDtype("pyarrow")
#: Values looked at to tell a column of phone or ID numbers under a header that does not say so.
VALUE_PROBE: Final = 200
#: Columns that are codes, never free text nor a person's identifier, whatever their values look
#: like (a policy number may be eleven digits starting with 13): the canonical columns but the
#: personal ones, and the door's bookkeeping.
STRUCTURED: Final = (*(c for c in S.CANONICAL_COLUMNS if c not in S.PERSONAL_COLUMNS), S.STATUS_RAW, S.SOURCE_ROW)


def _words(header: str) -> list[str]:
    """A header's English words: camelCase split, then lower case runs of letters."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", header)
    return re.findall(r"[a-z]+", spaced.lower())


def personal_kind(header: object) -> str | None:
    """The kind of personal identifier a column's header names (``name``, ``phone``, ``id_number``), or None.

    Chinese headers by their parts (被保险人姓名, 联系电话, 证件号码; not 电话回访次数), English
    headers by their words (``insured_name``, ``mobileNo``, ``national_id``; not ``product_name``
    or ``policy_id``). The canonical names and their display labels (姓名, 电话, ``ID number``) count.
    """
    if not isinstance(header, str):
        return None
    text = header.strip()
    if text in S.PERSONAL_COLUMNS:
        return text
    for kind, parts in _CHINESE_PARTS.items():
        if any(part in text for part in parts) and not (kind == S.PHONE and any(word in text for word in _NOT_A_PHONE)):
            return kind
    if text in _CHINESE_WHOLE:
        return S.NAME
    words = set(_words(text))
    joined = "".join(_words(text))
    if words & _PHONE_WORDS or joined in _PHONE_WORDS:
        return S.PHONE
    if words & _ID_WORDS or joined in _ID_WORDS or ("id" in words and words & _ID_QUALIFIERS and not words & _OTHER_IDS):
        return S.ID_NUMBER
    if words & _NAME_WORDS or joined in _NAME_WORDS or ("name" in words and (words <= {"name"} or words & _PERSON_WORDS)):
        return S.NAME
    return None


def holds_identifiers(values: pd.Series) -> bool:
    """Whether a text column's first values (:data:`VALUE_PROBE` of them, among its first rows) are all phone or ID numbers."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype)):
        return False
    head = values.head(VALUE_PROBE * 5)  # no copy of a long column
    present = head.notna().to_numpy()
    if not present.any() or not looks_like_identifier(head.iloc[int(present.argmax())]):
        return False  # most columns: the first value present is no identifier (quick, on a file of 10,000 columns)
    probe = head[present].head(VALUE_PROBE).astype(str).str.strip()
    return bool(probe.map(lambda v: _IDENTIFIER.fullmatch(v) is not None).all())


def looks_like_identifier(value: object) -> bool:
    """Whether one value, stripped, is a phone or ID number: :func:`holds_identifiers`' first look at a column."""
    return _IDENTIFIER.fullmatch(str(value).strip()) is not None


def mentions_identifiers(levels: Iterable[object]) -> bool:
    """Whether any text among a column's distinct values holds a phone or ID number (a remark ``回电13812345678``)."""
    return any(isinstance(v, str) and _IDENTIFIER.search(v) is not None for v in levels)


def personal_columns(frame: pd.DataFrame, *, keep: Collection[str] = STRUCTURED) -> list[str]:
    """The columns of ``frame`` that hold personal identifiers.

    By header (:func:`personal_kind`), or, outside ``keep``, by values that are all phone or
    ID numbers (:func:`holds_identifiers`).
    """
    found = []
    for position, column in enumerate(frame.columns):
        if personal_kind(column) is not None or (column not in keep and holds_identifiers(frame.iloc[:, position])):
            found.append(str(column))
    return found


def identifier_text(values: pd.Series) -> pd.Series:
    """Identifiers as text: a column read as numbers (a Parquet ``int64`` of phone numbers) written as whole numbers.

    Text columns come back as they are; numbers become ``13812345678``, never ``1.381235e+10``.
    """
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.notna() & (numbers == numbers.round())
    text = numbers.astype(object).where(~whole, numbers.where(whole).astype("Int64").astype(object))
    return text.map(lambda v: None if pd.isna(v) else str(v)).astype(TEXT_MATCH)


def mask_value(text: str) -> str:
    """Mask a personal identifier, keeping its first and last characters (张** / 138****5678)."""
    if len(text) <= 1:
        return "*"
    if len(text) <= 3:
        return text[0] + "*" * (len(text) - 1)
    keep = 3 if len(text) >= 7 else 1
    tail = 4 if len(text) >= 11 else 1
    return text[:keep] + "*" * (len(text) - keep - tail) + text[-tail:]


def mask_numbers_in_text(text: str) -> str:
    """Phone and ID numbers inside free text masked (``请联系13812345678`` → ``请联系138****5678``)."""
    return _IDENTIFIER.sub(lambda match: mask_value(match.group(0)), text)


def map_text(values: pd.Series, change: Callable[[str], str], *, where: str | None = None) -> pd.Series:
    """``change`` applied to the text cells of a column (numbers, dates and blanks untouched).

    ``where`` (a regular expression searched in each cell, in one vectorised pass) picks the
    cells worth changing, so a long column of ordinary text costs one scan. Categorical
    columns keep their categories' order; two categories that become one fall back to
    plain values.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = [change(c) if isinstance(c, str) and c else c for c in values.cat.categories]
        if len(set(categories)) == len(categories):
            return values.cat.rename_categories(categories)
        values = values.astype(object)
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return values
    if where is not None:
        picked = values.astype(TEXT_MATCH).str.contains(where, regex=True, na=False).astype(bool)
        if values.dtype == object and picked.any():
            picked &= values.map(lambda v: isinstance(v, str)).astype(bool)  # a number in a text column stays a number
    else:
        picked = values.map(lambda v: isinstance(v, str) and v != "").astype(bool)
    if not picked.any():
        return values
    changed = values.astype(object).copy()
    changed[picked] = [change(v) for v in values[picked]]
    return changed.astype(values.dtype) if values.dtype != object else changed


def mask_identifiers(frame: pd.DataFrame, *, columns: Collection[str] | None = None, keep: Collection[str] = STRUCTURED) -> pd.DataFrame:
    """A copy of ``frame`` with every personal identifier masked.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table on its way out (a preview, a result table, an export).
    columns : collection of str, optional
        The personal columns; by default :func:`personal_columns` finds them.
    keep : collection of str
        Columns that are codes, never free text (the policy number): masked only when their
        header names a personal kind. By default :data:`STRUCTURED`.

    Returns
    -------
    pandas.DataFrame
        The personal columns masked cell by cell (:func:`mask_value`; numbers first written as
        text, :func:`identifier_text`); in every other text
        column, phone and ID numbers inside the text masked (:func:`mask_numbers_in_text`).
    """
    personal = set(personal_columns(frame, keep=keep) if columns is None else columns)
    out = frame.copy()
    for position, column in enumerate(frame.columns):
        if column in personal:
            out.isetitem(position, map_text(identifier_text(frame.iloc[:, position]), mask_value).array)
        elif column not in keep:
            out.isetitem(position, map_text(frame.iloc[:, position], mask_numbers_in_text, where=_DIGIT_RUN).array)
    return out


def masked_problems(problems: pd.DataFrame, mapping: Mapping[str, Any]) -> pd.DataFrame:
    """A load's problems (``[column, value, …]``) with the values of personal columns masked, for printing.

    ``mapping`` is the load's (canonical column → its match, with the ``source`` header); values
    of other columns have the phone and ID numbers inside them masked.
    """
    personal = {match.source for canonical, match in mapping.items() if canonical in S.PERSONAL_COLUMNS} | set(S.PERSONAL_COLUMNS)
    hidden = problems["column"].map(lambda c: c in personal or personal_kind(c) is not None).astype(bool)
    values = [
        (mask_value(v) if h else mask_numbers_in_text(v)) if isinstance(v, str) and v else v for v, h in zip(problems["value"], hidden)
    ]
    return problems.assign(value=pd.Series(values, index=problems.index, dtype=object))
