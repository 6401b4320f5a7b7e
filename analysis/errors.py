"""The one domain exception of LapseLens."""

from __future__ import annotations


class ExtractError(ValueError):
    """A policy extract (or a setting applied to it) cannot be used as given.

    The message says what was expected, what was found and how to fix it, in
    the shape scikit-learn uses for its errors, so it can be shown to a user as
    is. ``code`` names the kind of problem and ``params`` its particulars, so a
    user interface can say the same thing in another language.
    """

    def __init__(self, message: str, *, code: str = "extract_error", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = {k: str(v) for k, v in params.items()}
