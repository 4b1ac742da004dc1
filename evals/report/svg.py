"""Matplotlib figures rendered to SVG markup that is safe to inline in the HTML report.

The report is one self-contained file under a strict CSP, so a chart must be plain
SVG: no script, no external reference, no global `<style>`, and ids that cannot
collide with another chart's on the same page. Matplotlib is imported lazily (and
through `matplotlib.figure.Figure`, never pyplot: no GUI backend, no global figure
registry) so that importing `evals` stays cheap.
"""

from __future__ import annotations

import contextlib
import html
import io
import itertools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Okabe & Ito's colour-blind-safe palette (yellow last: weakest on white).
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
GRID_COLOUR = "#d9d9d9"
TEXT_COLOUR = "#333333"

# Applied both when building and when rendering: ticks are created lazily at draw time
# and read rcParams then.
_RC: dict[str, Any] = {
    "font.size": 9,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.edgecolor": "#888888",
    "axes.labelcolor": TEXT_COLOUR,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": GRID_COLOUR,
    "grid.linewidth": 0.6,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.color": TEXT_COLOUR,
    "ytick.color": TEXT_COLOUR,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "svg.fonttype": "none",  # text stays text: small files, selectable, escaped
    "svg.image_inline": True,
}

_calls = itertools.count()

_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.DOTALL)
_DROPPED = re.compile(r"<(metadata|style)\b.*?</\1>|<(?:metadata|style)\b[^>]*/>", re.DOTALL)
_EMPTY_DEFS = re.compile(r"<defs>\s*</defs>")
_ROOT = re.compile(r"<svg\b([^>]*)>")
_SIZE_ATTR = re.compile(r'\s(width|height)="([^"]*)"')
_TAG = re.compile(r"<[^>]+>")  # matplotlib escapes < and > in text and attribute values
_ID_ATTR = re.compile(r'\sid="([^"]*)"')
_REFERENCE = re.compile(r'url\(#([^)"]+)\)|href="#([^"]+)"')


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """The house style's rcParams, for drawing: matplotlib reads font sizes and colours
    when a title, label or annotation is created, so draw inside this to get them."""
    import matplotlib as mpl

    with mpl.rc_context(_RC):
        yield


def new_figure(width_in: float, height_in: float) -> tuple[Figure, Axes]:
    """A figure with one axes in the house style (no pyplot, so no global state).

    Texts added later take the house font sizes only when added under `house_style()`.
    """
    from matplotlib.figure import Figure

    with house_style():
        fig = Figure(figsize=(width_in, height_in), dpi=72, layout="constrained")
        ax = fig.add_subplot()
        ax.set_prop_cycle(color=list(PALETTE))
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8, colors=TEXT_COLOUR, length=3)
    return fig, ax


def figure_svg(fig: Figure, *, label: str) -> str:
    """The figure as inline `<svg>` markup, then the figure's artists are cleared.

    `label` becomes the escaped `aria-label`; it also salts matplotlib's ids (with a
    per-process counter) so two charts on one page never share an id.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    salt = f"{label}\x00{next(_calls)}"
    buf = io.StringIO()
    try:
        FigureCanvasSVG(fig)
        with mpl.rc_context({**_RC, "svg.hashsalt": salt}):
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    finally:
        fig.clear()
    return _clean(buf.getvalue(), label)


def _clean(svg: str, label: str) -> str:
    """Strip what must not reach the page and make the root responsive and accessible."""
    svg = _PROLOG.sub("", svg)
    svg = _EMPTY_DEFS.sub("", _DROPPED.sub("", svg))
    tags = _TAG.findall(svg)
    referenced = {a or b for tag in tags for a, b in _REFERENCE.findall(tag)}
    # matplotlib names groups figure_1, axes_1, ... in every figure: unreferenced ids go
    # (the referenced ones, for clip paths and markers, are hashes salted per call)
    svg = _TAG.sub(
        lambda t: _ID_ATTR.sub(
            lambda m: m.group(0) if m.group(1) in referenced else "", t.group(0)
        ),
        svg,
    )
    root = _ROOT.search(svg)
    if root is None:
        raise ValueError("matplotlib produced no <svg> element")
    attrs = root.group(1)
    width_pt = dict(_SIZE_ATTR.findall(attrs)).get("width", "")
    attrs = _SIZE_ATTR.sub("", attrs)
    max_px = _pt_to_px(width_pt)
    style = "width:100%;height:auto" + (f";max-width:{max_px}px" if max_px else "")
    # the dropped <style> set these for every element on the page; inherit them instead
    new_root = (
        f'<svg{attrs} role="img" aria-label="{html.escape(label, quote=True)}"'
        f' style="{style}" stroke-linejoin="round" stroke-linecap="butt">'
    )
    return (svg[: root.start()] + new_root + svg[root.end() :]).strip() + "\n"


def _pt_to_px(value: str) -> int | None:
    """matplotlib writes the size in pt; CSS px are 3/4 pt."""
    match = re.fullmatch(r"([0-9.]+)(pt)?", value.strip())
    if not match:
        return None
    number = float(match.group(1))
    return round(number * 4 / 3) if match.group(2) else round(number)
