"""The app's renderer of a figure spec: an interactive Plotly figure.

Hover shows the date and every value at it, drag zooms, double-click resets, and the
toolbar downloads the chart as PNG. Plotly ships plotly.js in its wheel and Solara shows
the figure through anywidget (``solara.FigurePlotly``), so nothing is fetched at run time.
What is drawn (data, labels, colours, date marks and the rows of their labels) comes from
the ``FigureSpec``, exactly as in the printed figure (``viz.charts.render``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz import figspec
from viz.figspec import FigureSpec

FONT = "DejaVu Sans, Arial, sans-serif"
HEIGHT_PX = 330
PLOT_WIDTH_INCHES = 4.0
"""The plot area's width on a screen two charts wide, for the strip's label rows."""
ROW_PX = 13


def _when(d) -> str:
    """A date as Plotly reads it on a date axis (a Timestamp object is not read as one)."""
    return pd.Timestamp(d).strftime("%Y-%m-%d")


def _rgba(color: str, alpha: float) -> str:
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _x(spec: FigureSpec, x: Sequence) -> list | np.ndarray:
    if spec.x_kind == "date":
        return pd.to_datetime(pd.Series(x)).dt.strftime("%Y-%m-%d").tolist()
    return np.asarray(x)


def _value(spec: FigureSpec) -> str:
    return "%{y:,.0f}" if spec.whole_numbers else "%{y:,.3g}"


def to_plotly(spec: FigureSpec, height: int = HEIGHT_PX) -> go.Figure:
    """A ``FigureSpec`` as a Plotly figure."""
    traces: list = []
    value = _value(spec)
    for area in spec.areas:
        traces.append(
            dict(
                type="scatter",
                x=_x(spec, spec.x),
                y=np.asarray(area.y),
                name=area.label,
                mode="lines",
                line={"width": 0, "color": area.color},
                fillcolor=_rgba(area.color, 0.9),
                stackgroup="status",
                hovertemplate=f"{value}<extra>{area.label}</extra>",
            )
        )
    for line in spec.lines:
        x = _x(spec, line.x)
        unit = f" {line.unit}" if line.unit else ""
        if line.lo is not None and line.hi is not None:
            traces.append(
                dict(
                    type="scatter",
                    x=x,
                    y=np.asarray(line.hi),
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    hoverinfo="skip",
                    legendgroup=line.label,
                )  # fmt: skip
            )
            traces.append(
                dict(
                    type="scatter",
                    x=x,
                    y=np.asarray(line.lo),
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=_rgba(line.color, 0.2),
                    showlegend=False,
                    hoverinfo="skip",
                    legendgroup=line.label,
                )  # fmt: skip
            )
            band = np.column_stack([np.asarray(line.lo), np.asarray(line.hi)])
            fmt = ",.0f" if spec.whole_numbers else ",.3g"
            template = (
                f"{value}{unit} (80% of runs: %{{customdata[0]:{fmt}}} to "
                f"%{{customdata[1]:{fmt}}})<extra>{line.label}</extra>"
            )
            traces.append(
                dict(
                    type="scatter",
                    x=x,
                    y=np.asarray(line.y),
                    name=line.label,
                    mode="lines",
                    line={"color": line.color, "width": line.width},
                    customdata=band,
                    hovertemplate=template,
                    legendgroup=line.label,
                )  # fmt: skip
            )
        else:
            traces.append(
                dict(
                    type="scatter",
                    x=x,
                    y=np.asarray(line.y),
                    name=line.label,
                    mode="lines",
                    line={"color": line.color, "width": line.width},
                    hovertemplate=f"{value}{unit}<extra>{line.label}</extra>",
                )  # fmt: skip
            )
    for pts in spec.points:
        size = np.sqrt(np.asarray(pts.size, dtype=float)) * 1.15  # area (pt^2) -> diameter (px)
        traces.append(
            dict(
                type="scatter",
                x=_x(spec, pts.x),
                y=np.asarray(pts.y),
                name=pts.label,
                mode="markers",
                marker={
                    "color": pts.color,
                    "size": size,
                    "symbol": "x-thin" if pts.symbol == "x" else "circle",
                    "line": {
                        "width": 1.5 if pts.symbol == "x" else 0.5,
                        "color": pts.color if pts.symbol == "x" else "white",
                    },
                },  # fmt: skip
                text=list(pts.text),
                customdata=list(pts.ids) if pts.ids is not None else None,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    shapes: list[dict] = []
    notes: list[dict] = []
    rows = _marks(shapes, notes, spec)
    top = 34 + (rows * ROW_PX + 6 if rows else 0)
    layout = {
        "height": height,
        "autosize": True,
        "margin": {"l": 58, "r": 12, "t": top, "b": 8},
        "title": {"text": f"<b>{spec.title}</b>", "x": 0.0, "xanchor": "left", "y": 1.0,
                  "yanchor": "top", "pad": {"t": 8, "l": 4}, "font": {"size": 15}},
        "font": {"family": FONT, "size": 12, "color": "#1f2d3d"},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "hovermode": "x unified" if spec.x_kind == "date" else "closest",
        "legend": {"orientation": "h", "x": 0, "y": -0.17, "yanchor": "top",
                   "font": {"size": 11}, "traceorder": "normal"},
        "showlegend": True,
        "shapes": shapes,
        "annotations": notes,
    }  # fmt: skip
    if spec.x_kind == "none":
        layout["xaxis"] = {"visible": False}
        layout["yaxis"] = {"visible": False}
        if spec.note:
            notes.append({"text": spec.note, "xref": "paper", "yref": "paper", "x": 1,
                          "y": -0.02, "xanchor": "right", "yanchor": "top", "showarrow": False,
                          "font": {"size": 10, "color": "#666666"}})  # fmt: skip
    else:
        xaxis = {"showgrid": False, "linecolor": "#444444", "ticks": "outside"}
        if spec.x_label:
            xaxis["title"] = {"text": spec.x_label}
        if spec.x_kind == "date":
            xaxis.update(type="date", hoverformat="%d %b %Y")
        if spec.x_range is not None:
            xaxis["range"] = [_when(v) if spec.x_kind == "date" else v for v in spec.x_range]
        yaxis = {"title": {"text": spec.y_label}, "gridcolor": "#e5e5e5", "zeroline": False,
                 "rangemode": "tozero" if spec.y_from_zero else "normal",
                 "linecolor": "#444444"}  # fmt: skip
        if spec.whole_numbers:
            yaxis["tickformat"] = ",.0f"
        layout["xaxis"], layout["yaxis"] = xaxis, yaxis
    # built from plain dicts and not validated: Plotly's checks cost more than the drawing
    # (about a second for a chart of three years); the specs' fields are fixed by this module
    return go.Figure(data=traces, layout=layout, _validate=False)


def _marks(shapes: list[dict], notes: list[dict], spec: FigureSpec) -> int:
    """Date lines and policy shading in the plot; their labels in rows above it."""
    if spec.x_range is None or spec.x_kind != "date":
        return 0
    start, end = (pd.Timestamp(d) for d in spec.x_range)
    dash = {"color": figspec.MARK_COLOR, "width": 1, "dash": "dash"}
    for w in spec.windows:
        a, b = pd.Timestamp(w.start), pd.Timestamp(w.end) + pd.Timedelta(days=1)
        shapes.append(
            {"type": "rect", "xref": "x", "yref": "paper", "x0": _when(max(a, start)),
             "x1": _when(min(b, end)), "y0": 0, "y1": 1, "fillcolor": _rgba(w.color, 0.09),
             "line": {"width": 0}, "layer": "below"}
        )  # fmt: skip
        for edge in (a, b):  # where the window opens and, if in view, where it ends
            if start < edge < end:
                shapes.append(_vline(_when(edge), {**dash, "color": w.color}))
    for m in spec.marks:
        shapes.append(_vline(_when(m.date), dash))
    colors = {w.label: w.color for w in spec.windows}
    strip = spec.strip(PLOT_WIDTH_INCHES)
    for text, date, row, right in strip:
        color = colors.get(text, figspec.MARK_COLOR)
        d = _when(date)
        lift = 3 + row * ROW_PX
        shapes.append(
            {"type": "line", "xref": "x", "yref": "paper", "ysizemode": "pixel", "yanchor": 1,
             "x0": d, "x1": d, "y0": 0, "y1": lift + 2, "line": {"color": color, "width": 0.8}}
        )  # fmt: skip
        notes.append(
            {"text": text, "xref": "x", "yref": "paper", "x": d, "y": 1, "yshift": lift,
             "xanchor": "right" if right else "left", "yanchor": "bottom", "showarrow": False,
             "font": {"size": 10, "color": color}, "xshift": -2 if right else 2}
        )  # fmt: skip
    return max((r for _, _, r, _ in strip), default=-1) + 1


def _vline(x: str, line: dict) -> dict:
    return {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
            "line": line}  # fmt: skip


def clicked_ids(spec: FigureSpec, fig: go.Figure, data: dict) -> list[int]:
    """The ids (factory rows) of the points a Plotly click event names."""
    points = (data or {}).get("points") or {}
    found = []
    for trace, index in zip(
        points.get("trace_indexes", []), points.get("point_indexes", []), strict=False
    ):
        if 0 <= trace < len(fig.data):
            custom = fig.data[trace].customdata
            if custom is not None and 0 <= index < len(custom):
                found.append(int(np.asarray(custom)[index]))
    return found
