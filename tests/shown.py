"""What a Markdown element shows: AppTest hands back the Markdown source, escapes included."""

from __future__ import annotations

import re


def shown(markdown: str) -> str:
    """``markdown`` with its backslash escapes resolved (``p \\< 0\\.001`` → ``p < 0.001``)."""
    return re.sub(r"\\(.)", r"\1", markdown)
