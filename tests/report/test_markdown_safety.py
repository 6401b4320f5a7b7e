"""User text never becomes Markdown: escaping round-trips, and the pages fill Markdown through ``tm``.

Streamlit renders Markdown in st.markdown, st.caption, st.info/warning/error/success and
st.toast. A file name, a header, a status value, a cohort level or a scenario name can hold
``[link](http://…)``, ``![image](…)`` or ``:red[…]``; it must show as typed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from paths import ROOT

from ui.i18n import LINK_BREAK, Markdown, md_escape, tm

MARKDOWN_CALLS = {"markdown", "caption", "info", "warning", "error", "success", "toast"}
HOSTILE = [
    "[click](http://evil.example)",
    "![x](http://evil.example/pixel.png)",
    ":red[alarm] :material/warning:",
    "**bold** _it_ `code` ~~gone~~",
    "# heading",
    "- item\n1. item\n===",
    "a<b>c</b>&amp;",
    "$x^2$ | pipe | \\ backslash",
    "保单号_2024.csv",
]


def _plain(markdown: str) -> str:
    """The text a Markdown renderer shows, tags dropped (one paragraph expected)."""
    tokens = MarkdownIt("commonmark").parseInline(markdown)
    children = tokens[0].children or []
    assert all(child.type in ("text", "softbreak") for child in children), [c.type for c in children]
    return "".join(child.content for child in children)


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_renders_as_typed(text: str) -> None:
    escaped = md_escape(text)
    assert isinstance(escaped, Markdown)
    assert _plain(escaped).replace(LINK_BREAK, "") == text.replace("\n", " ")  # the link break is invisible
    assert md_escape(escaped) == escaped  # never escaped twice


def test_tm_escapes_text_values_only() -> None:
    message = tm("data.loaded", name="[x](http://evil.example)")
    assert f"\\[x\\]\\(http\\:{LINK_BREAK}//evil\\.example\\)" in message
    assert tm("overview.league_help", n=30) == tm("overview.league_help", n=30)


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tm", "md_escape", "error_text"):
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "error_text":
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t" and node.keywords:
            found.append(f"{path.name}:{node.lineno}: t(...) with values inside Markdown; use tm(...)")
            return
        if isinstance(node, ast.FormattedValue):
            value = node.value
            plain_t = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "t" and not value.keywords
            if not plain_t:
                visit(value)
                if not (isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute))):
                    found.append(f"{path.name}:{node.lineno}: a value in an f-string inside Markdown; escape it with md_escape")
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MARKDOWN_CALLS and node.args:
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "st" or isinstance(owner, ast.Attribute) and owner.attr == "sidebar":
                visit(node.args[0])
    return found


def test_pages_fill_markdown_through_tm() -> None:
    files = [ROOT / "app.py", *sorted((ROOT / "views").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
    offences = [line for path in files for line in _offences(path)]
    assert offences == []
