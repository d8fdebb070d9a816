"""Page weight (issue 11: every page <= 1 MB with all it loads): no file, rule or byte a page does not use.

While a page is written (``html-page-context``):

* pydata-sphinx-theme's ``layout.html`` loads Sphinx's ``searchtools.js``, ``language_data.js`` and the whole
  ``searchindex.js`` (75 kB together, growing with the book) on every page, for its optional search-as-you-type
  dialog. With ``search_as_you_type`` off (the theme's default, and this book's setting), the dialog only submits
  its query to ``search.html``, which loads those files itself: after the build, the three script tags are
  removed from every other page. Turning ``html_theme_options.search_as_you_type`` on keeps them.
* Jupyter Book loads sphinx-design (``sphinx-design.min.css`` + ``design-tabs.js``, 62 kB), sphinx-togglebutton
  (``togglebutton.css`` + ``togglebutton.js``, 13 kB), sphinx-copybutton (``clipboard.min.js``, ``copybutton.js``
  and its CSS, 20 kB) and sphinx-thebe (``sphinx-thebe.js`` / ``.css`` and two inline config scripts) on every
  page; a page with no element of theirs (``sd-*`` classes; ``.toggle`` / ``.dropdown``; highlighted code; a
  Thebe launch button: checked after the build) does not link them.

After the build (``build-finished``, after the other extensions have rewritten the pages):

* **Bootstrap**: the theme's ``scripts/bootstrap.js`` (Bootstrap 5 and Popper, 81 kB, for three things on these
  pages: the buttons' tooltips, the header's two dropdown menus, the back-to-top button) is replaced, in the
  same place of every page, by ``_static/convviz-bootstrap.js`` (10 kB), which does those three with Bootstrap's
  markup and classes and gives pydata-sphinx-theme.js the ``bootstrap.Tooltip`` it uses.
* **CSS**: the third-party stylesheets (theme, Bootstrap, MyST-NB, Sphinx's basic.css, KaTeX, Pygments, ...) are
  cut to the rules that can match something of this book (``purge_css``): a selector is kept unless it needs a
  class, id or attribute name that occurs nowhere in the book's pages and scripts (every word of every page and of
  every script under ``_static`` counts, so classes that scripts add at run time stay; Bootstrap's bundle is left
  out of that word list, since it names every component of Bootstrap, and the classes of the three Bootstrap
  components the theme uses, dropdown, tooltip and collapse, are kept by name). Then custom properties
  (``--name: ...``) that no stylesheet, page or script reads are dropped. pydata-sphinx-theme.css goes from 310 kB
  to under 100 kB. The purge reads the files Sphinx copied in this build, so it always starts from the full
  stylesheet when a page changed.
* **Code**: Pygments wraps every name and punctuation mark of the Python cells in its own ``<span class="n">`` /
  ``<span class="p">`` (a third of a chapter's HTML). Where the light and the dark Pygments style both give such a
  token class exactly the code block's base colour (and nothing else), the span is dropped and its text kept, and
  ``pygments.css`` gives the ``<pre>`` of those blocks that base colour: the code looks the same, letter by
  letter, with about half the markup.
* **Figures**: every PNG under ``_images`` (the notebooks' matplotlib figures: flat colours and anti-aliased
  edges, a few hundred distinct colours) is stored as a 256-colour palette PNG when that is visually identical to
  the original (no channel off by more than 16/255, 99.9 % of pixels within 6/255, mean error under 0.5/255;
  exact when the figure has at most 256 colours), else re-compressed losslessly. Results are cached by content
  under ``_build/.convviz-png-cache``.
"""
from __future__ import annotations

import hashlib
import io
import posixpath
import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

SEARCH_SCRIPTS = re.compile(
    r'[ \t]*<script src="[^"]*?(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>\n?'
)

