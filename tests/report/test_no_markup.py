"""No markup from data: every chart builder escapes Plotly's HTML, and Markdown never links a bare address.

Plotly draws ``<a href>``, ``<b>``, ``<br>``, ``<span style>`` and entities in every text of a
chart (its svg_text_utils); a sales channel ``<a href="https://…">渠道A 请重新登录</a>`` became
a live link in the survival legend. Streamlit's Markdown links ``https://…``, ``www.…`` and
e-mail addresses by itself (GFM autolink literals, found in the text after escapes are resolved).
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from markdown_it import MarkdownIt

from ui import charts
from ui.i18n import LINK_BREAK, md_escape, tm

LINK = '<a href="https://evil.example">渠道A 请重新登录</a>'
BOLD = "<b>x</b>"
URL = "https://evil.example"
TEX = "$\\href{https://evil.example}{x}$"
HOSTILE = [LINK, BOLD, URL, TEX, "a &lt; b &amp; c"]


def _levels(n: int = len(HOSTILE)) -> list[str]:
    return HOSTILE[:n]


def _rates() -> pd.DataFrame:
    rows = [{"cohort": c, "period": p, "rate": 0.1, "lower": 0.05, "upper": 0.2} for c in _levels() for p in (BOLD, "2024")]
    return pd.DataFrame(rows)


def _curves(column: str) -> pd.DataFrame:
    months = [0, 6, 12]
    return pd.DataFrame(
        [
            {column: c, "month": m, "survival": 1 - m / 100, "lower": 0.8, "upper": 1.0, "incidence": m / 100}
            | {"scenario": 0.9, "scenario_lower": 0.85, "scenario_upper": 0.95, "baseline": 0.88}
            for c in _levels()
            for m in months
        ]
    )


def _builds() -> dict[str, Callable[[], go.Figure]]:
    """Each public builder with hostile text wherever text goes in."""
    titles = {"x_title": LINK, "y_title": BOLD}
    triangle = pd.DataFrame(np.full((2, 2), 0.9), index=[LINK, BOLD], columns=[URL, TEX])
    table = pd.DataFrame({"hazard_ratio": [1.2, 0.8], "lower": [1.0, 0.6], "upper": [1.4, 1.0], "mean_abs_shap": [0.2, 0.1]})
    table = table.assign(**{"in": [0.1, -0.1], "rest": [0.0, 0.05], "predicted": [0.1, 0.2], "observed": [0.12, 0.18]})
    table = table.assign(decile=[LINK, BOLD], share_targeted=[0.5, 1.0], qini=[0.1, 0.2], random=[0.05, 0.1])
    points = pd.DataFrame({"label": [LINK, LINK, BOLD], "shap": [0.1, -0.1, 0.2], "colour": [0.2, np.nan, 0.9], "hover": [URL, BOLD, LINK]})
    trend = pd.DataFrame({"month": [13, 13], "cohort": [LINK, BOLD], "persistency": [0.9, 0.8]})
    ahead = pd.DataFrame({"month": [13], "cohort": [URL], "projected": [0.85]})
    return {
        "rate_lines": lambda: charts.rate_lines(_rates(), cohort="cohort", **titles),
        "rate_heatmap": lambda: charts.rate_heatmap(_rates(), cohort="cohort", **titles),
        "trend_lines": lambda: charts.trend_lines(
            trend, names={13: LINK}, targets={13: 0.85}, projection=ahead, projected_names={13: BOLD}, **titles
        ),
        "triangle_heatmap": lambda: charts.triangle_heatmap(triangle, **titles),
        "funnel": lambda: charts.funnel([LINK, BOLD], [10, 5]),
        "survival_curves": lambda: charts.survival_curves(_curves("cohort"), unit=1, labels={LINK: LINK}, **titles),
        "forest_plot": lambda: charts.forest_plot(table, labels=[LINK, BOLD], x_title=URL),
        "incidence_curves": lambda: charts.incidence_curves(_curves("cause"), names={BOLD: LINK}, **titles),
        "importance_bar": lambda: charts.importance_bar(table, labels=[LINK, BOLD], x_title=TEX),
        "beeswarm": lambda: charts.beeswarm(points, x_title=LINK, colour_title=BOLD, ends=(LINK, URL)),
        "dependence": lambda: charts.dependence(pd.Series([LINK, BOLD, LINK]), pd.Series([0.1, 0.2, 0.3]), numeric=False, **titles),
        "cohort_comparison": lambda: charts.cohort_comparison(table, labels=[LINK, BOLD], names=(LINK, BOLD), x_title=URL),
        "waterfall": lambda: charts.waterfall(0.1, [(LINK, 0.02), (BOLD, -0.01)], 0.11, base_label=URL, final_label=TEX, y_title=LINK),
        "calibration": lambda: charts.calibration(table, names=(LINK, BOLD), **titles),
        "scenario_curve": lambda: charts.scenario_curve(_curves("name"), names=(LINK, BOLD), **titles),
        "comparison_curves": lambda: charts.comparison_curves(_curves("name"), baseline=LINK, **titles),
        "qini": lambda: charts.qini(table, names=(LINK, BOLD), **titles),
    }


def _public_builders() -> list[str]:
    return sorted(
        name
        for name, function in inspect.getmembers(charts, inspect.isfunction)
        if function.__module__ == charts.__name__ and not name.startswith("_") and name not in ("inert", "inert_figure", "plotly_escape")
    )


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, string) of a figure's dictionary, arrays included."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, k)
    elif isinstance(value, (list, tuple, np.ndarray)):
        for v in list(np.asarray(value, dtype=object).ravel()) if isinstance(value, np.ndarray) else value:
            yield from _strings(v, key)


def test_every_public_builder_is_tried_and_wrapped() -> None:
    assert _public_builders() == sorted(_builds())
    assert all(getattr(getattr(charts, name), "inert", False) for name in _public_builders())


@pytest.mark.parametrize("name", sorted(_builds()))
def test_builder_figure_holds_no_live_markup(name: str) -> None:
    figure = _builds()[name]()
    spec = figure.to_dict()
    spec["layout"].pop("template", None)
    texts = list(_strings(spec))
    data = [text for key, text in texts if key not in charts.TEMPLATE_KEYS]
    templates = [text for key, text in texts if key in charts.TEMPLATE_KEYS]
    # No tag, and no $…$ for MathJax, anywhere outside the builders' own templates.
    assert not [text for text in data if "<" in text or ">" in text or re.fullmatch(r"\$.*\$", text, re.DOTALL)]
    # The templates are the builders' own: no data in them.
    assert not [text for text in templates if "evil" in text or "渠道" in text or "<b>" in text]
    # The hostile values did reach the figure, escaped, and an entity typed by the user shows as typed.
    joined = "\n".join(data)
    assert '&lt;a href="https://evil.example"&gt;渠道A 请重新登录&lt;/a&gt;' in joined or "&lt;b&gt;x&lt;/b&gt;" in joined
    if "a &amp;lt; b" in joined:
        assert "a &lt; b" not in joined


def test_escaping_happens_once_and_keeps_numbers() -> None:
    figure = charts.funnel(["a & b"], [3])
    again = charts.inert_figure(figure)
    assert again is figure
    assert list(figure.data[0].y) == ["a &amp; b"] and list(figure.data[0].x) == [3]
    assert charts.plotly_escape("$x$") == "&#36;x$" and charts.plotly_escape("cost $5") == "cost $5"


def test_survival_legend_shows_the_link_as_text() -> None:
    figure = _builds()["survival_curves"]()
    names = [trace.name for trace in figure.data if trace.showlegend is not False]
    assert '&lt;a href="https://evil.example"&gt;渠道A 请重新登录&lt;/a&gt;' in names


# --- Markdown: bare addresses --------------------------------------------------------------------

#: GitHub-flavoured Markdown's literal autolinks, as Streamlit's renderer finds them in the
#: text after escapes are resolved (mdast-util-gfm-autolink-literal: ASCII word characters).
GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)", re.IGNORECASE | re.ASCII)
GFM_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)", re.ASCII)
ADDRESSES = [
    "https://evil.example",
    "HTTP://evil.example/login?x=1",
    "见 www.evil.example 重新登录",
    "渠道Ahttps://evil.example",
    "mail admin@evil.example now",
    "file_https://x.example.xlsx",
]


def _rendered_text(markdown: str) -> str:
    tokens = MarkdownIt("commonmark").parseInline(markdown)
    children = tokens[0].children or []
    assert all(child.type in ("text", "softbreak") for child in children)
    return "".join(child.content for child in children)


@pytest.mark.parametrize("text", ADDRESSES)
def test_bare_addresses_are_not_linked(text: str) -> None:
    assert GFM_URL.search(text) or GFM_EMAIL.search(text)  # the hostile value would be linked as it is
    shown = _rendered_text(md_escape(text))
    assert not GFM_URL.search(shown) and not GFM_EMAIL.search(shown)
    assert shown.replace(LINK_BREAK, "") == text  # and reads as typed


def test_messages_filled_with_an_address_link_nothing() -> None:
    message = tm("data.loaded", name="report_https://evil.example/x.csv")
    assert not GFM_URL.search(_rendered_text(message.split("\n")[0]))
