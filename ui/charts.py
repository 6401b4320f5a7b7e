"""Plotly chart builders: labels come in already translated, so Chinese renders as text.

Plotly draws its own small HTML in every text of a chart (``<a href>``, ``<b>``, ``<br>``,
``<span style>``, entities such as ``&lt;``; a text between ``$`` signs goes to MathJax when a
page has it). Data reaches charts as trace names, categories, tick labels and hover text, so
every public builder is wrapped by :func:`inert`: each text in the figure, whatever its
place, is escaped once (:func:`plotly_escape`) before the figure is returned; only the
builders' own hover templates keep their markup.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

#: Figure keys whose strings are the builders' own templates (``%{y:.1%}<extra></extra>``), not data.
TEMPLATE_KEYS = frozenset({"hovertemplate", "texttemplate", "hovertemplatefallback", "texttemplatefallback", "template"})
#: The characters Plotly reads as markup, as entities it shows literally.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: A text Plotly would hand to MathJax (``$…$``): its first ``$`` becomes an entity.
_TEX = re.compile(r"^\$(?=.*\$$)", re.DOTALL)


def plotly_escape(text: str) -> str:
    """Text that Plotly shows as typed: ``& < >`` as entities, a leading ``$`` of ``$…$`` too."""
    return _TEX.sub("&#36;", re.sub(r"[&<>]", lambda m: _ENTITIES[m.group(0)], text))


def _escaped(value: Any) -> Any:
    """Every string in a figure's dictionary (lists and arrays too) escaped, template keys left alone."""
    if isinstance(value, str):
        return plotly_escape(value)
    if isinstance(value, dict):
        return {k: v if k in TEMPLATE_KEYS else _escaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_escaped(v) for v in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        return np.array([_escaped(v) for v in value.ravel()], dtype=object).reshape(value.shape)
    return value


def inert_figure(figure: go.Figure) -> go.Figure:
    """The figure with every text of its data and layout escaped for Plotly (:func:`plotly_escape`).

    Trace names, categories on either axis, text and hover text, custom data, tick labels,
    titles, annotations: whatever a builder put where. Escaping twice would show ``&amp;``,
    so a figure is escaped once and marked.
    """
    if getattr(figure, "_inert", False):
        return figure
    spec = figure.to_dict()
    layout = {k: v for k, v in spec.get("layout", {}).items() if k != "template"}
    safe = go.Figure(data=_escaped(spec.get("data", [])), layout=_escaped(layout))
    safe._inert = True
    return safe


def inert(builder: Callable[..., go.Figure]) -> Callable[..., go.Figure]:
    """A chart builder whose figure comes back through :func:`inert_figure` (every public builder wears it)."""

    @functools.wraps(builder)
    def build(*args: Any, **kwargs: Any) -> go.Figure:
        return inert_figure(builder(*args, **kwargs))

    build.inert = True  # type: ignore[attr-defined]
    return build


PALETTE = ("#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#d68910", "#17a589", "#7f8c8d", "#e84393", "#34495e", "#a04000")


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


#: Lines drawn together in one rate chart at most; more are drawn as small multiples (one panel each).
MAX_LINES_TOGETHER = 6
#: Panels per row of small multiples.
FACET_COLUMNS = 3


@inert
def rate_lines(
    rates: pd.DataFrame,
    *,
    cohort: str | None,
    x_title: str,
    y_title: str,
    y_range: tuple[float, float] | None = None,
    thin: str | None = None,
) -> go.Figure:
    """Rate by period, one line per cohort (levels already in words), with its confidence band shaded.

    Beyond :data:`MAX_LINES_TOGETHER` cohorts each gets its own panel (small multiples on one
    shared axis). ``y_range`` (:func:`analysis.study.thin.rate_axis`) fixes the rate axis: a
    point above it is drawn on the edge as a triangle, its own value on hover, and bands are
    cut there. ``thin`` names a boolean column whose cells are drawn as open markers.
    """
    groups: Sequence[tuple[object, pd.DataFrame]] = list(rates.groupby(cohort, observed=True, dropna=False)) if cohort else [("", rates)]
    facets = len(groups) > MAX_LINES_TOGETHER
    rows = -(-len(groups) // FACET_COLUMNS) if facets else 1
    if facets:
        from plotly.subplots import make_subplots

        titles = [str(name) for name, _ in groups]
        figure = make_subplots(
            rows=rows, cols=FACET_COLUMNS, shared_xaxes=True, shared_yaxes=True, subplot_titles=titles, vertical_spacing=0.5 / rows
        )
    else:
        figure = go.Figure()
    top = y_range[1] if y_range is not None else float("inf")
    for i, (name, group) in enumerate(groups):
        colour = PALETTE[i % len(PALETTE)]
        place = {"row": i // FACET_COLUMNS + 1, "col": i % FACET_COLUMNS + 1} if facets else {}
        group = group.sort_values("period")
        label = str(name) or y_title
        x = group["period"].astype(str).tolist()
        rate = group["rate"].to_numpy(dtype=float)
        above = rate > top
        hollow = group[thin].to_numpy(dtype=bool) if thin and thin in group else np.zeros(len(group), dtype=bool)
        figure.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=np.minimum(group["upper"].to_numpy(dtype=float), top).tolist() + np.minimum(group["lower"], top).tolist()[::-1],
                fill="toself",
                mode="lines",
                fillcolor=_rgba(colour, 0.15),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=label,
            ),
            **place,
        )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=np.minimum(rate, top),
                customdata=rate,
                mode="lines+markers",
                name=label,
                line={"color": colour},
                marker={
                    "symbol": ["triangle-up" if a else ("circle-open" if h else "circle") for a, h in zip(above, hollow)],
                    "size": [11 if a else (9 if h else 6) for a, h in zip(above, hollow)],
                },
                legendgroup=label,
                showlegend=not facets,
                hovertemplate="%{x}: %{customdata:.2%}<extra>%{fullData.name}</extra>",
            ),
            **place,
        )
    figure.update_layout(
        hovermode="x unified",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    figure.update_xaxes(type="category")
    figure.update_yaxes(tickformat=".1%")
    if y_range is not None:
        figure.update_yaxes(range=list(y_range))
    if facets:
        figure.update_layout(height=220 * rows + 60, margin={"l": 10, "r": 10, "t": 60, "b": 10})
        figure.update_xaxes(title_text=x_title, row=rows)
        figure.update_yaxes(title_text=y_title, col=1)
    else:
        figure.update_layout(xaxis_title=x_title, yaxis_title=y_title)
    return figure


@inert
def rate_heatmap(rates: pd.DataFrame, *, cohort: str, x_title: str, y_title: str, z_range: tuple[float, float] | None = None) -> go.Figure:
    """Cohort × period heatmap of rates (levels already in words; cells without exposure left blank).

    ``z_range`` (:func:`analysis.study.thin.rate_axis`) fixes the colour scale, so one thin cell
    does not wash every other cell out; a cell above it takes the top colour, its value on hover.
    """
    grid = rates.pivot_table(index=cohort, columns="period", values="rate", observed=True, aggfunc="first")
    y = [str(v) for v in grid.index]
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[str(c) for c in grid.columns],
            y=y,
            colorscale="Reds",
            colorbar={"tickformat": ".1%"},
            zmin=z_range[0] if z_range else None,
            zmax=z_range[1] if z_range else None,
            hovertemplate="%{y} · %{x}: %{z:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis_title=x_title, yaxis_title=y_title, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_type="category", yaxis_type="category"
    )
    return figure


