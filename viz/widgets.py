"""A text field that keeps what is being typed and applies it on Enter or when left.

Solara's ``InputText`` sends the browser's text to the server only on Enter or blur, and
every re-render of the page writes the server's (older) text back into the field: a
re-render caused by another control (or by a comparison's progress) could wipe what someone
was typing. Here the text is sent at each keystroke into the field's own draft, so a
re-render writes back exactly what is in the box; only Enter or leaving the field applies it.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import anywidget
import plotly
import reacton.ipyvuetify as v
import solara
from plotly.graph_objs._figurewidget import FigureWidget

from model.files import write_atomic
from viz import charts, plotly_charts
from viz.figspec import FigureSpec


@solara.component
def TextControl(
    label: str,
    text: str,
    on_commit: Callable[[str], None],
    error: str | None = None,
    hint: str = "",
    classes: list[str] | None = None,
):
    """A labelled text field; ``error`` shows in red under it, else ``hint``."""
    draft = solara.use_reactive(text)  # follows ``text`` when it changes from outside

    def commit(*_ignored) -> None:
        if draft.value != text:
            on_commit(draft.value)

    field = v.TextField(
        label=label,
        v_model=draft.value,
        on_v_model=draft.set,
        error=bool(error),
        messages=[error] if error else ([hint] if hint else []),
        dense=True,
        hide_details="auto",
        class_=" ".join(["lf-input", *(classes or [])]),
    )
    v.use_event(field, "keyup.enter", commit)
    v.use_event(field, "blur", commit)
    return field


@solara.component
def FigureBox(
    spec: FigureSpec,
    classes: list[str],
    caption: str = "",
    on_pick: Callable[[int], None] | None = None,
    height: int = plotly_charts.HEIGHT_PX,
):
    """A figure spec drawn interactively (hover, zoom, PNG from its toolbar), a caption, and
    the same figure as print-quality SVG (the brief's renderer)."""
    fig = solara.use_memo(lambda: plotly_charts.to_plotly(spec, height), [spec, height])

    def clicked(data) -> None:
        ids = plotly_charts.clicked_ids(spec, fig, data)
        if ids and on_pick is not None:
            on_pick(ids[0])

    def svg() -> bytes:
        return charts.to_svg(charts.render(spec))

    with solara.Div(classes=["lf-chart", *classes]):
        with solara.Div(classes=["lf-plot"]):
            PlotlyChart(fig, on_click=clicked, dependencies=[spec, height])
        with solara.Row(classes=["lf-chart-foot"], style={"align-items": "baseline"}):
            solara.Text(caption, classes=["lf-caption"])
            with solara.Div(classes=["lf-svg"]):
                solara.FileDownload(
                    svg, filename=f"{spec.key}.svg", label="SVG", mime_type="image/svg+xml"
                )


def _plotly_config(name: str) -> dict:
    """Plotly's options: follow the box's width, toolbar PNG at twice the size."""
    return {
        "responsive": True,
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2},
    }


def _published_bundle() -> str | None:
    """Plotly's widget code (5 MB) as a file the page's server serves, so that the browser
    loads it once per page; None where it cannot be written (each chart then carries it).

    Plotly's FigureWidget sends its code with every chart: with a dozen charts a page took
    20-30 s to appear. Solara serves Jupyter's nbextensions folders; the copy goes into the
    one inside this Python environment, named by Plotly's version.
    """
    source = Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
    name = f"widgetbundle-{plotly.__version__}.js"
    target = Path(sys.prefix) / "share" / "jupyter" / "nbextensions" / BUNDLE_FOLDER / name
    try:
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, lambda tmp: shutil.copyfile(source, tmp))
    except OSError:
        return None
    return name


BUNDLE_FOLDER = "laborflow-plotly"
BUNDLE = _published_bundle()


class _ConfiguredFigure(FigureWidget):
    """Plotly's FigureWidget with its options (``_config``) set before its first drawing,
    which is when plotly.js reads them, and its code loaded from the server once per page
    (``_published_bundle``)."""

    if BUNDLE is not None:
        _esm = (
            "const root = (window.solara && window.solara.rootPath) || '';\n"
            f"const url = new URL(root + '/jupyter/nbextensions/{BUNDLE_FOLDER}/{BUNDLE}', "
            "window.location.origin);\n"
            "export default (await import(url.href)).default;\n"
        )

    def __init__(self, **kwargs):
        super().__init__(_validate=False, **kwargs)  # figures come validated by construction
        self._config = _plotly_config("laborflow-chart")


class _FitCharts(anywidget.AnyWidget):
    """Makes Plotly charts take their box's width: plotly.js measures a chart once, when it
    is drawn (often before the page has laid it out), and again only on a window resize; so
    this tells the window it resized when the page's width changes or new charts appear."""

    _esm = """
    export default { render({ el }) {
      let width = 0, charts = 0, timer = null;
      const fire = () => { clearTimeout(timer);
        timer = setTimeout(() => window.dispatchEvent(new Event('resize')), 120); };
      const look = () => {
        const n = document.querySelectorAll('.js-plotly-plot').length;
        const w = document.body.clientWidth;
        if (n !== charts || w !== width) { charts = n; width = w; fire(); }
      };
      const resized = new ResizeObserver(look); resized.observe(document.body);
      const changed = new MutationObserver(look);
      changed.observe(document.body, {childList: true, subtree: true});
      look();
      return () => { resized.disconnect(); changed.disconnect(); };
    } };
    """


@solara.component
def FitCharts():
    """Put once on a page with Plotly charts (see ``_FitCharts``)."""
    return _FitCharts.element()


@solara.component
def PlotlyChart(fig, on_click=None, dependencies=None):
    """``solara.FigurePlotly`` with Plotly's options set: the same widget, and a chart that
    takes its box's width (with ``FitCharts`` on the page)."""

    def on_points(data) -> None:
        if data and data.get("event_type") == "plotly_click" and on_click is not None:
            on_click(data)

    # a figure whose traces change in number or kind gets a new widget (Plotly's widget broke
    # when traces were added and removed while a run played); otherwise it is updated
    kinds = "-".join(str(t.type) for t in fig.data)
    element = _ConfiguredFigure.element(on__js2py_pointsCallback=on_points).key(kinds)

    def update() -> None:
        widget = solara.get_widget(element)
        if not widget.data:  # new: filled once
            widget.layout = fig.layout
            widget.add_traces(fig.data)
            return
        # one message and one redraw in the browser (a live run sends several a second):
        # each trace and the layout changed in place
        with widget.batch_update():
            for old, new in zip(widget.data, fig.data, strict=True):
                old.update(new.to_plotly_json(), overwrite=True)
            widget.layout.update(fig.layout.to_plotly_json(), overwrite=True)

    solara.use_effect(update, [*(dependencies or [fig]), kinds])
    return element
