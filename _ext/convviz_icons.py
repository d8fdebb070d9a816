"""Only the icons the book shows, instead of the whole Font Awesome on every page.

pydata-sphinx-theme puts ``<script defer src="_static/scripts/fontawesome.js">`` (Font Awesome's SVG+JS build,
1.49 MB, every icon there is) into every page through its ``head_js_preload`` template macro; at run time that
script swaps each ``<i class="fa-solid fa-NAME">`` of the theme's buttons for an inline ``<svg>``. This
extension does the same swap once, when the book is built, and drops the script:

* after the HTML is written (``build-finished``) every page's empty ``<i>``/``<span>`` elements with Font
  Awesome classes become the inline SVG of their icon (the path data comes from the theme's own
  ``fontawesome.js``, so the icons are exactly the theme's), keeping their classes and attributes (the theme's
  CSS and JavaScript select on those: e.g. the light/dark/auto switch), and the ``fontawesome.js`` script tag
  is removed. An icon name that the theme's Font Awesome does not have fails the build.
* The theme's CSS also draws a few icons with Font Awesome's webfonts (admonition titles, download links,
  external links, breadcrumbs): ``--fa-font-solid`` / ``--fa-font-brands`` now name a small font made at build
  time from the theme's TrueType fonts with only those glyphs (``_static/icons/convviz-icons-*.woff``, a few KB),
  so the 0.28 MB of Font Awesome webfonts are never requested.
* ``fontawesome.js`` and its source map are deleted from the output (nothing loads them), and the ~1900
  ``.fa-NAME:before{content:...}`` rules of the webfont build (86 kB) are cut from the output copy of
  ``pydata-sphinx-theme.css``: no element carries a Font Awesome style class any more.

``_static/custom.css`` holds the few CSS rules Font Awesome's script used to inject for ``svg.svg-inline--fa``.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

STYLE_PREFIX = {"fa-solid": "fas", "fas": "fas", "fa-regular": "far", "far": "far", "fa-brands": "fab", "fab": "fab",
                "fa": "fas"}
# Font Awesome's modifier classes (size, width, animation, ...), which are never icon names
MODIFIERS = re.compile(r"^fa-(?:\d*x|xs|sm|lg|xl|2xl|2xs|fw|li|ul|border|inverse|pull-\w+|spin\w*|pulse|beat\w*|"
                       r"fade|bounce|flip\w*|shake|rotate-\w+|stack\w*|sr-only\w*|solid|regular|brands|classic|sharp)$")
EMPTY_ICON = re.compile(r'<(i|span)(\s[^<>]*?\bclass="([^"]*\bfa[a-z-]*\b[^"]*)"[^<>]*)>\s*</\1>')
FA_SCRIPT = re.compile(r'[ \t]*<script[^>]*\bsrc="[^"]*/fontawesome\.js[^"]*"[^>]*>\s*</script>\n?')
ATTR = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*"([^"]*)")?')
ICON_FONT = "convviz-icons"
FA_FAMILY = {"solid": "Font Awesome 6 Free", "brands": "Font Awesome 6 Brands"}


def _theme_static() -> Path:
    import pydata_sphinx_theme

    return Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"


@lru_cache(maxsize=1)
def icon_packs() -> dict[str, dict[str, tuple[int, int, str, str]]]:
    """{"fas": {name: (width, height, unicode hex, path data)}, "far": ..., "fab": ...} from the theme's bundle."""
    bundle = (_theme_static() / "scripts" / "fontawesome.js").read_text(encoding="utf-8")
    packs: dict[str, dict] = {}
    entry = re.compile(r'(?:"([a-z0-9-]+)"|\b([a-z][a-z0-9]*)):\[(\d+),(\d+),\[([^\]]*)\],"([0-9a-f]+)","([^"]+)"\]')
    for m in re.finditer(r'\b\w\("(fa[srb])",(\w+)\)', bundle):
        prefix, var = m.groups()
        start = bundle.rfind(f"var {var}={{", 0, m.start())
        if start < 0:
            continue
        icons = packs.setdefault(prefix, {})
        for e in re.finditer(entry, bundle[start:m.start()]):
            name = e.group(1) or e.group(2)
            icon = (int(e.group(3)), int(e.group(4)), e.group(6), e.group(7))
            icons.setdefault(name, icon)
            for alias in re.findall(r'"([a-z0-9-]+)"', e.group(5)):
                icons.setdefault(alias, icon)
    if not all(packs.get(p) for p in ("fas", "far", "fab")):
        raise ExtensionError("convviz_icons: could not read the icons of pydata-sphinx-theme's fontawesome.js "
                             f"(found packs {sorted(packs)}): the theme's bundle changed")
    return packs