@inert
def trend_lines(
    trend: pd.DataFrame,
    *,
    x_title: str,
    y_title: str,
    names: dict[int, str],
    targets: dict[int, float],
    projection: pd.DataFrame | None = None,
    projected_names: dict[int, str] | None = None,
    maturity: pd.DataFrame | None = None,
    unsettled_labels: dict[int, str] | None = None,
) -> go.Figure:
    """Persistency by issue cohort, one line per month, with dotted target lines.

    ``projection`` (from :func:`analysis.persistency.overview.projected_persistency`) adds, per month, a
    dashed line with open markers for the cohorts that have not reached it yet, starting at
    the last cohort that has. ``maturity`` (:func:`analysis.persistency.maturity.trend_maturity`)
    draws the reached cohorts that are not fully observed as open circles (thin ones as open
    diamonds), and a shaded band
    covers the cohorts not fully observed at the first month (settling or projected there),
    labelled ``unsettled_labels[month]``: one band, so the headline month's line is never
    shaded where it is solid.
    """
    figure = go.Figure()
    months = sorted({int(m) for m in trend["month"]} | ({int(m) for m in projection["month"]} if projection is not None else set()))
    settling = _settling_cells(maturity)
    thin = _thin_cells(maturity)
    for i, month in enumerate(months):
        colour = PALETTE[i % len(PALETTE)]
        group = trend[trend["month"] == month]
        open_marker = [(str(c), month) in settling for c in group["cohort"]]
        small = [(str(c), month) in thin for c in group["cohort"]]
        symbols = ["circle-open" if o else ("diamond-open" if m else "circle") for o, m in zip(open_marker, small)]
        figure.add_trace(
            go.Scatter(
                x=group["cohort"].astype(str),
                y=group["persistency"],
                mode="lines+markers",
                name=names.get(month, str(month)),
                line={"color": colour},
                marker={"symbol": symbols, "size": [6 if s == "circle" else 10 for s in symbols]},
                legendgroup=str(month),
                hovertemplate="%{x}: %{y:.1%}<extra></extra>",
            )
        )
        ahead = projection[projection["month"] == month] if projection is not None else pd.DataFrame()
        if len(ahead):
            x = [*group["cohort"].astype(str).tail(1), *ahead["cohort"].astype(str)]
            y = [*group["persistency"].tail(1), *ahead["projected"]]
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines+markers",
                    name=(projected_names or {}).get(month, f"{month} projected"),
                    legendgroup=str(month),
                    line={"color": colour, "dash": "dash"},
                    marker={"symbol": "circle-open", "size": 8},
                    hovertemplate="%{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
                )
            )
        if month in targets:
            figure.add_hline(y=targets[month], line={"color": colour, "dash": "dot", "width": 1})
    _unsettled_band(figure, trend, projection, settling, unsettled_labels or {})
    figure.update_layout(
        xaxis_title=x_title,
        yaxis_title=y_title,
        yaxis_tickformat=".0%",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.25},
        xaxis={"type": "category", "categoryorder": "category ascending"},
    )
    return figure