# (files, a pattern of the page's body that needs them)
OPTIONAL_ASSETS = [
    (("sphinx-design.min.css", "design-tabs.js"), re.compile(r'class="[^"]*\bsd-')),
    (("togglebutton.css", "togglebutton.js"), re.compile(r'class="[^"]*\b(?:toggle|dropdown)\b')),
    (("clipboard.min.js", "copybutton.js", "copybutton.css"), re.compile(r'<div class="highlight">')),
]
THEBE_ASSETS = ("sphinx-thebe.js", "sphinx-thebe.css")
# the launch button that starts Thebe (sphinx-book-theme's "Live Code"; sphinx-thebe's own button)
THEBE_BUTTON = re.compile(r'class="[^"]*\bthebe(?:-launch)?-button\b|initThebe|\bthebelab\b')
THEBE_INLINE = re.compile(
    r'[ \t]*<script>const THEBE_JS_URL = [^<]*</script>\n?|[ \t]*<script type="text/x-thebe-config">.*?</script>\n?',
    re.S,
)


def _name(f) -> str:
    return str(getattr(f, "filename", f) or "").split("?", 1)[0].rsplit("/", 1)[-1]


def _drop_unused_assets(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body", "")
    unused = {name for names, needed in OPTIONAL_ASSETS if not needed.search(body) for name in names}
    unused.add(BOOTSTRAP_LITE)  # Jupyter Book links every _static/*.js; this one takes bootstrap.js's place instead
    for key in ("css_files", "script_files"):
        files = context.get(key)
        if isinstance(files, list):
            files[:] = [f for f in files if _name(f) not in unused]


# pydata-sphinx-theme's scripts/bootstrap.js (all of Bootstrap and Popper, 81 kB) -> _static/convviz-bootstrap.js
BOOTSTRAP_LITE = "convviz-bootstrap.js"
BOOTSTRAP_REF = re.compile(r'((?:src|href)=")([^"]*?)_static/scripts/bootstrap\.js(?:\?[^"]*)?"')


# --------------------------------------------------------------------------------------------- CSS purge
WORD = re.compile(r"[A-Za-z_][\w-]*")
# the third-party stylesheets that are purged (the book's own, _static/*.css and the explorer's, are not)
PURGED = re.compile(r"^(?:styles/pydata-sphinx-theme\.css|styles/sphinx-book-theme\.css|mystnb\.[0-9a-f]+\.css|"
                    r"basic\.css|katex/katex\.min\.css|katex-math\.css|pygments\.css|copybutton\.css|"
                    r"togglebutton\.css|sphinx-design\.min\.css|sphinx-thebe\.css)$")
# classes that Bootstrap's dropdown, tooltip and collapse (the components the theme uses) set at run time
BOOTSTRAP_RUNTIME = re.compile(r"^(?:bs-tooltip|tooltip|show|showing|hiding|fade|collaps|dropdown|dropup|dropend|"
                               r"dropstart|active|disabled)")
NOT_IN_CORPUS = ("bootstrap.js",)


def _corpus(outdir: Path) -> tuple[set[str], set[str]]:
    """(words of every page and script but Bootstrap's bundle, words of every script including it)."""
    words: set[str] = set()
    for page in outdir.rglob("*.html"):
        if "_sources" not in page.relative_to(outdir).parts:
            words.update(WORD.findall(page.read_text(encoding="utf-8", errors="replace")))
    script_words: set[str] = set()
    for js in (outdir / "_static").rglob("*.js"):
        found = WORD.findall(js.read_text(encoding="utf-8", errors="replace"))
        script_words.update(found)
        if js.name not in NOT_IN_CORPUS:
            words.update(found)
    return words, script_words


def _split_selectors(tokens):
    out, cur = [], []
    for t in tokens:
        if t.type == "literal" and t.value == ",":
            out.append(cur)
            cur = []
        else:
            cur.append(t)
    out.append(cur)
    return out


def _needed_names(selector) -> set[str]:
    """Class names, ids and attribute names a selector needs. Arguments of functional pseudo-classes (:not(),
    :is(), :has(), ...) are not looked into: an absent name there does not make the selector unmatched."""
    need = set()
    for i, t in enumerate(selector):
        if t.type == "literal" and t.value == "." and i + 1 < len(selector) and selector[i + 1].type == "ident":
            need.add(selector[i + 1].value)
        elif t.type == "hash":
            need.add(t.value)
        elif t.type == "[] block":
            inner = [x for x in t.content if x.type != "whitespace"]
            if inner and inner[0].type == "ident":
                need.add(inner[0].value)
    return need


def _keep_selector(selector, words: set[str]) -> bool:
    return all(name in words or BOOTSTRAP_RUNTIME.match(name) for name in _needed_names(selector))


def _purge_rules(rules, words: set[str]) -> list:
    """[(prelude text, content tokens) | text] of the rules that can match, recursing into @media & co."""
    import tinycss2

    out = []
    for r in rules:
        if r.type == "qualified-rule":
            selectors = _split_selectors(r.prelude)
            kept = [s for s in selectors if _keep_selector(s, words)]
            if kept:
                prelude = ",".join(tinycss2.serialize(s).strip() for s in kept)
                out.append(("rule", prelude, r.content))
        elif r.type == "at-rule":
            if r.lower_at_keyword in ("media", "supports", "container", "layer", "document") and r.content:
                inner = _purge_rules(tinycss2.parse_rule_list(r.content, skip_whitespace=True), words)
                if any(item[0] == "rule" or item[0] == "block" for item in inner):
                    out.append(("block", "@" + r.at_keyword + tinycss2.serialize(r.prelude), inner))
            else:
                out.append(("text", r.serialize()))
        elif r.type == "comment":
            if r.value.startswith("!"):  # licence comments stay
                out.append(("text", r.serialize()))
        elif r.type not in ("whitespace", "error"):
            out.append(("text", r.serialize()))
    return out


VAR_REF = re.compile(r"var\(\s*--([\w-]+)")


def _declarations(content):
    import tinycss2

    return tinycss2.parse_declaration_list(content, skip_whitespace=True, skip_comments=True)


def _collect_refs(tree, refs: set[str], custom: dict[str, set[str]]) -> None:
    """Custom properties read by ordinary declarations (refs) and by custom-property declarations (custom)."""
    import tinycss2

    for item in tree:
        if item[0] == "rule":
            for d in _declarations(item[2]):
                if d.type != "declaration":
                    continue
                names = set(VAR_REF.findall(tinycss2.serialize(d.value)))
                if d.name.startswith("--"):
                    custom.setdefault(d.name[2:], set()).update(names)
                else:
                    refs.update(names)
        elif item[0] == "block":
            _collect_refs(item[2], refs, custom)
        else:
            refs.update(VAR_REF.findall(item[1]))


def _serialize(tree, live: set[str]) -> str:
    """The CSS text of a purged tree, without the custom properties that are not ``live``."""
    import tinycss2

    out = []
    for item in tree:
        if item[0] == "rule":
            parts = []
            for d in _declarations(item[2]):
                if d.type != "declaration" or (d.name.startswith("--") and d.name[2:] not in live):
                    continue
                parts.append(f"{d.name}:{tinycss2.serialize(d.value).strip()}" + ("!important" if d.important else ""))
            body = ";".join(parts)
            if not body:
                continue
            out.append(f"{item[1]}{{{body}}}")
        elif item[0] == "block":
            inner = _serialize(item[2], live)
            if inner:
                out.append(f"{item[1]}{{{inner}}}")
        else:
            out.append(item[1])
    return "".join(out)


def purge_css(sheets: dict[str, str], words: set[str], readers: set[str], other_css: str = "") -> dict[str, str]:
    """The stylesheets {name: text} cut to the rules whose selectors can match (``words``: every word of the pages
    and scripts) and to the custom properties something reads (a ``var()`` of a kept rule, of ``other_css``, or a
    word in ``readers``, the pages' and scripts' words)."""
    import tinycss2

    trees = {name: _purge_rules(tinycss2.parse_stylesheet(text, skip_whitespace=True, skip_comments=False), words)
             for name, text in sheets.items()}
    refs: set[str] = set(VAR_REF.findall(other_css))
    custom: dict[str, set[str]] = {}
    for tree in trees.values():
        _collect_refs(tree, refs, custom)
    live = {n for n in custom if n in refs or n in readers}
    todo = list(live)
    while todo:  # a live custom property keeps the ones it reads
        for n in custom.get(todo.pop(), ()):
            if n not in live:
                live.add(n)
                todo.append(n)
    return {name: _serialize(tree, live) for name, tree in trees.items()}


def _linked_css(outdir: Path) -> set[str]:
    """Stylesheets under _static that some page links, as paths relative to _static."""
    linked = set()
    for page in outdir.rglob("*.html"):
        rel = page.relative_to(outdir)
        if rel.parts[0] in ("_static", "_sources"):
            continue
        for tag in re.findall(r"<link\b[^>]*>", page.read_text(encoding="utf-8")):
            href = re.search(r'\bhref="([^"?#]+)', tag)
            if not re.search(r'\brel="stylesheet"', tag) or not href:
                continue
            target = (page.parent / href.group(1)).resolve()
            try:
                linked.add(target.relative_to((outdir / "_static").resolve()).as_posix())
            except ValueError:
                continue
    static = outdir / "_static"
    todo = list(linked)
    while todo:  # and what those import
        name = todo.pop()
        sheet = static / name
        if not sheet.is_file():
            continue
        for _, target in _imports(sheet.read_text(encoding="utf-8", errors="replace"), name):
            if target not in linked and (static / target).is_file():
                linked.add(target)
                todo.append(target)
    return linked


IMPORT = re.compile(r'@import\s+(?:url\()?\s*["\']?([^"\')\s;]+)["\']?\s*\)?\s*;')
URL = re.compile(r'url\(\s*(["\']?)([^"\')]+)\1\s*\)')


def _imports(css: str, name: str) -> list[tuple[re.Match, str]]:
    """(match, path relative to _static) of each @import of a relative stylesheet in ``name``."""
    out = []
    for m in IMPORT.finditer(css):
        if not re.match(r"^[a-z]+:|^/", m.group(1)):
            out.append((m, posixpath.normpath(posixpath.join(posixpath.dirname(name), m.group(1)))))
    return out


def _inline_imports(static: Path, name: str, purged: dict[str, str]) -> str | None:
    """A stylesheet whose @imports of purged sheets are replaced by their text (one request less, no chain of
    two), their relative url()s rewritten for the importing sheet's folder; None if it imports none."""
    css = (static / name).read_text(encoding="utf-8")
    imports = [(m, t) for m, t in _imports(css, name) if t in purged]
    if not imports:
        return None
    here = posixpath.dirname(name)

    def rebase(target: str, text: str) -> str:
        def fix(m: re.Match) -> str:
            url = m.group(2)
            if re.match(r"^[a-z]+:|^/|^#", url):
                return m.group(0)
            moved = posixpath.relpath(posixpath.join(posixpath.dirname(target), url), here or ".")
            return f"url({moved})"

        return URL.sub(fix, text)

    out, pos = [], 0
    for m, target in imports:
        out.append(css[pos:m.start()])
        out.append(rebase(target, purged[target]))
        pos = m.end()
    out.append(css[pos:])
    return "".join(out)


def _purge_static_css(outdir: Path) -> tuple[int, int]:
    static = outdir / "_static"
    words, script_words = _corpus(outdir)
    names = sorted(n for n in _linked_css(outdir) if PURGED.match(n) and (static / n).is_file())
    sheets = {n: (static / n).read_text(encoding="utf-8") for n in names}
    other = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in static.rglob("*.css")
                      if p.relative_to(static).as_posix() not in sheets)
    purged = purge_css(sheets, words, words | script_words, other)
    before = after = 0
    for n, text in purged.items():
        before += len(sheets[n].encode())
        after += len(text.encode())
        if text != sheets[n]:
            (static / n).write_text(text, encoding="utf-8")
    for n in sorted(_linked_css(outdir)):  # e.g. the theme's styles/theme.css, which only imports basic.css
        inlined = _inline_imports(static, n, purged) if (static / n).is_file() else None
        if inlined is not None:
            (static / n).write_text(inlined, encoding="utf-8")
    return before, after