def _svg(tag_attrs: str, classes: list[str], where: str) -> str:
    packs = icon_packs()
    prefix = next((STYLE_PREFIX[c] for c in classes if c in STYLE_PREFIX), "fas")
    names = [c[3:] for c in classes if c.startswith("fa-") and not MODIFIERS.match(c)]
    found = [(n, packs[prefix][n]) for n in names if n in packs[prefix]]
    if not found:
        raise ExtensionError(f"convviz_icons: {where}: no Font Awesome icon {prefix} {names} for class={classes}")
    name, (width, height, _, path) = found[0]
    attrs = dict((k, v if v is not None else "") for k, v in ATTR.findall(tag_attrs))
    title = attrs.pop("title", None)
    # like Font Awesome's script: the style classes (fa-solid, fab, ...) go, since their CSS gives the element the
    # webfont (which the browser would then download for the ::before content of the icon-name class)
    attrs["class"] = " ".join(["svg-inline--fa"] + [c for c in classes if c not in STYLE_PREFIX])
    attrs.setdefault("aria-hidden", "true")
    attrs.update({"focusable": "false", "data-prefix": prefix, "data-icon": name, "role": "img",
                  "xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {width} {height}"})
    rendered = " ".join(f'{k}="{html.escape(html.unescape(v), quote=True)}"' for k, v in attrs.items())
    inner = (f"<title>{html.escape(html.unescape(title))}</title>" if title else "") + \
        f'<path fill="currentColor" d="{path}"></path>'
    return f"<svg {rendered}>{inner}</svg>"


def inline_icons(page: str, where: str = "") -> tuple[str, int]:
    """The page with every Font Awesome ``<i>``/``<span>`` icon as inline SVG and no fontawesome.js script."""
    count = 0

    def swap(m: re.Match) -> str:
        nonlocal count
        classes = m.group(3).split()
        if not any(c in STYLE_PREFIX for c in classes) and not any(c.startswith("fa-") for c in classes):
            return m.group(0)
        if not any(c in STYLE_PREFIX for c in classes):  # e.g. class="fa-download" without a style: not an icon
            return m.group(0)
        count += 1
        return _svg(m.group(2).replace(f'class="{m.group(3)}"', ""), classes, where)

    page = EMPTY_ICON.sub(swap, page)
    page = FA_SCRIPT.sub("", page)
    return page, count


# --------------------------------------------------------------------------------------------- CSS-drawn icons
def _css_codepoints(css: str) -> dict[str, set[int]]:
    """Private-use code points that the themes' CSS draws with the solid and brands webfonts: the pydata
    ``--pst-icon-*`` variables and any other ``content:`` (e.g. sphinx-book-theme's "on this page" chevron),
    leaving out Font Awesome's own icon-name rules, which no element uses any more."""
    solid, brands = set(), set()
    for name, value in re.findall(r"--(pst-icon-[a-z-]+|pst-breadcrumb-divider):\s*\"([^\"]*)\"", css):
        for cp in _css_string_codepoints(value):
            (brands if name in ("pst-icon-github", "pst-icon-gitlab") else solid).add(cp)
    for value in re.findall(r'content:"([^"]*)"', FA_ICON_RULES.sub("", css)):
        solid.update(_css_string_codepoints(value))
    return {"solid": solid, "brands": brands}


def _css_string_codepoints(value: str) -> list[int]:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            m = re.match(r"\\([0-9a-fA-F]{1,6})\s?", value[i:])
            if m:
                out.append(int(m.group(1), 16))
                i += m.end()
                continue
            i += 1
        out.append(ord(value[i]))
        i += 1
    return [cp for cp in out if 0xE000 <= cp <= 0xF8FF]