def _settling_cells(maturity: pd.DataFrame | None) -> set[tuple[str, int]]:
    """``(cohort, month)`` of the trend cells that are reached but not fully observed."""
    if maturity is None or maturity.empty:
        return set()
    rows = maturity[maturity["maturity"] != "observed"]
    return {(str(c), int(m)) for c, m in zip(rows["cohort"], rows["month"])}


def _thin_cells(maturity: pd.DataFrame | None) -> set[tuple[str, int]]:
    """``(cohort, month)`` of the trend cells of too few policies to read alone."""
    if maturity is None or maturity.empty or "thin" not in maturity:
        return set()
    rows = maturity[maturity["thin"].astype(bool)]
    return {(str(c), int(m)) for c, m in zip(rows["cohort"], rows["month"])}


def _unsettled_band(
    figure: go.Figure, trend: pd.DataFrame, projection: pd.DataFrame | None, settling: set[tuple[str, int]], labels: dict[int, str]
) -> None:
    """Shade the cohorts not fully observed at the first month (settling there, or only projected) to the last."""
    projected = {(str(c), int(m)) for c, m in zip(projection["cohort"], projection["month"])} if projection is not None else set()
    categories = sorted({str(c) for c in trend["cohort"]} | {c for c, _ in projected})
    unsettled = settling | projected
    if not unsettled or not categories:
        return
    month = min(m for _, m in unsettled)
    first = categories.index(min(c for c, m in unsettled if m == month))
    label = labels.get(month, "")
    # On a category axis category k sits at x = k: the band runs from half a step before the first to the end.
    figure.add_vrect(
        x0=first - 0.5,
        x1=len(categories) - 0.5,
        fillcolor="#7f8c8d",
        opacity=0.12,
        line_width=0,
        annotation_text=label,
        annotation_position="top left",
    )


