"""The shape of analysis/ stays readable: short modules, short functions, no Streamlit (issue [1/7])."""

from __future__ import annotations

import ast

from paths import ROOT

#: Longest module and function in analysis/, in lines (a function from its ``def`` to its last line).
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules():
    return sorted((ROOT / "analysis").rglob("*.py"))


def test_no_module_or_function_in_analysis_is_too_long() -> None:
    long_modules, long_functions = [], []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append((path.relative_to(ROOT).as_posix(), text.count("\n")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append((path.relative_to(ROOT).as_posix(), node.name, length))
    assert len(_modules()) > 50
    assert long_modules == [] and long_functions == []


def test_analysis_never_imports_streamlit() -> None:
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.split(".")[0] == "streamlit" for name in names), path
