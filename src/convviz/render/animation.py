"""Animations: every step of a scene as self-contained JavaScript (matplotlib's
``to_jshtml`` with the frames as palette PNGs and no CDN), at most 1 MB.
"""
from __future__ import annotations

import base64
import io
import math
import re

import numpy as np

from .scene import Scene

__all__ = ["Animation", "animate", "self_contained", "MAX_BYTES", "MIN_DPI"]


class Animation:
    """A self-contained JavaScript animation (matplotlib's ``to_jshtml``: frames
    embedded as base64 PNG, player controls inline, no CDN).

    Displays itself in Jupyter and in the built book; ``.html`` is the markup,
    ``.nbytes`` its size, ``.n_frames`` the number of frames, ``.size_px``
    the frame size in pixels.

    Examples
    --------
    >>> a = Animation("<div></div>", n_frames=1, dpi=80, size_px=(10, 10))
    >>> a.nbytes, a
    (11, <convviz Animation: 1 frames, 10x10 px, 0 kB>)
    """

    def __init__(self, html: str, n_frames: int, dpi: float, size_px):
        self.html = html
        self.n_frames = n_frames
        self.dpi = dpi
        self.size_px = size_px

    @property
    def nbytes(self) -> int:
        return len(self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path) -> None:
        """Write the markup to ``path`` (UTF-8)."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)

    def __repr__(self):
        return f"<convviz Animation: {self.n_frames} frames, {self.size_px[0]}x{self.size_px[1]} px, {self.nbytes / 1e3:.0f} kB>"


MAX_BYTES = 1_000_000
MIN_DPI = 66  # animations go below this resolution only as a last resort

# matplotlib's player loads Font Awesome from a CDN for its button icons; the
# book must work offline, so the link goes and the icons become plain symbols.
_ICONS = {
    "fa fa-minus": "&minus;",
    "fa fa-fast-backward": "&#x21E4;",
    "fa fa-step-backward": "&#x25C1;",
    "fa fa-play fa-flip-horizontal": "&#x25C0;&#xFE0E;",
    "fa fa-pause": "&#x2016;",
    "fa fa-play": "&#x25B6;&#xFE0E;",
    "fa fa-step-forward": "&#x25B7;",
    "fa fa-fast-forward": "&#x21E5;",
    "fa fa-plus": "+",
}
_FRAME_RE = re.compile(r'"data:image/png;base64,((?:[^"\\]|\\\n)+)"')


def _quantize_png(b64: str, colors: int) -> str:
    """One base64 PNG frame re-encoded as a ``colors``-colour palette PNG."""
    from PIL import Image

    raw = base64.b64decode(b64.replace("\\\n", "").replace("\n", ""))
    im = Image.open(io.BytesIO(raw)).convert("RGB")
    q = im.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    q.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def self_contained(html: str, colors: int = 128) -> str:
    """Make ``to_jshtml`` output offline-safe and small.

    Drops the Font Awesome CDN stylesheet (icons become Unicode symbols) and
    re-encodes every embedded frame as a ``colors``-colour palette PNG (flat
    grids: ~3× smaller, visually identical).

    Examples
    --------
    >>> self_contained('<link href="font-awesome.css"><i class="fa fa-play"></i>', colors=0)
    '<span aria-hidden="true">&#x25B6;&#xFE0E;</span>'
    """
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
    for cls, sym in _ICONS.items():
        html = html.replace(f'<i class="{cls}"></i>', f'<span aria-hidden="true">{sym}</span>')
    if colors:
        html = _FRAME_RE.sub(lambda m: '"data:image/png;base64,' + _quantize_png(m.group(1), colors) + '"', html)
    return html


def animate(scene: Scene, fps: float = 2.0, dpi: float = 80, max_frames: int = 36, max_bytes: int = MAX_BYTES,
            colors: int = 128) -> Animation:
    """Render every step of ``scene`` into an :class:`Animation` of at most ``max_bytes``.

    The one animation wrapper: every ``animate_*`` function builds its scene
    and calls this.  A scene without a figure is drawn first, laid out for
    ``dpi`` at step 0.  Frames come from ``FuncAnimation.to_jshtml`` (PNG,
    embedded), made self-contained and palette-compressed by
    :func:`self_contained`.  Large scenes are subsampled to ``max_frames``; if
    the page would still be too heavy, the resolution is lowered (down to
    ``MIN_DPI``), then frames are dropped, until it fits.  The figure is
    released afterwards.

    Parameters
    ----------
    scene : Scene
    fps : float, frames per second
    dpi : float, resolution of the frames
    max_frames : int
    max_bytes : int, size limit of the markup
    colors : int, palette size of the frames (0: keep full colour)

    Returns
    -------
    Animation

    Examples
    --------
    >>> from convviz.render import SlidingWindowScene
    >>> anim = animate(SlidingWindowScene(np.ones((3, 3)), np.ones((2, 2))), dpi=40)
    >>> anim.n_frames, anim.nbytes < MAX_BYTES
    (4, True)
    """
    import matplotlib
    from matplotlib.animation import FuncAnimation

    if scene.fig is None:
        scene.step, scene.dpi = 0, dpi
        scene.draw()
    fig = scene.fig
    frames = scene.frames(max_frames)
    html = None
    for _ in range(6):
        fig.set_dpi(dpi)
        with matplotlib.rc_context({"animation.frame_format": "png", "savefig.facecolor": "white"}):
            anim = FuncAnimation(
                fig, scene.set_step, frames=frames, interval=1000.0 / fps, repeat=False, cache_frame_data=False
            )
            html = self_contained(anim.to_jshtml(fps=fps, default_mode="once"), colors)
        del anim
        size = len(html.encode("utf-8"))
        if size <= max_bytes:
            break
        ratio = max_bytes / size
        if dpi > MIN_DPI:  # first a little less resolution (every step stays) ...
            dpi = max(MIN_DPI, dpi * math.sqrt(ratio) * 0.97)
        elif len(frames) > 8:  # ... then fewer steps ...
            keep = max(8, int(len(frames) * ratio * 0.95))
            idx = sorted(set(int(round(v)) for v in np.linspace(0, len(frames) - 1, keep)))
            frames = [frames[i] for i in idx]
        else:  # ... and only then a blurry picture
            dpi = max(40, dpi * math.sqrt(ratio) * 0.95)
    size_px = (int(round(fig.get_figwidth() * dpi)), int(round(fig.get_figheight() * dpi)))
    n = len(frames)
    if hasattr(fig, "alt_text"):  # the frame <img> says what the animation shows (screen readers, the book)
        import html as _html

        alt = _html.escape(f"Animation, {n} steps. " + fig.alt_text(), quote=True)
        html = re.sub(r'<img id="(_anim_img[^"]*)"', lambda m: f'<img id="{m.group(1)}" alt="{alt}"', html, count=1)
    fig.clear()  # drop the artists now; nothing else holds the figure
    scene.fig = None
    if len(html.encode("utf-8")) > max_bytes:
        raise RuntimeError(f"animation is {len(html.encode('utf-8'))} bytes even at dpi {dpi:.0f}; use smaller sizes")
    return Animation(html, n, dpi, size_px)
