"""Where the package finds its bundled data and models.

In a source checkout (``pip install -e .``) they are the top-level ``data/`` and
``models/`` folders; a built wheel carries copies under ``toxlink/_bundled/``.
The package never reads ``../shared``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _root(name: str) -> Path:
    bundled = _PKG / "_bundled" / name
    if bundled.is_dir():
        return bundled
    return _PKG.parent / name


def data_path(*parts: str) -> Path:
    """Path of a file under the bundled ``data/`` folder."""
    return _root("data").joinpath(*parts)


def models_path(*parts: str) -> Path:
    """Path of a file under the bundled ``models/`` folder."""
    return _root("models").joinpath(*parts)


@cache
def word_list(name: str) -> frozenset[str]:
    """A one-entry-per-line list from ``data/`` (``#`` comments and blanks skipped), lower-cased."""
    out = set()
    with open(data_path(name), encoding="utf-8") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip().lower()
            if line:
                out.add(line)
    return frozenset(out)


@cache
def categorised(name: str) -> dict[str, tuple[str, ...]]:
    """A ``category: term`` list from ``data/`` as {category: terms} (lower-cased)."""
    out: dict[str, list[str]] = {}
    with open(data_path(name), encoding="utf-8") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if not line or ":" not in line:
                continue
            cat, term = line.split(":", 1)
            term = term.strip().lower()
            if term:
                out.setdefault(cat.strip().lower(), []).append(term)
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}
