"""The app's default source, configured once: the company's book (a database table or query, a Parquet path, a Spark table).

The configuration is a ``[source]`` table, in the app's secrets (``.streamlit/secrets.toml``)
or in a TOML file named by the environment variable :data:`SOURCE_ENV`::

    [source]
    url = "postgresql://reader@db.example:5432/book"   # or mysql://…, a Parquet path, or "spark:NAME"
    table = "保单明细"                                   # or query = "SELECT …"
    mapping = "data/presets/company.toml"              # a mapping preset (optional)
    engine = "duckdb"                                  # or "spark"
    study_date = "2026-09-30"                          # optional: else the preset's, else inferred
    name = "公司保单库"                                 # how the app names the book (optional)
    password = "…"                                     # the secrets only; never shown
    payments_table = "缴费记录"                          # the payment history beside the book (optional;
                                                       # or payments_query = "SELECT …", or payments = a file or URL)
    campaign_list_table = "活动名单"                     # a campaign list beside the book (optional; the same forms)

A side table is read by :meth:`SourceConfig.side_source` (:mod:`analysis.engine.side_sources`);
a table or query without its own ``payments``/``campaign_list`` source is read from the book's
database (with the book's password) or, on the Spark engine, from the lake's catalogue.

:meth:`SourceConfig.from_mapping` checks every key and raises :class:`~analysis.errors.ExtractError`
(``bad_config``) with the catalogue's words for a configuration that cannot be used. The
password never enters what is shown (:meth:`SourceConfig.description`) nor what identifies
the book (:meth:`SourceConfig.identity`), and ``repr`` leaves it out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from analysis.engine.backend import DEFAULT_ENGINE, ENGINES
from analysis.errors import ExtractError
from analysis.ingest.presets import MappingPreset, guarded_preset

if TYPE_CHECKING:
    from analysis.engine.side_sources import SideSource
    from analysis.engine.sources import OpenedBook

#: The environment variable that names a TOML file holding the ``[source]`` table.
SOURCE_ENV: Final = "LAPSELENS_SOURCE"
#: The table of the secrets (or of that file) that configures the source.
SOURCE_TABLE: Final = "source"
#: The keys a ``[source]`` table may hold.
SOURCE_KEYS: Final = (
    "url",
    "table",
    "query",
    "mapping",
    "engine",
    "study_date",
    "password",
    "name",
    "payments",
    "payments_table",
    "payments_query",
    "campaign_list",
    "campaign_list_table",
    "campaign_list_query",
)
#: The side tables a source may carry beside the book (a payment history, a campaign list): each a
#: file or another source (``payments``), or a table or query beside the book (``payments_table``).
SIDE_TABLES: Final = ("payments", "campaign_list")
#: Keys that hold a secret: accepted only from the app's secrets, never shown.
SECRET_KEYS: Final = ("password",)
#: Where a configuration came from, as its errors name it.
ORIGINS: Final = ("secrets", "file")
#: Bytes of the hash that names a configured book (24 hex characters, like a file's content hash).
IDENTITY_HASH_BYTES: Final = 12


@dataclass(frozen=True)
class SourceConfig:
    """The configured source of the company's book.

    Attributes
    ----------
    url : str
        A database URL without a password (``postgresql://user@host:port/db``,
        ``mysql://user@host:port/db`` or ``mariadb://…``), a Parquet
        file or folder, or ``spark:NAME``.
    table, query : str or None
        The database table or SQL query to read (exactly one, for a database).
    mapping : str or None
        The path of a mapping preset (TOML), absolute or relative to the configuration's folder.
    engine : str
        ``duckdb`` (default) or ``spark``.
    study_date : str or None
        ``YYYY-MM-DD``: overrides the preset's and the inferred study date.
    name : str or None
        How the app names the book; without it, :meth:`description`.
    password : str or None
        The database password (from the secrets only); left out of ``repr``, equality and
        :meth:`identity`.
    sides : tuple of (key, value)
        The side tables' keys as configured (``payments_table`` …; a relative file path made
        absolute): read through :meth:`side_source`.
    """

    url: str
    table: str | None = None
    query: str | None = None
    mapping: str | None = None
    engine: str = DEFAULT_ENGINE
    study_date: str | None = None
    name: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)
    sides: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_mapping(cls, values: object, *, origin: str = "secrets", base: Path | None = None) -> SourceConfig:
        """Check a ``[source]`` table and make it a configuration.

        Parameters
        ----------
        values : mapping
            The table's keys and values (from ``st.secrets["source"]`` or a TOML file).
        origin : str
            ``secrets`` or ``file``: a password is accepted only from the secrets.
        base : Path, optional
            The folder a relative ``mapping`` path is read from (the configuration file's folder).

        Raises
        ------
        ExtractError
            ``bad_config`` with the reason: not a table, an unknown key, a value that is not
            text, no ``url``, a password in the file or in the URL, neither or both of
            ``table`` and ``query``, an unknown engine, a study date that is not a date.
        """
        if not isinstance(values, Mapping):
            raise ExtractError("bad_config", reason="not_table", table=SOURCE_TABLE)
        unknown = sorted(str(key) for key in values if key not in SOURCE_KEYS)
        if unknown:
            raise ExtractError("bad_config", reason="unknown_key", keys=", ".join(unknown), known=", ".join(SOURCE_KEYS))
        text: dict[str, str] = {}
        for key, value in values.items():
            if isinstance(value, dt.date):
                value = value.isoformat()  # TOML reads an unquoted 2026-09-30 as a date
            if not isinstance(value, str):
                raise ExtractError("bad_config", reason="not_text", setting=str(key))
            if value.strip():
                text[str(key)] = value if key in SECRET_KEYS else value.strip()
        if origin != "secrets" and any(key in text for key in SECRET_KEYS):
            raise ExtractError("bad_config", reason="password_in_file")
        return cls._checked(text, base=base)

    @classmethod
    def _checked(cls, text: dict[str, str], *, base: Path | None) -> SourceConfig:
        url = text.get("url")
        if not url:
            raise ExtractError("bad_config", reason="no_url")
        if "://" in url and urlsplit(url).password is not None:
            raise ExtractError("bad_config", reason="password_in_url")
        database = "://" in url
        if database and ("table" in text) == ("query" in text):
            raise ExtractError("bad_config", reason="table_or_query")
        engine = text.get("engine", DEFAULT_ENGINE).lower()
        if engine not in ENGINES:
            raise ExtractError("bad_config", reason="engine", engine=engine, allowed=", ".join(ENGINES))
        study_date = text.get("study_date")
        if study_date is not None:
            try:
                study_date = dt.date.fromisoformat(study_date).isoformat()
            except ValueError as exc:
                raise ExtractError("bad_config", reason="study_date", value=study_date) from exc
        mapping = text.get("mapping")
        if mapping is not None and base is not None and not Path(mapping).expanduser().is_absolute():
            mapping = str(base / mapping)
        if not database and not url.startswith("spark:"):
            path = Path(url).expanduser()
            url = str(path if path.is_absolute() or base is None else base / path)
        sides = []
        for key in SOURCE_KEYS:
            if key.startswith(SIDE_TABLES) and key in text:
                value = text[key]
                if key in SIDE_TABLES and "://" not in value and not value.startswith("spark:") and base is not None:
                    value = str(Path(value).expanduser() if Path(value).expanduser().is_absolute() else base / value)
                sides.append((key, value))
        config = cls(
            url=url,
            table=text.get("table"),
            query=text.get("query"),
            mapping=mapping,
            engine=engine,
            study_date=study_date,
            name=text.get("name"),
            password=text.get("password"),
            sides=tuple(sides),
        )
        for kind in SIDE_TABLES:
            config.side_source(kind)  # a side table that cannot be found is a refusal now, not on first use
        return config

    @property
    def is_database(self) -> bool:
        """True for a database URL (its kept copy is refreshed by age, see :mod:`analysis.store.books`)."""
        return "://" in self.url

    def description(self) -> str:
        """The source as it may be shown: the URL (never a password) and the table, or that it is a query."""
        from analysis.engine.sources import redact

        shown = redact(self.url)
        if self.table:
            return f"{shown} table {self.table}"
        return f"{shown} query" if self.query else shown

    def side_source(self, kind: str) -> str | SideSource | None:
        """Where the side table ``kind`` (``payments`` or ``campaign_list``) is read from; None when not configured.

        Raises
        ------
        ExtractError
            ``bad_source`` (``side_table``, ``side_table_or_query``) for a table or query that
            has no database or lake to be read from.
        """
        from analysis.engine.side_sources import named_side_source

        keys = dict(self.sides)
        own = keys.get(kind)
        database = self.url if self.is_database or self.url.startswith("spark:") else None
        return named_side_source(
            own,
            table=keys.get(f"{kind}_table"),
            query=keys.get(f"{kind}_query"),
            book_source=database,
            engine=self.engine,
            password=self.password if own is None or own == self.url else None,
            flags=(kind, f"{kind}_table", f"{kind}_query"),
        )

    def side_version(self, kind: str) -> str:
        """A short hash of the side table's configuration ('' when not configured): the key its caches use."""
        keys = {key: value for key, value in self.sides if key.startswith(kind)}
        if not keys:
            return ""
        text = json.dumps({"book": self.identity(), kind: keys}, sort_keys=True, ensure_ascii=False)
        return hashlib.blake2b(text.encode("utf-8"), digest_size=IDENTITY_HASH_BYTES, person=b"lapselens-side").hexdigest()

    def display_name(self) -> str:
        """How the app names the book: ``name``, else :meth:`description`."""
        return self.name or self.description()

    def identity(self) -> dict[str, str | None]:
        """What identifies the book this configuration opens: every key but the password and the name."""
        return {
            "url": self.url,
            "table": self.table,
            "query": self.query,
            "mapping": self.mapping,
            "engine": self.engine,
            "study_date": self.study_date,
        }

    def version(self) -> str:
        """A short hash of :meth:`identity` (24 hex characters): the key caches use for the configured book."""
        text = json.dumps(self.identity(), sort_keys=True, ensure_ascii=False)
        return hashlib.blake2b(text.encode("utf-8"), digest_size=IDENTITY_HASH_BYTES, person=b"lapselens-src").hexdigest()

    def preset_text(self) -> str:
        """The mapping preset's TOML text ('' without one).

        Raises
        ------
        ExtractError
            ``bad_preset`` (``unreadable``) when the file cannot be read.
        """
        if not self.mapping:
            return ""
        path = Path(self.mapping).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ExtractError("bad_preset", reason="unreadable", source=str(path), detail=str(exc)) from exc


def read_config_file(path: str | Path, *, password: str | None = None) -> SourceConfig:
    """The ``[source]`` table of a TOML file (the file :data:`SOURCE_ENV` names).

    Parameters
    ----------
    path : str or Path
        The TOML file; a relative ``mapping`` or Parquet path in it is read from its folder.
    password : str, optional
        The password from the app's secrets (a file never holds one).

    Raises
    ------
    ExtractError
        ``bad_config`` (``unreadable``) when the file cannot be read as TOML or has no
        ``[source]`` table; the reasons of :meth:`SourceConfig.from_mapping` otherwise.
    """
    path = Path(path).expanduser()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ExtractError("bad_config", reason="unreadable", file=str(path), detail=str(exc).splitlines()[0]) from exc
    if SOURCE_TABLE not in document:
        raise ExtractError("bad_config", reason="not_table", table=SOURCE_TABLE)
    config = SourceConfig.from_mapping(document[SOURCE_TABLE], origin="file", base=path.resolve().parent)
    return replace(config, password=password) if password else config


def open_config(config: SourceConfig, *, preset_toml: str | None = None, study_date: str | None = None) -> OpenedBook:
    """Open the configured book on its engine (:func:`~analysis.engine.sources.open_source`).

    Parameters
    ----------
    config : SourceConfig
        The configuration.
    preset_toml : str, optional
        A mapping in force other than the configured one (edited in the app); default: the configured preset.
    study_date : str, optional
        A study date set by hand, over the configured one.

    Raises
    ------
    ExtractError
        ``bad_source`` when the source cannot be reached or read (the password never in the
        message), ``bad_preset`` for a mapping that cannot be used, the door's errors for a file.
    """
    from analysis.engine.sources import open_source

    text = config.preset_text() if preset_toml is None else preset_toml
    preset = guarded_preset(text, source=config.mapping or "preset") if text else MappingPreset()
    return open_source(
        config.url,
        table=config.table,
        query=config.query,
        preset=preset,
        engine=config.engine,
        study_date=study_date or config.study_date,
        password=config.password,
    )
