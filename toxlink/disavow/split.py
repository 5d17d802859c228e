"""Fitting Google's limits: splitting a file, and merging recommendations within the limits.

Google takes one disavow file per property, of at most :data:`MAX_LINES` lines and
:data:`MAX_BYTES` bytes. :func:`merge_within_limits` keeps the merged file uploadable
(reason comments go first, then the least risky sites' entries go to an overflow file);
:func:`split` cuts a file into parts that each fit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
import toxlink.disavow.lines as dl
from toxlink.disavow.file import DisavowFile
from toxlink.disavow.lines import COMMENT, MAX_BYTES, MAX_LINES, DisavowError
from toxlink.disavow.merge import Diff, plan_merge


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




def merge_within_limits(existing: DisavowFile, domains: pd.DataFrame, whitelist=None, *,
                        max_lines: int | None = None, max_bytes: int | None = None
                        ) -> tuple[DisavowFile, Diff, DisavowFile | None, list[str]]:
    """Merge the recommendations into *existing*, keeping the result uploadable.

    First the per-site reason comments go (domains.csv has every reason); if the new
    entries still do not fit, the riskiest sites' entries that fit are merged (*domains*
    is sorted by action, then risk) and the rest go into an overflow file. Nothing of the
    existing file is ever dropped.

    Parameters
    ----------
    existing : DisavowFile
        The user's file (empty when there is none).
    domains : DataFrame, shape (n_sites, 13)
        The roll-up (:func:`toxlink.policy.recommend_domains`), in its order.
    whitelist : toxlink.whitelist.Whitelist, optional
    max_lines, max_bytes : int, optional
        The limits (default: Google's, :data:`MAX_LINES` and :data:`MAX_BYTES`).

    Returns
    -------
    merged : DisavowFile
    diff : Diff
    overflow : DisavowFile or None
        ``disavow-overflow.txt``, the entries that did not fit (not for upload as it is),
        or ``None`` when everything fits.
    notes : list of str
        What was left out and why, for the user.

    """
    max_lines = dl.MAX_LINES if max_lines is None else max_lines
    max_bytes = dl.MAX_BYTES if max_bytes is None else max_bytes
    notes: list[str] = []
    lines, size = _entry_sizes(domains)
    # Room left after the existing file, a blank line and the dated header (with margin).
    room_lines = max_lines - len(existing.lines) - 2
    room_bytes = max_bytes - len(existing.to_bytes()) - 200
    sites = int((lines > 0).sum())

    def fits(plan, reasons: bool) -> bool:  # exact, so a file is only built in the variant that fits
        n_lines, n_bytes = plan.size(reasons=reasons)
        return n_lines <= max_lines and n_bytes <= max_bytes

    # The variant with a reason comment per site (~2 more lines and ~150 bytes each) is
    # only tried when it may fit. What becomes of each entry does not depend on the
    # comments, so it is decided once and the files are built without them if need be.
    plan = None
    if lines.sum() + 2 * sites <= room_lines and size.sum() + 150 * sites <= room_bytes:
        plan = plan_merge(existing, DisavowFile.from_recommendations(domains), whitelist)
        if fits(plan, reasons=True):
            merged, diff = plan.build()
            return merged, diff, None, notes
    notes.append("reason comments were left out of disavow.txt to stay within Google's limits "
                 "(2 MB, 100,000 lines); domains.csv has every reason")
    if lines.sum() <= room_lines and size.sum() <= room_bytes:
        if plan is None:
            plan = plan_merge(existing, DisavowFile.from_recommendations(domains, reasons=False), whitelist)
        if fits(plan, reasons=False):
            merged, diff = plan.build(reasons=False)
            return merged, diff, None, notes
    within = (lines.cumsum() <= room_lines) & (size.cumsum() <= room_bytes)
    k = int(within.sum()) if within.all() else int(np.argmin(within))
    if k == 0:  # the user's file stays as it is, valid for upload; every new entry waits in the overflow
        merged, diff = existing.merge(DisavowFile.from_recommendations(domains.iloc[:0], reasons=False),
                                      whitelist=whitelist, reasons=False)
        overflow = DisavowFile.from_recommendations(domains, reasons=False, name="disavow-overflow.txt")
        notes.append(f"your disavow file leaves no room under Google's limits (100,000 lines, 2 MB): disavow.txt "
                     f"is your file as it was, and the {int(lines.sum()):,} new entries are in "
                     "disavow-overflow.txt; replace URL entries by domain: entries to make room")
        return merged, diff, overflow, notes
    merged, diff = existing.merge(DisavowFile.from_recommendations(domains.iloc[:k], reasons=False),
                                  whitelist=whitelist, reasons=False)
    overflow = DisavowFile.from_recommendations(domains.iloc[k:], reasons=False, name="disavow-overflow.txt")
    notes.append(f"Google's limits leave room for the {int(lines[:k].sum()):,} entries of the riskiest "
                 f"{k:,} sites; {int(lines[k:].sum()):,} more entries are in disavow-overflow.txt: review them, "
                 "then replace URL entries by domain: entries or drop low-risk sites to make room")
    return merged, diff, overflow, notes


def _entry_sizes(domains: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Disavow lines each site contributes, and their UTF-8 bytes with a line break each,
    ndarrays of int64, shape (n_sites,)."""
    act = np.flatnonzero(domains[S.ACTION].isin([S.DISAVOW_DOMAIN, S.DISAVOW_URL]).to_numpy()) if len(domains) \
        else np.zeros(0, dtype=np.int64)
    lines = np.zeros(len(domains), dtype=np.int64)
    size = np.zeros(len(domains), dtype=np.int64)
    if len(act):
        listed = pa.array(domains[S.DISAVOW_ENTRIES].to_numpy()[act].tolist(), type=pa.list_(pa.large_string()))
        lines[act] = np.asarray(pc.list_value_length(listed))
        size[act] = np.bincount(np.asarray(pc.list_parent_indices(listed)), minlength=len(act),
                                weights=np.asarray(pc.binary_length(pc.list_flatten(listed))) + 1)
    return lines, size
