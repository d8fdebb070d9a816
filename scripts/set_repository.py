"""Point every notebook's Colab install cell at the repository set in ``_config.yml``.

The repository is set in ONE place, ``_config.yml``::

    repository:
      url: https://github.com/<owner>/<name>   # the launch buttons (Binder, Colab) use it
      branch: main

Jupyter Book builds the Binder and Colab launch links from it. Each notebook also has a hidden
cell (tagged ``remove-cell``) that installs the book's package on Colab with
``%pip install -q "convviz @ git+<url>@<branch>"``; this script rewrites that URL in every notebook
from the setting. Run it after changing ``repository``::

    .venv/bin/python scripts/set_repository.py          # rewrite the install cells
    .venv/bin/python scripts/set_repository.py --check  # only report disagreements (exit 1)

``tests/test_repository_setting.py`` fails while any notebook disagrees with ``_config.yml``.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
BOOK = ROOT / "book"

# the quoted requirement in the install cell: %pip install -q "convviz @ git+<url>[@<ref>]"
INSTALL_RE = re.compile(r'(%pip install -q ")convviz @ git\+([^"]*)(")')


def repository(config_path: pathlib.Path = CONFIG) -> tuple[str, str]:
    """``(url, branch)`` from ``_config.yml``'s ``repository`` section."""
    repo = yaml.safe_load(config_path.read_text(encoding="utf-8"))["repository"]
    url = str(repo["url"]).strip().rstrip("/")
    if not re.fullmatch(r"https://[^\s\"@]+", url):
        raise SystemExit(f"_config.yml: repository.url must be an https URL, got {url!r}")
    return url, str(repo.get("branch") or "main")


def install_target(config_path: pathlib.Path = CONFIG) -> str:
    """What follows ``git+`` in the install cell: ``<url>@<branch>``."""
    url, branch = repository(config_path)
    return f"{url}@{branch}"


def notebooks(book: pathlib.Path = BOOK) -> list[pathlib.Path]:
    return sorted(book.glob("*.ipynb"))


def install_cells(nb: dict) -> list[tuple[int, dict, list[str]]]:
    """``(index, cell, [git targets])`` of each code cell that pip-installs convviz from git."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        targets = [m.group(2) for m in INSTALL_RE.finditer("".join(cell["source"]))]
        if targets:
            found.append((i, cell, targets))
    return found


def problems(path: pathlib.Path, target: str) -> list[str]:
    """Why ``path``'s install cell disagrees with ``target`` (empty when it agrees)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = install_cells(nb)
    if not cells:
        return [f"{path.name}: no install cell (%pip install -q \"convviz @ git+...\")"]
    out = []
    for i, cell, targets in cells:
        if "remove-cell" not in cell.get("metadata", {}).get("tags", []):
            out.append(f"{path.name} cell {i}: install cell is not tagged remove-cell")
        out += [f"{path.name} cell {i}: installs git+{t}, _config.yml says git+{target}" for t in targets if t != target]
    return out


def rewrite(path: pathlib.Path, target: str) -> bool:
    """Set the install URL in ``path``; True when the file changed. Keeps ids and formatting."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    for _, cell, _ in install_cells(nb):
        src = INSTALL_RE.sub(lambda m: f"{m.group(1)}convviz @ git+{target}{m.group(3)}", "".join(cell["source"]))
        cell["source"] = src.splitlines(keepends=True)
    out = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if out == raw:
        return False
    path.write_text(out, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="report notebooks that disagree with _config.yml; write nothing")
    args = ap.parse_args(argv)
    target = install_target()
    if args.check:
        found = [p for nb in notebooks() for p in problems(nb, target)]
        print("\n".join(found) or f"every notebook installs convviz @ git+{target}")
        return 1 if found else 0
    for path in notebooks():
        if not install_cells(json.loads(path.read_text(encoding="utf-8"))):
            print(f"{path.relative_to(ROOT)}: no install cell, skipped", file=sys.stderr)
        elif rewrite(path, target):
            print(f"{path.relative_to(ROOT)}: install cell now uses git+{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