@inert
def triangle_heatmap(triangle: pd.DataFrame, *, x_title: str, y_title: str) -> go.Figure:
    """Issue month × duration persistency triangle."""
    figure = go.Figure(
        go.Heatmap(
            z=triangle.to_numpy(),
            x=[str(c) for c in triangle.columns],
            y=[str(i) for i in triangle.index],
            colorscale="RdYlGn",
            zmin=0.6,
            zmax=1.0,
            colorbar={"tickformat": ".0%"},
            hovertemplate="%{y} · %{x}: %{z:.1%}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis_title=x_title, yaxis_title=y_title, margin={"l": 10, "r": 10, "t": 30, "b": 10}, height=600, yaxis_type="category"
    )
    return figure


@inert
def funnel(stages: list[str], values: list[int]) -> go.Figure:
    """The collections funnel."""
    # Whole policies with separators and a one-decimal share (plotly's default wrote 11,702 as "11.702k").
    figure = go.Figure(go.Funnel(y=stages, x=values, texttemplate="%{value:,d}<br>%{percentInitial:.1%}"))
    figure.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


@inert
def survival_curves(curves: pd.DataFrame, *, unit: float, x_title: str, y_title: str, labels: dict[str, str] | None = None) -> go.Figure:
    """Kaplan–Meier step curves with their confidence bands; ``unit`` divides months (12 for years)."""
    figure = go.Figure()
    for i, (name, curve) in enumerate(curves.groupby("cohort", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        label = (labels or {}).get(str(name), str(name))
        x = (curve["month"] / unit).tolist()
        figure.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=curve["upper"].tolist() + curve["lower"].tolist()[::-1],
                fill="toself",
                mode="lines",
                fillcolor=_rgba(colour, 0.15),
                line={"width": 0, "shape": "hv"},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=label,
            )
        )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=curve["survival"],
                mode="lines",
                name=label,
                line={"color": colour, "shape": "hv"},
                legendgroup=label,
                hovertemplate="%{x:.1f}: %{y:.1%}<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        xaxis_title=x_title,
        yaxis_title=y_title,
        yaxis_tickformat=".0%",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        hovermode="x unified",
    )
    return figure


@inert
def forest_plot(hazard_ratios: pd.DataFrame, *, labels: list[str], x_title: str) -> go.Figure:
    """Hazard ratios with 95 % intervals on a log axis, 1 marked."""
    figure = go.Figure(
        go.Scatter(
            x=hazard_ratios["hazard_ratio"],
            y=labels,
            mode="markers",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": hazard_ratios["upper"] - hazard_ratios["hazard_ratio"],
                "arrayminus": hazard_ratios["hazard_ratio"] - hazard_ratios["lower"],
            },
            marker={"color": PALETTE[0], "size": 9},
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
        )
    )
    figure.add_vline(x=1.0, line={"color": "#7f8c8d", "dash": "dot"})
    figure.update_layout(
        xaxis_type="log",
        xaxis_title=x_title,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=120 + 32 * len(labels),
        yaxis={"autorange": "reversed"},
    )
    return figure