def _make_icon_fonts(app) -> None:
    if getattr(app.builder, "format", "") != "html":
        return
    from fontTools import subset

    import sphinx_book_theme

    static = _theme_static()
    book_css = Path(sphinx_book_theme.__file__).parent / "theme" / "sphinx_book_theme" / "static" / "styles"
    css = "\n".join(p.read_text(encoding="utf-8") for p in
                    [static / "styles" / "pydata-sphinx-theme.css", *sorted(book_css.glob("*.css"))])
    codepoints = _css_codepoints(css)
    root = Path(tempfile.mkdtemp(prefix="convviz-icons-"))
    (root / "icons").mkdir()
    faces = []
    for style, ttf, weight in (("solid", "fa-solid-900.ttf", 900), ("brands", "fa-brands-400.ttf", 400)):
        if not codepoints[style]:
            continue
        out = root / "icons" / f"{ICON_FONT}-{style}.woff"
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = []
        options.name_IDs = []
        options.notdef_outline = False
        font = subset.load_font(str(static / "vendor" / "fontawesome" / "webfonts" / ttf), options)
        sub = subset.Subsetter(options)
        sub.populate(unicodes=sorted(codepoints[style]))
        sub.subset(font)
        subset.save_font(font, str(out), options)
        # under our name for the --fa-font-* variables, and under Font Awesome's (declared after the theme's
        # @font-face, so this face wins) for rules that name the family directly
        for family in (f"{ICON_FONT}-{style}", FA_FAMILY[style]):
            faces.append(f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};'
                         f'font-display:block;src:url({out.name}) format("woff")}}')
    faces.append(':root{--fa-font-solid:normal 900 1em/1 "%s-solid";--fa-font-brands:normal 400 1em/1 "%s-brands"}'
                 % (ICON_FONT, ICON_FONT))
    (root / "icons" / f"{ICON_FONT}.css").write_text(
        "/* the few Font Awesome glyphs that the theme's CSS draws (made by _ext/convviz_icons.py) */\n"
        + "\n".join(faces) + "\n", encoding="utf-8")
    # generated files get the theme CSS's mtime: unchanged output, so nothing looks changed to the next build
    stamp = (static / "styles" / "pydata-sphinx-theme.css").stat().st_mtime
    for generated in (root / "icons").iterdir():
        os.utime(generated, (stamp, stamp))
    app.config.html_static_path.append(str(root))
    app.add_css_file(f"icons/{ICON_FONT}.css")
    app._convviz_icons_static = root  # noqa: SLF001


# Font Awesome's icon-name rules in the theme's stylesheet (`.fa-download:before{content:"\f019"}`, ~1900 rules,
# 86 kB of the 397 kB of pydata-sphinx-theme.css): only the webfont used them, and no element has them now
FA_ICON_RULES = re.compile(r'(?<=[}\n])(?:\.fa-[a-z0-9-]+:(?:before|after),?)+\{content:"[^"]*"\}')


def trim_theme_css(outdir: Path) -> int:
    css = outdir / "_static" / "styles" / "pydata-sphinx-theme.css"
    if not css.is_file():
        return 0
    text = css.read_text(encoding="utf-8")
    trimmed = FA_ICON_RULES.sub("", text)
    trimmed = re.sub(r"/\*# sourceMappingURL=[^*]*\*/\s*$", "", trimmed)  # the map is of the untrimmed file
    if trimmed != text:
        css.write_text(trimmed, encoding="utf-8")
    return len(text) - len(trimmed)


def _finished(app, exception) -> None:
    root = getattr(app, "_convviz_icons_static", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    outdir = Path(app.outdir)
    total = 0
    for page in sorted(outdir.rglob("*.html")):
        if "_static" in page.relative_to(outdir).parts or "_sources" in page.relative_to(outdir).parts:
            continue
        text = page.read_text(encoding="utf-8")
        new, count = inline_icons(text, str(page.relative_to(outdir)))
        total += count
        if new != text:
            page.write_text(new, encoding="utf-8")
    for name in ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt"):
        (outdir / "_static" / "scripts" / name).unlink(missing_ok=True)
    saved = trim_theme_css(outdir)
    logger.info("convviz_icons: %d Font Awesome icons inlined as SVG; %d bytes of icon rules dropped from the "
                "theme's CSS", total, saved)


def setup(app):
    app.connect("builder-inited", _make_icon_fonts)
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
