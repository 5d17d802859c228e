"""Fitting Google's limits: splitting a file into parts that each fit.

Google takes one disavow file per property, of at most :data:`MAX_LINES` lines and
:data:`MAX_BYTES` bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

from toxlink.disavow.file import DisavowFile
from toxlink.disavow.lines import COMMENT, MAX_BYTES, MAX_LINES, DisavowError


def split(file: DisavowFile, *, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES) -> list[DisavowFile]:
    """Split *file* into numbered files (``disavow-1.txt``, ...) that each fit the limits.

    Google keeps one disavow file per property, so uploading the parts to one property
    one after the other keeps only the last: use this only to spread entries over
    several properties (e.g. ``http://``, ``https://`` and domain properties) or to
    review them in pieces. Cuts are made before a comment block so an entry keeps its
    reasons; every line of *file* is in exactly one part, in order.
    """
    nl = len(file.newline.encode())
    stem = Path(file.name).stem
    parent = str(Path(file.name).parent)
    parts, cur, cur_bytes = [], [], (3 if file.bom else 0)
    blocks = _comment_blocks(file)
    for block in blocks:
        b = sum(len(x.encode("utf-8")) + nl for x in block)
        if len(block) > max_lines or b > max_bytes:
            raise DisavowError(f"{file.name}: one entry with its comments is larger than the split limits", name=file.name)
        if cur and (len(cur) + len(block) > max_lines or cur_bytes + b > max_bytes):
            parts.append(cur)
            cur, cur_bytes = [], 0
        cur.extend(block)
        cur_bytes += b
    if cur or not parts:
        parts.append(cur)
    out = []
    for i, lines in enumerate(parts, start=1):
        name = os.path.join(parent, f"{stem}-{i}.txt") if parent not in ("", ".") else f"{stem}-{i}.txt"
        out.append(type(file)(lines, name, strict=False, newline=file.newline, bom=file.bom and i == 1))
    return out


def _comment_blocks(file: DisavowFile) -> list[list[str]]:
    """Lines grouped so that a comment block stays with the entries below it."""
    blocks, cur = [], []
    prev = None
    for line, kind in zip(file.lines, file.facts.kinds):
        if kind == COMMENT and prev not in (COMMENT, None):
            blocks.append(cur)
            cur = []
        cur.append(line)
        prev = kind
    if cur:
        blocks.append(cur)
    return blocks