@inert
def incidence_curves(incidence: pd.DataFrame, *, names: dict[str, str], x_title: str, y_title: str) -> go.Figure:
    """Cumulative incidence by cause (Aalen–Johansen)."""
    figure = go.Figure()
    for i, (cause, curve) in enumerate(incidence.groupby("cause", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        figure.add_trace(
            go.Scatter(
                x=curve["month"],
                y=curve["incidence"],
                mode="lines",
                name=names.get(str(cause), str(cause)),
                line={"color": colour, "shape": "hv"},
            )
        )
    figure.update_layout(
        xaxis_title=x_title,
        yaxis_title=y_title,
        yaxis_tickformat=".0%",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


_MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


@inert
def importance_bar(importance: pd.DataFrame, *, labels: list[str], x_title: str) -> go.Figure:
    """Mean |SHAP| per feature, largest on top."""
    figure = go.Figure(
        go.Bar(
            x=importance["mean_abs_shap"],
            y=labels,
            orientation="h",
            marker={"color": PALETTE[1]},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    figure.update_layout(xaxis_title=x_title, margin=_MARGIN, height=120 + 26 * len(labels), yaxis={"autorange": "reversed"})
    return figure


@inert
def beeswarm(points: pd.DataFrame, *, x_title: str, colour_title: str, ends: tuple[str, str]) -> go.Figure:
    """SHAP values per feature as a jittered strip, coloured by the feature's value rank.

    ``points`` has ``[label, shap, colour, hover]``; ``colour`` is the value's percentile
    within its feature (0 low … 1 high) or NaN for categories (grey). Label order = row order.
    """
    order = list(dict.fromkeys(points["label"]))
    position = {label: i for i, label in enumerate(order)}
    rng = np.random.default_rng(0)
    y = points["label"].map(position).to_numpy(dtype=float) + rng.uniform(-0.3, 0.3, len(points))
    numeric = points["colour"].notna().to_numpy()
    figure = go.Figure()
    figure.add_trace(
        go.Scattergl(
            x=points["shap"][~numeric],
            y=y[~numeric],
            mode="markers",
            marker={"color": "#95a5a6", "size": 4, "opacity": 0.6},
            text=points["hover"][~numeric],
            hovertemplate="%{text}: %{x:.3f}<extra></extra>",
            showlegend=False,
        )
    )
    figure.add_trace(
        go.Scattergl(
            x=points["shap"][numeric],
            y=y[numeric],
            mode="markers",
            marker={
                "color": points["colour"][numeric],
                "colorscale": "RdBu_r",
                "cmin": 0,
                "cmax": 1,
                "size": 4,
                "opacity": 0.7,
                "colorbar": {"title": colour_title, "tickvals": [0, 1], "ticktext": list(ends)},
            },
            text=points["hover"][numeric],
            hovertemplate="%{text}: %{x:.3f}<extra></extra>",
            showlegend=False,
        )
    )
    figure.add_vline(x=0.0, line={"color": "#7f8c8d", "dash": "dot"})
    figure.update_layout(
        xaxis_title=x_title,
        margin=_MARGIN,
        height=120 + 40 * len(order),
        yaxis={"tickvals": list(range(len(order))), "ticktext": order, "autorange": "reversed"},
    )
    return figure


@inert
def dependence(values: pd.Series, shap_values: pd.Series, *, numeric: bool, x_title: str, y_title: str) -> go.Figure:
    """A feature's value against its SHAP value: scatter for numbers, box per level for categories."""
    if numeric:
        figure = go.Figure(
            go.Scattergl(
                x=values,
                y=shap_values,
                mode="markers",
                marker={"size": 4, "opacity": 0.5, "color": PALETTE[1]},
                hovertemplate="%{x}: %{y:.3f}<extra></extra>",
            )
        )
    else:
        figure = go.Figure(go.Box(x=values.astype(str), y=shap_values, marker={"color": PALETTE[1]}, boxpoints=False))
        figure.update_layout(xaxis_type="category")
    figure.add_hline(y=0.0, line={"color": "#7f8c8d", "dash": "dot"})
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title, margin=_MARGIN)
    return figure


@inert
def cohort_comparison(table: pd.DataFrame, *, labels: list[str], names: tuple[str, str], x_title: str) -> go.Figure:
    """Mean SHAP value (probability points) per feature in two cohorts, side by side."""
    figure = go.Figure()
    for i, (column, name) in enumerate(zip(("in", "rest"), names)):
        figure.add_trace(
            go.Bar(
                x=table[column] * 100,
                y=labels,
                orientation="h",
                name=name,
                marker={"color": PALETTE[i]},
                hovertemplate="%{y}: %{x:+.2f}<extra>%{fullData.name}</extra>",
            )
        )
    figure.add_vline(x=0.0, line={"color": "#7f8c8d", "dash": "dot"})
    figure.update_layout(
        barmode="group",
        xaxis_title=x_title,
        margin=_MARGIN,
        height=140 + 40 * len(labels),
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.15},
    )
    return figure


@inert
def waterfall(base: float, steps: list[tuple[str, float]], final: float, *, base_label: str, final_label: str, y_title: str) -> go.Figure:
    """One policy's probability from the base rate through each feature's points to its own."""
    x = [base_label, *(s[0] for s in steps), final_label]
    y = [base * 100, *(s[1] * 100 for s in steps), final * 100]
    measure = ["absolute", *("relative" for _ in steps), "total"]
    figure = go.Figure(
        go.Waterfall(
            x=x,
            y=y,
            measure=measure,
            text=[f"{v:+.1f}" if m == "relative" else f"{v:.1f}" for v, m in zip(y, measure)],
            increasing={"marker": {"color": PALETTE[0]}},
            decreasing={"marker": {"color": PALETTE[2]}},
            totals={"marker": {"color": PALETTE[1]}},
            connector={"line": {"color": "#bdc3c7"}},
        )
    )
    figure.update_layout(yaxis_title=y_title, margin=_MARGIN, xaxis_type="category", showlegend=False)
    return figure


@inert
def calibration(table: pd.DataFrame, *, x_title: str, y_title: str, names: tuple[str, str]) -> go.Figure:
    """Predicted vs observed lapse by decile of predicted risk, with the diagonal."""
    top = float(max(table["predicted"].max(), table["observed"].max()))
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"color": "#7f8c8d", "dash": "dot"}, name=names[1], hoverinfo="skip")
    )
    figure.add_trace(
        go.Scatter(
            x=table["predicted"],
            y=table["observed"],
            mode="lines+markers",
            name=names[0],
            line={"color": PALETTE[0]},
            text=table["decile"],
            hovertemplate="%{text}: %{x:.1%} → %{y:.1%}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis_title=x_title,
        yaxis_title=y_title,
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
        margin=_MARGIN,
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


@inert
def scenario_curve(curve: pd.DataFrame, *, names: tuple[str, str], x_title: str, y_title: str) -> go.Figure:
    """Baseline vs scenario share in force by month, the scenario's 95 % band shaded."""
    x = curve["month"].tolist()
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=x + x[::-1],
            y=curve["scenario_upper"].tolist() + curve["scenario_lower"].tolist()[::-1],
            fill="toself",
            mode="lines",
            fillcolor=_rgba(PALETTE[2], 0.2),
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=curve["baseline"],
            mode="lines",
            name=names[0],
            line={"color": "#7f8c8d", "dash": "dot"},
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x, y=curve["scenario"], mode="lines", name=names[1], line={"color": PALETTE[2]}, hovertemplate="%{x}: %{y:.1%}<extra></extra>"
        )
    )
    figure.update_layout(
        xaxis_title=x_title,
        yaxis_title=y_title,
        yaxis_tickformat=".0%",
        margin=_MARGIN,
        legend={"orientation": "h", "y": -0.2},
        hovermode="x unified",
    )
    return figure


