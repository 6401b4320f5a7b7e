"""Plotly chart builders: labels come in already translated, so Chinese renders as text."""

from __future__ import annotations

from typing import Sequence

import pandas as pd
import plotly.graph_objects as go

PALETTE = ("#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#d68910", "#17a589", "#7f8c8d", "#e84393", "#34495e", "#a04000")


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def rate_lines(rates: pd.DataFrame, *, cohort: str | None, x_title: str, y_title: str, legend: dict[str, str] | None = None) -> go.Figure:
    """Rate by period, one line per cohort, with its confidence band shaded."""
    figure = go.Figure()
    groups: Sequence[tuple[object, pd.DataFrame]] = list(rates.groupby(cohort, observed=True, dropna=False)) if cohort else [("", rates)]
    for i, (name, group) in enumerate(groups):
        colour = PALETTE[i % len(PALETTE)]
        group = group.sort_values("period")
        label = (legend or {}).get(str(name), str(name)) or y_title
        x = group["period"].astype(str).tolist()
        figure.add_trace(go.Scatter(x=x + x[::-1], y=group["upper"].tolist() + group["lower"].tolist()[::-1], fill="toself", mode="lines",
                                    fillcolor=_rgba(colour, 0.15), line={"width": 0}, hoverinfo="skip", showlegend=False, legendgroup=label))
        figure.add_trace(go.Scatter(x=x, y=group["rate"], mode="lines+markers", name=label, line={"color": colour}, legendgroup=label,
                                    hovertemplate="%{x}: %{y:.2%}<extra>" + label + "</extra>"))
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title, yaxis_tickformat=".1%", hovermode="x unified",
                         margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h", "y": -0.2}, xaxis_type="category")
    return figure


def rate_heatmap(rates: pd.DataFrame, *, cohort: str, x_title: str, y_title: str, labels: dict[str, str] | None = None) -> go.Figure:
    """Cohort × period heatmap of rates (cells without exposure left blank)."""
    grid = rates.pivot_table(index=cohort, columns="period", values="rate", observed=True, aggfunc="first")
    y = [(labels or {}).get(str(v), str(v)) for v in grid.index]
    figure = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[str(c) for c in grid.columns], y=y, colorscale="Reds",
                                  colorbar={"tickformat": ".0%"}, hovertemplate="%{y} · %{x}: %{z:.2%}<extra></extra>"))
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_type="category", yaxis_type="category")
    return figure


def trend_lines(trend: pd.DataFrame, *, x_title: str, y_title: str, names: dict[int, str], targets: dict[int, float]) -> go.Figure:
    """Persistency by issue cohort, one line per month, with dotted target lines."""
    figure = go.Figure()
    for i, (month, group) in enumerate(trend.groupby("month")):
        colour = PALETTE[i % len(PALETTE)]
        figure.add_trace(go.Scatter(x=group["cohort"].astype(str), y=group["persistency"], mode="lines+markers", name=names.get(int(month), str(month)), line={"color": colour},
                                    hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
        if int(month) in targets:
            figure.add_hline(y=targets[int(month)], line={"color": colour, "dash": "dot", "width": 1})
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title, yaxis_tickformat=".0%", margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         legend={"orientation": "h", "y": -0.25}, xaxis_type="category")
    return figure


def triangle_heatmap(triangle: pd.DataFrame, *, x_title: str, y_title: str) -> go.Figure:
    """Issue month × duration persistency triangle."""
    figure = go.Figure(go.Heatmap(z=triangle.to_numpy(), x=[str(c) for c in triangle.columns], y=[str(i) for i in triangle.index], colorscale="RdYlGn",
                                  zmin=0.6, zmax=1.0, colorbar={"tickformat": ".0%"}, hovertemplate="%{y} · %{x}: %{z:.1%}<extra></extra>"))
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title, margin={"l": 10, "r": 10, "t": 30, "b": 10}, height=600, yaxis_type="category")
    return figure


def funnel(stages: list[str], values: list[int]) -> go.Figure:
    """The collections funnel."""
    figure = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent initial"))
    figure.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def survival_curves(curves: pd.DataFrame, *, unit: float, x_title: str, y_title: str, labels: dict[str, str] | None = None) -> go.Figure:
    """Kaplan–Meier step curves with their confidence bands; ``unit`` divides months (12 for years)."""
    figure = go.Figure()
    for i, (name, curve) in enumerate(curves.groupby("cohort", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        label = (labels or {}).get(str(name), str(name))
        x = (curve["month"] / unit).tolist()
        figure.add_trace(go.Scatter(x=x + x[::-1], y=curve["upper"].tolist() + curve["lower"].tolist()[::-1], fill="toself", mode="lines",
                                    fillcolor=_rgba(colour, 0.15), line={"width": 0, "shape": "hv"}, hoverinfo="skip", showlegend=False, legendgroup=label))
        figure.add_trace(go.Scatter(x=x, y=curve["survival"], mode="lines", name=label, line={"color": colour, "shape": "hv"}, legendgroup=label,
                                    hovertemplate="%{x:.1f}: %{y:.1%}<extra>" + label + "</extra>"))
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title, yaxis_tickformat=".0%", margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         legend={"orientation": "h", "y": -0.2}, hovermode="x unified")
    return figure


def forest_plot(hazard_ratios: pd.DataFrame, *, labels: list[str], x_title: str) -> go.Figure:
    """Hazard ratios with 95 % intervals on a log axis, 1 marked."""
    figure = go.Figure(go.Scatter(
        x=hazard_ratios["hazard_ratio"], y=labels, mode="markers",
        error_x={"type": "data", "symmetric": False, "array": hazard_ratios["upper"] - hazard_ratios["hazard_ratio"], "arrayminus": hazard_ratios["hazard_ratio"] - hazard_ratios["lower"]},
        marker={"color": PALETTE[0], "size": 9}, hovertemplate="%{y}: %{x:.2f}<extra></extra>",
    ))
    figure.add_vline(x=1.0, line={"color": "#7f8c8d", "dash": "dot"})
    figure.update_layout(xaxis_type="log", xaxis_title=x_title, margin={"l": 10, "r": 10, "t": 30, "b": 10}, height=120 + 32 * len(labels), yaxis={"autorange": "reversed"})
    return figure


def incidence_curves(incidence: pd.DataFrame, *, names: dict[str, str], x_title: str, y_title: str) -> go.Figure:
    """Cumulative incidence by cause (Aalen–Johansen)."""
    figure = go.Figure()
    for i, (cause, curve) in enumerate(incidence.groupby("cause", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        figure.add_trace(go.Scatter(x=curve["month"], y=curve["incidence"], mode="lines", name=names.get(str(cause), str(cause)), line={"color": colour, "shape": "hv"}))
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title, yaxis_tickformat=".0%", margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h", "y": -0.2})
    return figure