# --------------------------------------------------------------------------------------------- Pygments markup
PYGMENTS_RULE = re.compile(r'html\[data-theme="(light|dark)"\] \.highlight(?: \.([\w-]+))? \{ ([^}]*) \}')
CODE_LANGS = ("ipython3", "ipython", "python", "python3", "default")
CODE_BLOCK = re.compile(r'(<div class="highlight-(?:%s) notranslate"><div class="highlight"><pre>)(.*?)(</pre>)'
                        % "|".join(CODE_LANGS), re.S)
PLAIN_MARK = "/* convviz_pageweight: unwrapped code tokens */"


def plain_token_classes(pygments_css: str) -> tuple[set[str], dict[str, str]]:
    """Token classes that both styles draw in the block's base colour and nothing else; {theme: base colour}."""
    base: dict[str, str] = {}
    styles: dict[str, dict[str, str]] = {"light": {}, "dark": {}}
    for theme, cls, decls in PYGMENTS_RULE.findall(pygments_css):
        decls = decls.strip().rstrip(";").strip()
        if not cls:
            m = re.search(r"(?:^|;)\s*color:\s*(#[0-9A-Fa-f]+)", decls)
            if m:
                base[theme] = m.group(1).lower()
        else:
            styles[theme][cls] = decls
    if set(base) != {"light", "dark"}:
        return set(), base
    plain = set()
    for cls in set(styles["light"]) | set(styles["dark"]):
        ok = True
        for theme in ("light", "dark"):
            decls = styles[theme].get(cls)
            m = re.fullmatch(r"color:\s*(#[0-9A-Fa-f]+)", decls or "")
            if not m or m.group(1).lower() != base[theme]:
                ok = False
        if ok:
            plain.add(cls)
    return plain, base


