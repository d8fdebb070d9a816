"""Layout maths shared by every picture: sizes in *cell units*, text widths,
panel flow and the one fixed-point loop that picks a figure's scale.

Each figure is one full-figure axes in cell units: a grid cell is 1 x 1 data
units and :data:`CELL_IN` inches, y grows downwards.  Panels are placed by
explicit arithmetic, so cells have the same size in every panel and the figure
size follows the content.

Layouts are made for the book's text column: a figure is laid out for the dpi
it is shown at (100 for figures, the ``dpi`` of animations and widgets) so that
it is at most :data:`TARGET_PX` wide -- panels wrap onto more rows first
(:func:`flow_best`), cells shrink only for large inputs -- and its text has the
same pixel size at every dpi (:func:`text_factor`); the browser then shows it
1:1 and the font sizes below are the sizes a reader sees.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties

from .. import style

__all__ = [
    "CELL_IN", "REF_DPI", "TARGET_PX", "WIDE_PX", "MAX_PX", "MAX_HEIGHT_PX",
    "MARGIN", "TOP_MARGIN", "PANEL_GAP", "ROW_GAP", "CAPTION_LINE_H", "LEGEND_ROW_H",
    "VALUE_PT", "TITLE_PT", "LABEL_PT", "SUBTITLE_PT", "MONO_PT", "CAPTION_PT", "LEGEND_PT",
    "Fit", "FittedLayout", "fit_layout", "choose_scale", "text_factor", "text_cells", "label_width",
    "Panel", "pack_rows", "flow", "flow_best",
    "scale_of", "boost_of", "text_scale_of", "legend_widths", "legend_rows", "footer_height", "wrap_words", "caption_width",
    "caption_lines",
]

CELL_IN = 0.36  # inches per grid cell
CELL_PT = CELL_IN * 72
# Font sizes (points) at REF_DPI.  The book shows figures at most TARGET_PX wide 1:1, so these
# are the sizes on screen (at another dpi text is scaled to the same pixel size: see text_factor).
VALUE_PT = 10.0  # values in cells
TITLE_PT = 11.0  # panel titles (bold)
LABEL_PT = 9.0  # row/column indices
SUBTITLE_PT = 10.0  # small titles above the many small grids of a Jacobian
MONO_PT = 10.0  # dot-product arithmetic
CAPTION_PT = 10.5  # geometry / step captions
LEGEND_PT = 10.5

# Width budgets in screen pixels (the book's text column is 688 px at a 1280 px window and shows
# images up to that width 1:1).  A figure is laid out for the dpi it will be shown at, so they hold
# at any dpi.
REF_DPI = 100.0  # text sizes above are what a figure shows at this dpi; at other dpi they scale to the same pixels
TARGET_PX = 688  # layouts wrap panels to fit the column ...
WIDE_PX = 730  # ... or may be this wide (shown at >= 94 %) when that saves a row of panels
MAX_PX = 800  # a layout that cannot wrap narrower shrinks its cells to TARGET_PX ...
MIN_TEXT_SCALE = 1.0  # ... but never its text: text keeps its size and gets relatively more room
MAX_HEIGHT_PX = 800  # a wrapped layout taller than this (as shown) shrinks its cells instead of adding rows

MARGIN = 0.3  # outer margin, cells
TOP_MARGIN = 1.5  # room for a title and column indices above a grid
PANEL_GAP = 0.9  # between panels side by side
ROW_GAP = 1.8  # between panels stacked (room for the next title and column indices)
CAPTION_LINE_H = 0.72  # one caption line, cells (times the text factor)
LEGEND_ROW_H = 0.8  # one legend row, cells (times the text factor)

_MEASURER = None
_WIDTHS: dict = {}


def text_cells(s: str, fontsize: float, mono: bool = False, bold: bool = False) -> float:
    """Width of a one-line string in cell units, as Agg draws it at :data:`REF_DPI`.

    Text has the same pixel size at every dpi (see :func:`text_factor`),
    hinting included, so this is what will be drawn.

    Parameters
    ----------
    s : str
    fontsize : float, points
    mono, bold : bool

    Returns
    -------
    float, cells

    Examples
    --------
    >>> text_cells("input", TITLE_PT, bold=True) > text_cells("in", TITLE_PT, bold=True) > 0
    True
    """
    key = (s, round(fontsize, 3), mono, bold)
    w = _WIDTHS.get(key)
    if w is None:
        global _MEASURER
        if _MEASURER is None:
            _MEASURER = RendererAgg(1, 1, REF_DPI)
        if len(_WIDTHS) > 20_000:
            _WIDTHS.clear()
        prop = FontProperties(size=fontsize, weight="bold" if bold else "normal", family="monospace" if mono else None)
        w = _WIDTHS[key] = _MEASURER.get_text_width_height_descent(s, prop, ismath=False)[0] * 72.0 / REF_DPI
    return 1.02 * w / CELL_PT


def text_factor(scale: float, boost: float = 1.0) -> float:
    """How much larger (in cells) text is than at the reference size.

    ``boost`` (= ``REF_DPI / dpi``, so that text has the same pixel size at any
    dpi) divided by the cell shrink ``scale`` (text never shrinks below
    ``MIN_TEXT_SCALE``).  Layouts reserve ``text_factor`` times the usual room
    around text.

    Examples
    --------
    >>> text_factor(1.0), text_factor(0.5), text_factor(1.0, boost=1.25)
    (1.0, 2.0, 1.25)
    """
    return max(scale, MIN_TEXT_SCALE) * boost / scale


def choose_scale(width_cells: float, dpi: float = REF_DPI) -> float:
    """The cell shrink factor of a layout ``width_cells`` wide shown at ``dpi``.

    1 when it is at most :data:`MAX_PX` wide, else the factor that brings it
    to :data:`TARGET_PX`.

    Examples
    --------
    >>> choose_scale(10), round(choose_scale(40), 3)
    (1.0, 0.478)
    """
    px = width_cells * CELL_IN * dpi
    return 1.0 if px <= MAX_PX else TARGET_PX / px


class Fit:
    """Layout context of one figure: its display ``dpi``, the cell shrink
    ``scale`` and the text factor ``k`` (see :func:`text_factor`).

    Scenes lay out at ``k`` (through :func:`fit_layout`), then :meth:`settle`
    with the width they got: when cells must shrink, text gets relatively
    wider, so they lay out again until nothing changes.

    Examples
    --------
    >>> fit = Fit(80)
    >>> fit.k, fit.settle(10.0), fit.scale
    (1.25, True, 1.0)
    """

    def __init__(self, dpi: float = REF_DPI):
        self.dpi = float(dpi)
        self.boost = REF_DPI / self.dpi
        self.scale = 1.0
        self.k = self.boost

    def cells(self, px: float) -> float:
        """A pixel budget in cells at the current scale."""
        return px / (self.dpi * CELL_IN * self.scale)

    def settle(self, width_cells: float) -> bool:
        """Pick the scale for this width; True when the layout can be drawn as is."""
        self.scale = choose_scale(width_cells, self.dpi)
        k = text_factor(self.scale, self.boost)
        if k <= self.k + 1e-6:
            return True
        self.k = k
        return False


class FittedLayout(NamedTuple):
    """What :func:`fit_layout` settled on: ``(width, layout, fit, annotate)``.

    Examples
    --------
    >>> width, layout, fit, annotate = FittedLayout(5.0, None, Fit(), True)
    >>> width, annotate
    (5.0, True)
    """

    width: float  # cells
    layout: object  # whatever ``build`` returned with the width
    fit: Fit
    annotate: bool  # whether the cells keep their numbers


def fit_layout(build: Callable, dpi: float, annotate: bool = False, min_scale: float = 0.0,
               rounds: int = 6) -> FittedLayout:
    """The one fixed-point layout loop: choose scale -> lay out -> check fit.

    ``build(fit, annotate)`` lays the figure out at the text factor ``fit.k``
    and returns ``(width, layout)``.  Text grows relative to cells when cells
    shrink, so the loop lays out again until :meth:`Fit.settle` accepts the
    width (at most ``rounds`` times).  With ``annotate``, a layout whose cells
    would shrink below ``min_scale`` is redone without numbers in the cells.

    Parameters
    ----------
    build : callable ``(Fit, bool) -> (float, object)``
    dpi : float, the resolution the figure is shown at
    annotate : bool, numbers in the cells (may be dropped)
    min_scale : float, smallest cell shrink that keeps the numbers
    rounds : int

    Returns
    -------
    FittedLayout ``(width, layout, fit, annotate)``

    Examples
    --------
    >>> fl = fit_layout(lambda fit, annotate: (2 * MARGIN + 5, "five cells"), 100, annotate=True, min_scale=0.5)
    >>> fl.layout, fl.fit.scale, fl.annotate
    ('five cells', 1.0, True)
    >>> fit_layout(lambda fit, annotate: (400.0 if annotate else 300.0, None), 100, True, 0.5).annotate
    False
    """
    while True:
        fit = Fit(dpi)
        for _ in range(rounds):
            width, layout = build(fit, annotate)
            if annotate and choose_scale(width, fit.dpi) < min_scale:
                break  # cells too small for numbers: lay out again without them
            if fit.settle(width):
                return FittedLayout(width, layout, fit, annotate)
        else:
            return FittedLayout(width, layout, fit, annotate)
        annotate = False


def scale_of(ax) -> float:
    """The cell shrink factor of the figure ``ax`` belongs to (see :func:`choose_scale`).

    Examples
    --------
    >>> from convviz.render.scene import new_figure
    >>> fig, ax = new_figure(4, 4, dpi=80, scale=0.5)
    >>> scale_of(ax), boost_of(ax), text_scale_of(ax)
    (0.5, 1.25, 1.25)
    """
    return getattr(ax.figure, "convviz_scale", 1.0)


def boost_of(ax) -> float:
    """The text boost ``REF_DPI / dpi`` of the figure ``ax`` belongs to (see :func:`text_factor`)."""
    return getattr(ax.figure, "convviz_boost", 1.0)


def text_scale_of(ax) -> float:
    """Point sizes of text are multiplied by this (see :func:`text_factor`)."""
    return max(scale_of(ax), MIN_TEXT_SCALE) * boost_of(ax)


def label_width(labels, boost: float = 1.0) -> float:
    """Room (cells) that row labels need left of a grid (0 without labels).

    ``boost`` as in :func:`text_factor` (labels scale with the cells otherwise).

    Examples
    --------
    >>> label_width(None), label_width(["0", "10"]) > label_width(["0"]) > 0
    (0.0, True)
    """
    if not labels:
        return 0.0
    return max(text_cells(str(s), LABEL_PT) for s in labels) * boost + 0.22


def pack_rows(widths, max_width: float, gap: float = PANEL_GAP):
    """Greedy left-to-right flow: indices of the panels in each row.

    A row wraps before a panel that would end past ``max_width``; a row holds
    at least one panel.

    Examples
    --------
    >>> pack_rows([3, 3, 3], 7, gap=1)
    [[0, 1], [2]]
    """
    rows, cur, used = [], [], 0.0
    for i, w in enumerate(widths):
        if cur and used + gap + w > max_width:
            rows.append(cur)
            cur, used = [], 0.0
        used += (gap if cur else 0.0) + w
        cur.append(i)
    if cur:
        rows.append(cur)
    return rows


class Panel:
    """A grid to place by :func:`flow`: ``w`` x ``h`` cells plus room ``left`` /
    ``right`` of it (row labels, a title wider than the grid).  ``x``/``y``:
    the grid's top-left corner once placed.

    Examples
    --------
    >>> p = Panel("x", 3, 2, left=1.0)
    >>> p.span, round(flow([[p]], 20)[0], 6)
    (4.0, 4.6)
    """

    __slots__ = ("key", "w", "h", "left", "right", "x", "y")

    def __init__(self, key, w, h, left=0.0, right=0.0):
        self.key, self.w, self.h, self.left, self.right = key, float(w), float(h), float(left), float(right)
        self.x = self.y = 0.0

    @property
    def span(self) -> float:
        """Width including the room left and right of the grid."""
        return self.left + self.w + self.right

    @classmethod
    def titled(cls, key, w, h, title, fit: Fit, labels=None, centred=True):
        """A grid with a bold title above it (centred, or left-aligned) and optional row labels."""
        tw = text_cells(title, TITLE_PT, bold=True) * fit.k if title else 0.0
        lw = label_width(labels, fit.boost)
        if centred:
            over = max(0.0, (tw - w) / 2)
            return cls(key, w, h, max(lw, over), over)
        return cls(key, w, h, lw, max(0.0, tw - w))


def flow(groups, max_width: float, top: float = TOP_MARGIN, gap: float = PANEL_GAP, vgap: float = ROW_GAP):
    """Place the panels of each group left to right, top-aligned.

    A row wraps before a panel that would pass ``max_width`` cells; every
    group starts a new row.  Sets each panel's ``x``/``y``.

    Returns
    -------
    (width, bottom, number of rows), cells

    Examples
    --------
    >>> panels = [Panel("a", 4, 4), Panel("b", 4, 4)]
    >>> flow([panels], 100)[2], flow([panels], 8)[2]
    (1, 2)
    """
    y, width, n = top, 0.0, 0
    for group in groups:
        if not group:
            continue
        for row in pack_rows([p.span for p in group], max_width - 2 * MARGIN, gap):
            x = MARGIN
            for i in row:
                p = group[i]
                p.x, p.y = x + p.left, y
                x += p.span + gap
            width = max(width, x - gap + MARGIN)
            y += max(group[i].h for i in row) + vgap
            n += 1
    return width, y - vgap, n


def flow_best(groups, fit: Fit, **kw):
    """:func:`flow` with the row width that shows best in the text column.

    Candidates wrap rows at widths from :data:`TARGET_PX` up to no wrapping at
    all; each is shrunk to the column if wider than :data:`MAX_PX`.  Among those
    no taller than :data:`MAX_HEIGHT_PX` (as shown), the one with the largest
    cells wins, then the one with fewer rows (so rows up to :data:`WIDE_PX` wide
    are used when that saves a row), then the narrower one; when every
    candidate is too tall, the shortest.

    Returns
    -------
    :func:`flow`'s result for the best candidate

    Examples
    --------
    >>> panels = [Panel(n, 6, 6) for n in "abcd"]
    >>> flow_best([panels], Fit())[2]    # one row would be 983 px wide: two rows of two
    2
    """
    px_per_cell = fit.dpi * CELL_IN  # at scale 1
    kw["vgap"] = kw.get("vgap", ROW_GAP) + 0.55 * max(fit.k - 1.0, 0.0)  # titles between rows grow with the text factor
    budgets = [TARGET_PX, WIDE_PX, 1.5 * TARGET_PX, 2 * TARGET_PX, 3 * TARGET_PX, float("inf")]
    best, best_key = None, None
    for budget in budgets:
        width, bottom, rows = flow(groups, budget / px_per_cell, **kw)
        w_px = width * px_per_cell
        scale = choose_scale(width, fit.dpi)
        shown = min(1.0, TARGET_PX / (w_px * scale))  # the browser scales anything wider than the column
        if shown < TARGET_PX / WIDE_PX - 1e-9:
            continue
        h_px = bottom * px_per_cell * scale * shown
        key = (0, -round(scale, 3), rows, width) if h_px <= MAX_HEIGHT_PX else (1, h_px)
        if best_key is None or key < best_key:
            best, best_key = budget, key
    if best is None:
        best = TARGET_PX
    return flow(groups, best / px_per_cell, **kw)


def legend_widths(roles, k: float = 1.0):
    """Width (cells) of each legend entry: swatch, gap and label, at text factor ``k``.

    Examples
    --------
    >>> short, long = legend_widths(["input", "highlight"])   # "input", "current step"
    >>> long > short > 0
    True
    """
    gap = 0.22 * k
    return [swatch_width(r, k) + gap + text_cells(style.LABELS[r], LEGEND_PT) * k for r in roles]


def swatch_width(role: str, k: float = 1.0) -> float:
    """Width (cells) of a legend swatch: three squares for the signed scale (three bars
    for im2col's window hues), one otherwise.

    Examples
    --------
    >>> swatch_width("input"), swatch_width("signed")
    (0.55, 1.2)
    """
    return (1.2 if role in ("signed", "windows", "channels") else 0.55) * k


LEGEND_SEP = 0.6  # between legend entries, cells (times the text factor)


def legend_rows(roles, width: float, k: float = 1.0):
    """The legend's roles in rows no wider than ``width`` cells (wrapped, never cut).

    Examples
    --------
    >>> legend_rows(["input", "kernel"], 100), len(legend_rows(["input", "kernel"], 3))
    ([['input', 'kernel']], 2)
    """
    sep = LEGEND_SEP * k
    rows, cur, used = [], [], 0.0
    for r, w in zip(roles, legend_widths(roles, k)):
        if cur and used + sep + w > width:
            rows.append(cur)
            cur, used = [], 0.0
        used += (sep if cur else 0.0) + w
        cur.append(r)
    rows.append(cur)
    return rows


def footer_height(n_lines: int, roles, width: float, k: float = 1.0) -> float:
    """Height (cells) below the panels: ``n_lines`` caption lines, then the legend rows.

    Examples
    --------
    >>> round(footer_height(1, ["input"], 20), 2)
    2.22
    """
    n_rows = len(legend_rows(roles, width - 2 * MARGIN, k))
    return (0.25 + n_lines * CAPTION_LINE_H + 0.3 + n_rows * LEGEND_ROW_H + 0.15) * k


def wrap_words(text: str, width: float, fontsize: float = CAPTION_PT):
    """Split a caption into lines no wider than ``width`` cells.

    A word longer than that keeps its own line; ``"3×3 → 5×5"`` is never broken.

    Examples
    --------
    >>> wrap_words("one two three", 1000)
    ['one two three']
    >>> wrap_words("one two three", 1.2)
    ['one', 'two', 'three']
    """
    lines, cur = [], ""
    for word in text.replace(" → ", "\0→\0").split(" "):  # never break "3×3 → 5×5"
        word = word.replace("\0", " ")
        trial = word if not cur else cur + " " + word
        if cur and text_cells(trial, fontsize) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    return lines + [cur]


def caption_width(width: float, caption: str, fit: Fit) -> float:
    """``width`` widened (up to the text column) so that ``caption`` fits on one line.

    Examples
    --------
    >>> caption_width(3.0, "a long caption that needs room", Fit()) > 3.0
    True
    """
    return max(width, min(text_cells(caption, CAPTION_PT) * fit.k + 2 * MARGIN, fit.cells(TARGET_PX)))


def caption_lines(width: float, geometry: str, longest_step: str, k: float = 1.0):
    """How the captions fit a figure ``width`` cells wide.

    Returns
    -------
    (geometry lines, split): ``split`` when the step caption needs a line of
    its own after them.

    Examples
    --------
    >>> caption_lines(40.0, "stride 1", "step 1/9")
    (['stride 1'], False)
    """
    avail = (width - 2 * MARGIN) / k
    geo = wrap_words(geometry, avail)
    return geo, text_cells(geo[-1] + "   " + longest_step, CAPTION_PT) > avail
