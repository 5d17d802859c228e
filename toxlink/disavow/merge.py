"""Merging recommendations into the user's disavow file, and the diff of what happened.

The merged file is the existing file's lines, byte for byte and in order, followed by one
dated block of the new entries it does not already cover: toxlink never removes or
rewrites a line of the user's file (Google keeps one file per property and each upload
*replaces* the previous one, so a new file that drops an old entry un-disavows it).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field

import pandas as pd

import toxlink.disavow.lines as dl
from toxlink.disavow.lines import BLANK, COMMENT, DOMAIN, HEADER_PREFIX, PREFIX, URL, LineFacts
from toxlink.outputs import atomic_write
from toxlink.sites import covering_domains


def plan_merge(existing, new, whitelist=None) -> "MergePlan":
    """What merging *new* into *existing* (two :class:`~toxlink.disavow.DisavowFile`)
    does with each entry of *new*, decided once: the plan builds the merged file with or
    without *new*'s comments (e.g. to retry without them when they break Google's limits)
    without deciding again. See :meth:`toxlink.disavow.DisavowFile.merge`."""
    where = {}
    for ln, k, v in existing.iter_entries():
        where.setdefault((k, v), ln)
    # An empty whitelist covers nothing: its rules need not be asked.
    if whitelist is not None and not len(whitelist):
        whitelist = None

    groups = entry_groups(new)
    kinds, values = new.facts.kinds, new.facts.values
    order = [j for _, entries in groups for j in entries]
    order_kinds, order_values = [kinds[j] for j in order], [values[j] for j in order]
    # Per entry of *new*: the existing entry that covers it (with its line), the whitelist's rule.
    covered = {}
    for j, hit in zip(order, existing.covering_entries(order_kinds, order_values)):
        if hit is not None:
            key = (DOMAIN, hit[len(PREFIX):]) if hit.startswith(PREFIX) else (URL, hit)
            covered[j] = f"{hit} (line {where[key]})"
    rules = dict(zip(order, whitelist.rules_for_entries(order_kinds, order_values))) if whitelist else {}

    # Domains that will be added decide which other new entries are redundant: the new
    # domain covering each entry (its parent for a domain entry, its host for a URL).
    candidates = {values[j] for j in order if kinds[j] == DOMAIN and j not in covered and rules.get(j) is None}
    probes = [(v[v.find(".") + 1:] if "." in v else None) if k == DOMAIN else dl.url_host(v)
              for k, v in zip(order_kinds, order_values)]
    parents = dict(zip(order, covering_domains(probes, candidates).to_pylist())) if candidates else {}

    rows: list[DiffRow] = []
    added_groups, kept_idx = [], []
    seen = {DOMAIN: set(), URL: set()}
    for comments, entries in groups:
        kept = []
        for j in entries:
            kind, value = kinds[j], values[j]
            shown = PREFIX + value if kind == DOMAIN else value
            parent = parents.get(j)
            if value in seen[kind]:
                rows.append(DiffRow(kind, shown, ALREADY_PRESENT, "duplicate entry in the new list"))
            elif j in covered:
                rows.append(DiffRow(kind, shown, ALREADY_PRESENT, f"covered by {covered[j]}"))
            elif rules.get(j) is not None:
                rows.append(DiffRow(kind, shown, WHITELISTED, rules[j]))
            elif parent is not None and parent != value:
                rows.append(DiffRow(kind, shown, ALREADY_PRESENT, f"covered by new entry domain:{parent}"))
            else:
                rows.append(DiffRow(kind, shown, ADDED, ""))
                kept.append(shown)
                kept_idx.append(j)
            seen[kind].add(value)
        if kept:
            added_groups.append((comments, tuple(kept)))

    conflicts = []
    if whitelist is not None:
        old = list(existing.iter_entries())
        for (ln, k, v), rule in zip(old, whitelist.rules_for_entries([k for _, k, _ in old], [v for *_, v in old])):
            if rule is not None:
                conflicts.append(DiffRow(k, PREFIX + v if k == DOMAIN else v, EXISTING_WHITELISTED,
                                         f"line {ln}, {rule}; kept: nothing in your file is removed"))
    n_dom = sum(kinds[j] == DOMAIN for j in kept_idx)
    return MergePlan(existing, new, rows, conflicts, added_groups, kept_idx, n_dom, len(kept_idx) - n_dom)


class MergePlan:
    """:func:`plan_merge`'s decisions for each entry, ready to build the files.

    *kept_idx* holds the line index in *new* of each added entry, in order.
    """

    def __init__(self, existing, new, rows, conflicts, added_groups, kept_idx,
                 n_dom: int, n_url: int):
        self.existing, self.new = existing, new
        self.rows, self.conflicts, self.added_groups = rows, conflicts, added_groups
        self.kept_idx = kept_idx
        self.n_dom, self.n_url = n_dom, n_url
        self._entry_facts = None

    def size(self, date=None, reasons: bool = True) -> tuple[int, int]:
        """``(lines, bytes)`` of the merged file :meth:`build` would make, without making it
        (to pick the variant that fits Google's limits before building any)."""
        old = self.existing
        n_old, n_bytes = len(old.lines), len(old.to_bytes())
        if not (self.n_dom or self.n_url):
            return n_old, n_bytes
        extra = [dl.header(dl.date_str(date), self.n_dom, self.n_url)]
        if old.lines and old.lines[-1].strip():
            extra.append("")
        for comments, kept in self.added_groups:
            if reasons:
                extra.extend(comments)
            extra.extend(kept)
        nl = len(old.newline.encode())
        # text = BOM + the lines joined by newlines + a final newline (always, once entries
        # are added): strip old's own newlines off its size, then count one per line.
        if n_old:
            n_bytes -= nl * (n_old - 1) + (nl if old.trailing_newline else 0)
        n_lines = n_old + len(extra)
        return n_lines, n_bytes + len("".join(extra).encode()) + nl * n_lines

    def entry_facts(self) -> tuple:
        """``(texts, kinds, values, notes)``: the added entry lines and their
        :func:`~toxlink.disavow.lines.line_facts` (notes keyed by position among them).

        An added entry written in *new* exactly as it is added has *new*'s facts for that
        line (a line's facts depend only on its text); the others (an entry *new* did not
        hold in canonical form) are validated here.
        """
        if self._entry_facts is None:
            new = self.new
            texts = [e for _, kept in self.added_groups for e in kept]
            kinds = [new.facts.kinds[j] for j in self.kept_idx]
            values = [new.facts.values[j] for j in self.kept_idx]
            notes = {i: list(new.facts.notes[j]) for i, j in enumerate(self.kept_idx) if j in new.facts.notes}
            redo = [i for i, (t, j) in enumerate(zip(texts, self.kept_idx)) if t != new.lines[j]]
            if redo:
                k2, v2, n2 = dl.line_facts([texts[i] for i in redo])
                for r, i in enumerate(redo):
                    kinds[i], values[i] = k2[r], v2[r]
                    notes.pop(i, None)
                    if r in n2:
                        notes[i] = n2[r]
            self._entry_facts = (texts, kinds, values, dict(sorted(notes.items())))
        return self._entry_facts

    def build(self, date=None, reasons: bool = True) -> tuple:
        """The merged file and the diff, with *new*'s comments or (``reasons=False``) without."""
        old, date = self.existing, dl.date_str(date)
        n_dom, n_url = self.n_dom, self.n_url
        added_groups = [(comments if reasons else (), kept) for comments, kept in self.added_groups]
        texts, e_kinds, e_values, e_notes = known = self.entry_facts()
        lines = list(old.lines)
        n_old = len(lines)
        # The added lines' facts are put together with them: a blank line, the header and
        # *new*'s comment lines (kind comment, no notes), then the entries' facts.
        kinds, values, notes = list(old.facts.kinds), list(old.facts.values), dict(old.facts.notes)
        if n_dom or n_url:
            if lines and lines[-1].strip():
                lines.append("")
                kinds.append(BLANK)
                values.append(None)
            lines.append(dl.header(date, n_dom, n_url))
            kinds.append(COMMENT)
            values.append(None)
            if not any(comments for comments, _ in added_groups):
                at = range(len(lines), len(lines) + len(texts))
                lines += texts
                kinds += e_kinds
                values += e_values
            else:
                at, pos = [], 0
                for comments, kept in added_groups:
                    lines.extend(comments)
                    kinds.extend([COMMENT] * len(comments))
                    values.extend([None] * len(comments))
                    m = len(kept)
                    at.extend(range(len(lines), len(lines) + m))
                    lines.extend(kept)
                    kinds.extend(e_kinds[pos: pos + m])
                    values.extend(e_values[pos: pos + m])
                    pos += m
            for i, ns in e_notes.items():
                notes[at[i]] = list(ns)
        merged = type(old)(lines, old.name, strict=False, facts=LineFacts(kinds, values, notes), newline=old.newline,
                           bom=old.bom, trailing_newline=old.trailing_newline or bool(n_dom or n_url))
        # Invalid lines of a leniently read file stay invalid; nothing new may be.
        assert len(merged.errors) == len(old.errors)
        diff = Diff(rows=self.rows + self.conflicts, date=date, existing_lines=n_old, name=old.name,
                    _added_groups=added_groups, _known=known, _file_type=type(old))
        return merged, diff


# --- diff ----------------------------------------------------------------------------------
ADDED = "added"
ALREADY_PRESENT = "already present"
WHITELISTED = "whitelisted, skipped"
EXISTING_WHITELISTED = "existing entry covers whitelist"


@dataclass(frozen=True, slots=True)
class DiffRow:
    kind: str  # "domain" | "url"
    entry: str  # the line as written ("domain:host" or the URL)
    status: str  # ADDED | ALREADY_PRESENT | WHITELISTED | EXISTING_WHITELISTED
    detail: str  # which entry or whitelist rule covers it


@dataclass
class Diff:
    """What a merge did with each new entry.

    Attributes
    ----------
    rows : list of DiffRow
        One per entry of the new list, in its order, then existing entries the
        whitelist covers (kept anyway, listed so the user can decide).
    date : str
        Date of the appended block.
    existing_lines : int
        Lines of the existing file, all kept.
    """

    rows: list[DiffRow]
    date: str
    existing_lines: int = 0
    name: str = "disavow.txt"
    _added_groups: list = field(default_factory=list, repr=False)
    _known: tuple | None = field(default=None, repr=False, compare=False)  # facts of the added entries
    _file_type: type | None = field(default=None, repr=False, compare=False)  # DisavowFile

    def _with(self, status: str) -> list[DiffRow]:
        return [r for r in self.rows if r.status == status]

    @property
    def added(self) -> list[DiffRow]:
        return self._with(ADDED)

    @property
    def already_present(self) -> list[DiffRow]:
        return self._with(ALREADY_PRESENT)

    @property
    def whitelisted(self) -> list[DiffRow]:
        return self._with(WHITELISTED)

    @property
    def existing_whitelisted(self) -> list[DiffRow]:
        return self._with(EXISTING_WHITELISTED)

    def added_file(self, name: str = "disavow-new.txt"):
        """Only the added entries (with their comments), as a dated toxlink file."""
        lines, facts = dl.assemble(self._added_groups, name, self.date, self._known)
        return self._file_type(lines, name, facts=facts)

    def to_frame(self) -> pd.DataFrame:
        """One row per diff row: ``kind, entry, status, detail``."""
        return pd.DataFrame(
            {
                "kind": [r.kind for r in self.rows],
                "entry": [r.entry for r in self.rows],
                "status": [r.status for r in self.rows],
                "detail": [r.detail for r in self.rows],
            },
            columns=["kind", "entry", "status", "detail"],
        )

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """The diff as CSV text (header ``kind,entry,status,detail``); also written to *path* if given."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["kind", "entry", "status", "detail"])
        for r in self.rows:
            w.writerow([r.kind, r.entry, r.status, r.detail])
        text = buf.getvalue()
        if path is not None:
            with atomic_write(path) as fh:
                fh.write(text)
        return text

    def to_text(self) -> str:
        """A human-readable summary followed by the entries grouped by status."""
        dom = sum(r.kind == DOMAIN for r in self.added)
        out = [
            f"toxlink disavow merge {self.date} into {self.name}",
            f"  kept:             {self.existing_lines:,} existing lines (nothing removed)",
            f"  added:            {len(self.added):,} entries ({dl.header('', dom, len(self.added) - dom)[len(HEADER_PREFIX) + 2:]})",
            f"  already present:  {len(self.already_present):,}",
            f"  whitelisted:      {len(self.whitelisted):,} skipped",
        ]
        if self.existing_whitelisted:
            out.append(f"  warning:          {len(self.existing_whitelisted):,} existing entries cover whitelisted sites (kept)")
        for status in (ADDED, ALREADY_PRESENT, WHITELISTED, EXISTING_WHITELISTED):
            rows = self._with(status)
            if rows:
                out.append("")
                out.append(f"{status}:")
                out.extend(f"  {r.entry}" + (f"  ({r.detail})" if r.detail else "") for r in rows)
        return "\n".join(out) + "\n"


def entry_groups(file) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
    """Runs of entries (their 0-based line indices) with the comment lines directly above
    them (no blank line between).

    Toxlink block headers and comment blocks followed by a blank line (file headers)
    are not attached to any entry. Tuples, which the GC stops tracking, not lists.
    """
    groups = []
    comments: list[str] = []
    entries: list[int] = []
    for i, (line, kind) in enumerate(zip(file.lines, file.facts.kinds)):
        if kind == DOMAIN or kind == URL:
            entries.append(i)
            continue
        if entries:
            groups.append((tuple(comments), tuple(entries)))
            comments.clear()
            entries.clear()
        if kind == COMMENT:
            if not line.lstrip().startswith(HEADER_PREFIX):
                comments.append(line)
        else:  # blank or invalid line: a comment block above it belongs to nothing
            comments.clear()
    if entries:
        groups.append((tuple(comments), tuple(entries)))
    return groups