def unwrap_plain_tokens(page: str, plain: set[str]) -> str:
    """Drop the spans of ``plain`` token classes in the page's Python code blocks (their text stays)."""
    if not plain:
        return page
    span = re.compile(r'<span class="(?:%s)">([^<]*)</span>' % "|".join(map(re.escape, sorted(plain))))

    def block(m: re.Match) -> str:
        code = m.group(2)
        # only blocks whose text is all in token spans (plain text would change colour with the <pre> rule)
        if re.sub(r"<span[^>]*>[^<]*</span>", "", code).strip():
            return m.group(0)
        return m.group(1) + span.sub(r"\1", code) + m.group(3)

    return CODE_BLOCK.sub(block, page)


def _pre_colour_rule(base: dict[str, str]) -> str:
    rules = []
    for theme in ("light", "dark"):
        sel = ",".join(f'html[data-theme="{theme}"] .highlight-{lang} .highlight pre' for lang in CODE_LANGS)
        rules.append(f"{sel} {{ color: {base[theme]} }}")
    return f"\n{PLAIN_MARK}\n" + "\n".join(rules) + "\n"


# --------------------------------------------------------------------------------------------- figures
PNG_LIMITS = {"max": 16, "p999": 6, "mean": 0.5}


def optimise_png(data: bytes) -> bytes:
    """The smallest of: a 256-colour palette version that is visually identical (PNG_LIMITS), a losslessly
    re-compressed one, the original."""
    import numpy as np
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im.load()
    if im.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        return data
    rgba = im.convert("RGBA")
    ref = np.asarray(rgba, dtype=np.int16)
    opaque = bool((ref[..., 3] == 255).all())
    src = rgba.convert("RGB") if opaque else rgba
    ref = ref[..., :3] if opaque else ref

    def encode(img) -> bytes:
        out = io.BytesIO()
        img.save(out, "PNG", optimize=True)
        return out.getvalue()

    candidates = [data, encode(im)]
    colours = src.getcolors(256)
    if colours is not None:  # at most 256 colours: an exact palette
        candidates.append(encode(src.quantize(len(colours), method=Image.Quantize.FASTOCTREE if not opaque
                                               else Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)))
        exact = [c for c in candidates[2:] if np.array_equal(
            np.asarray(Image.open(io.BytesIO(c)).convert(src.mode), dtype=np.int16), ref)]
        candidates = candidates[:2] + exact
    else:
        methods = (Image.Quantize.MAXCOVERAGE, Image.Quantize.MEDIANCUT) if opaque else (Image.Quantize.FASTOCTREE,)
        for method in methods:
            q = src.quantize(256, method=method, kmeans=5, dither=Image.Dither.NONE)
            err = np.abs(np.asarray(q.convert(src.mode), dtype=np.int16) - ref)
            worst = err.max(axis=-1)
            if (err.max() <= PNG_LIMITS["max"] and np.percentile(worst, 99.9) <= PNG_LIMITS["p999"]
                    and err.mean() <= PNG_LIMITS["mean"]):
                candidates.append(encode(q))
    return min(candidates, key=len)