@inert
def comparison_curves(curves: pd.DataFrame, *, x_title: str, y_title: str, baseline: str) -> go.Figure:
    """Each scenario's curve (with its band) against its own baseline (dotted), one colour each."""
    figure = go.Figure()
    for i, (name, curve) in enumerate(curves.groupby("name", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        x = curve["month"].tolist()
        figure.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=curve["scenario_upper"].tolist() + curve["scenario_lower"].tolist()[::-1],
                fill="toself",
                mode="lines",
                fillcolor=_rgba(colour, 0.12),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=str(name),
            )
        )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=curve["scenario"],
                mode="lines",
                name=str(name),
                line={"color": colour},
                legendgroup=str(name),
                hovertemplate="%{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=curve["baseline"],
                mode="lines",
                name=f"{name} · {baseline}",
                line={"color": colour, "dash": "dot", "width": 1},
                legendgroup=str(name),
                showlegend=False,
                meta=baseline,  # into the hover box as data (escaped like every text), never as template
                hovertemplate="%{x}: %{y:.1%}<extra>%{meta}</extra>",
            )
        )
    figure.update_layout(
        xaxis_title=x_title, yaxis_title=y_title, yaxis_tickformat=".0%", margin=_MARGIN, legend={"orientation": "h", "y": -0.2}
    )
    return figure


@inert
def qini(table: pd.DataFrame, *, x_title: str, y_title: str, names: tuple[str, str]) -> go.Figure:
    """The Qini curve against random targeting."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=table["share_targeted"], y=table["qini"], mode="lines", name=names[0], line={"color": PALETTE[0]}))
    figure.add_trace(
        go.Scatter(x=table["share_targeted"], y=table["random"], mode="lines", name=names[1], line={"color": "#7f8c8d", "dash": "dot"})
    )
    figure.update_layout(
        xaxis_title=x_title, yaxis_title=y_title, xaxis_tickformat=".0%", margin=_MARGIN, legend={"orientation": "h", "y": -0.2}
    )
    return figure
