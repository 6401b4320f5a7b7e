"""The one domain exception of LapseLens: a code and its particulars, words only in the catalogue."""

from __future__ import annotations


class ExtractError(ValueError):
    """A policy extract (or a setting applied to it) cannot be used as given.

    ``code`` names the kind of problem (``bad_scenario``, ``missing_column`` …) and stays
    stable for callers and tests; ``reason`` (optional) names the particular rule inside that
    kind (``premium_cut``); ``params`` are its particulars as text. The sentence itself —
    what was expected, what was found and how to fix it, in the shape scikit-learn uses —
    exists only in the catalogue, under :attr:`key` (``error.<code>`` or
    ``error.<code>.<reason>``), in every language. ``str(error)`` is the English sentence, for
    logs and the command line; a page asks :meth:`text` for the user's language.

    Examples
    --------
    >>> str(ExtractError("missing_column", reason="in_policies", column="age"))
    "No column 'age' in the policies."
    """

    def __init__(self, code: str, /, *, reason: str | None = None, **params: object) -> None:
        self.code = code
        self.reason = reason
        self.params = {name: str(value) for name, value in params.items()}
        super().__init__(code if reason is None else f"{code}.{reason}")

    def bare(self) -> ExtractError:
        """The same error without a traceback, cause or context: what a cache or a session may keep.

        A raised error's traceback holds every frame it passed through, with their locals: a
        refusal kept as raised would keep the refused file's bytes (and the frames of every later
        ``raise`` of it) for as long as it is remembered.
        """
        return ExtractError(self.code, reason=self.reason, **self.params)

    @property
    def key(self) -> str:
        """The catalogue key of this error's sentence."""
        return f"error.{self.code}" if self.reason is None else f"error.{self.code}.{self.reason}"

    def text(self, language: str) -> str:
        """The sentence in ``language`` with the particulars filled in."""
        from analysis.report.catalogue import strict, translate

        try:
            return translate(self.key, language, **self.params)
        except (KeyError, IndexError, ValueError):  # a sentence whose placeholders the raise site did not fill
            if strict():
                raise
            return f"{self.key} {self.params}"

    def __str__(self) -> str:
        return self.text("en")