def _optimise_images(app, outdir: Path) -> tuple[int, int, int]:
    cache = Path(app.doctreedir).parent / ".convviz-png-cache"
    cache.mkdir(parents=True, exist_ok=True)
    before = after = count = 0
    for png in sorted((outdir / "_images").glob("*.png")):
        data = png.read_bytes()
        key = hashlib.sha1(data).hexdigest()
        done = cache / f"{key}.png"
        if (cache / f"{key}.out").is_file():  # this file is already an optimised one
            continue
        if done.is_file():
            new = done.read_bytes()
        else:
            new = optimise_png(data)
            done.write_bytes(new)
            (cache / f"{hashlib.sha1(new).hexdigest()}.out").touch()
        before += len(data)
        after += len(new)
        if new != data:
            png.write_bytes(new)
            count += 1
    return before, after, count


# --------------------------------------------------------------------------------------------- after the build
def _finished(app, exception) -> None:
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    outdir = Path(app.outdir)
    keep_search = str((app.config.html_theme_options or {}).get("search_as_you_type", False)).lower() == "true"
    pygments_css = outdir / "_static" / "pygments.css"
    plain, base = plain_token_classes(pygments_css.read_text(encoding="utf-8")) if pygments_css.is_file() else (set(), {})
    pages = code = 0
    lite_file = outdir / "_static" / BOOTSTRAP_LITE
    lite = hashlib.sha1(lite_file.read_bytes()).hexdigest()[:8] if lite_file.is_file() else ""
    for page in sorted(outdir.rglob("*.html")):
        rel = page.relative_to(outdir)
        if rel.parts[0] in ("_static", "_sources"):
            continue
        text = page.read_text(encoding="utf-8")
        new = text
        if not keep_search and rel.as_posix() != "search.html":
            new = SEARCH_SCRIPTS.sub("", new)
        if not THEBE_BUTTON.search(new):
            new = THEBE_INLINE.sub("", new)
            new = re.sub(r'[ \t]*<(?:script|link)[^>]*(?:src|href)="[^"]*(?:%s)[^"]*"[^>]*>(?:</script>)?\n?'
                         % "|".join(map(re.escape, THEBE_ASSETS)), "", new)
        new = unwrap_plain_tokens(new, plain)
        if lite:
            new = BOOTSTRAP_REF.sub(lambda m: f'{m.group(1)}{m.group(2)}_static/{BOOTSTRAP_LITE}?v={lite}"', new)
        if new != text:
            code += len(text) - len(new)
            page.write_text(new, encoding="utf-8")
            pages += 1
    if plain and pygments_css.is_file():
        css = pygments_css.read_text(encoding="utf-8")
        if PLAIN_MARK not in css:
            pygments_css.write_text(css + _pre_colour_rule(base), encoding="utf-8")
    before, after = _purge_static_css(outdir)
    img_before, img_after, images = _optimise_images(app, outdir)
    logger.info("convviz_pageweight: %d pages trimmed by %d bytes (search scripts, Thebe, code token spans %s); "
                "stylesheets %d -> %d bytes; %d figures %d -> %d bytes",
                pages, code, "/".join(sorted(plain)) or "-", before, after, images, img_before, img_after)


def setup(app):
    app.connect("html-page-context", _drop_unused_assets)
    app.connect("build-finished", _finished, priority=900)  # after pydata's pygments.css and convviz_icons
    return {"parallel_read_safe": True, "parallel_write_safe": True}
