"""A Google disavow file: read, checked against Google's rules and limits, written.

:class:`DisavowFile` keeps every line verbatim (line contents round-trip exactly; line
endings are normalised to the file's dominant style, a UTF-8 byte-order mark is kept).
What each line is comes from :mod:`toxlink.disavow.lines`; merging recommendations into a
file is :mod:`toxlink.disavow.merge`, fitting Google's limits :mod:`toxlink.disavow.split`.
Files toxlink writes hold only valid entries, IDN hosts as punycode, and are checked
against Google's limits before anything touches the disk; writes are atomic.
"""

from __future__ import annotations

import datetime as _dt
import os
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from toxlink import schema as S
import toxlink.disavow.lines as dl
from toxlink.disavow.lines import DOMAIN, PREFIX, URL, DisavowError, DisavowIssue, LineFacts
from toxlink.disavow.merge import Diff, plan_merge
from toxlink.outputs import atomic_write
from toxlink.sites import covering_domains


class DisavowFile:
    """An ordered disavow file: entries and comments kept verbatim.

    Parameters
    ----------
    lines : iterable of str, optional
        The file's lines without line terminators. Empty by default (a new file).
    name : str
        File name used in messages and by :meth:`write` when no path is given.
    strict : bool
        Raise :class:`DisavowError` on invalid lines (default); with ``False`` invalid
        lines are kept verbatim, listed in :attr:`errors`, and contribute no entry.
    facts : LineFacts, optional
        :func:`toxlink.disavow.lines.line_facts` of exactly these lines, when they were
        just validated (only the whole-file checks then run again).

    Attributes
    ----------
    lines : tuple of str
        Every line, verbatim, in order.
    facts : LineFacts
        What each line is (kind, normalised value, issues).
    warnings, errors : list of DisavowIssue
    """

    def __init__(self, lines: Iterable[str] = (), name: str = "disavow.txt", *, strict: bool = True,
                 newline: str = "\n", bom: bool = False, trailing_newline: bool = True,
                 facts: LineFacts | None = None):
        self.lines: tuple[str, ...] = tuple(lines)
        self.name = str(name)
        self.newline = newline
        self.bom = bom
        self.trailing_newline = trailing_newline
        self.facts = LineFacts(*facts) if facts is not None else dl.line_facts(self.lines)
        self.errors, self._line_warnings = dl.line_issues(self.lines, self.name, self.facts.notes)
        self._warnings = None  # with the whole-file ones, found when first asked for
        if strict:
            dl.raise_for_errors(self.errors, self.name)

    # -- reading ----------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, name: str = "disavow.txt", *, strict: bool = True) -> "DisavowFile":
        """Parse the text of a disavow file (see :mod:`toxlink.disavow.lines` for the rules)."""
        bom = text.startswith("\ufeff")
        if bom:
            text = text[1:]
        crlf = text.count("\r\n")
        newline = "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"
        if "\r" in text and "\n" not in text:  # lone CRs (old Mac files) end the lines
            text, newline = text.replace("\r", "\n"), "\r"
        raw = text.split("\n")
        trailing = text.endswith("\n")
        if trailing or text == "":
            raw.pop()
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in raw]
        return cls(lines, name, strict=strict, newline=newline, bom=bom, trailing_newline=trailing or not lines)

    @classmethod
    def read(cls, path: str | os.PathLike, *, strict: bool = True) -> "DisavowFile":
        """Read a disavow file; a file that is not UTF-8 or has invalid lines raises DisavowError."""
        name = str(path)
        text = dl.read_utf8(path, "Google accepts UTF-8 or 7-bit ASCII only: save the file as UTF-8")
        out = cls.parse(text, name, strict=strict)
        if not Path(path).name.lower().endswith(".txt"):
            out.warnings.append(DisavowIssue(name, None, "", "Google only accepts disavow files whose name ends in .txt", "warning"))
        for problem in out.limit_problems():
            out.warnings.append(DisavowIssue(name, None, "", problem, "warning"))
        return out

    @property
    def warnings(self) -> list[DisavowIssue]:
        """Per-line warnings, then duplicate and already-covered entries (found on first use:
        files toxlink builds and only writes never need them)."""
        if self._warnings is None:
            self._warnings = self._line_warnings + dl.redundancy_warnings(self.lines, self.name, self.facts.kinds,
                                                                          self.facts.values)
        return self._warnings

    @warnings.setter
    def warnings(self, value: list[DisavowIssue]) -> None:
        self._warnings = value

    # -- contents ---------------------------------------------------------------------------
    @cached_property
    def _domains(self) -> frozenset[str]:
        return frozenset(v for k, v in zip(self.facts.kinds, self.facts.values) if k == DOMAIN)

    @cached_property
    def _urls(self) -> frozenset[str]:
        return frozenset(v for k, v in zip(self.facts.kinds, self.facts.values) if k == URL)

    @property
    def entries(self) -> frozenset[tuple[str, str]]:
        """Normalised entries: ``("domain", host)`` and ``("url", url)`` pairs."""
        return frozenset((DOMAIN, v) for v in self._domains) | frozenset((URL, v) for v in self._urls)

    @property
    def domains(self) -> frozenset[str]:
        """Hosts of the ``domain:`` entries (punycode, lower case)."""
        return self._domains

    @property
    def urls(self) -> frozenset[str]:
        """The URL entries, normalised (:func:`normalise_urls`)."""
        return self._urls

    def iter_entries(self) -> Iterator[tuple[int, str, str]]:
        """``(line number, kind, normalised value)`` of each entry, in file order."""
        for i, (k, v) in enumerate(zip(self.facts.kinds, self.facts.values), start=1):
            if k in (DOMAIN, URL):
                yield i, k, v

    def covers(self, kind: str, value: str) -> str | None:
        """The entry of this file that already disavows *value*, or ``None``.

        ``domain:x.com`` covers ``domain:sub.x.com`` and every URL on ``x.com`` or its
        subdomains; a URL is covered by the identical (normalised) URL entry.
        """
        return self.covering_entries([kind], [value])[0]

    def covering_entries(self, kinds, values) -> list[str | None]:
        """:meth:`covers` of each ``(kind, value)`` (sequences of shape (n,)), looked up together."""
        if not self.domains and not self.urls:  # nothing to look up (e.g. no existing file)
            return [None] * len(values)
        hosts = [v if k == DOMAIN else dl.url_host(v) for k, v in zip(kinds, values)]
        covering = covering_domains(hosts, self.domains).to_pylist()
        return [v if k == URL and v in self.urls else None if hit is None else PREFIX + hit
                for k, v, hit in zip(kinds, values, covering)]

    def __len__(self) -> int:
        return len(self.lines)

    def __eq__(self, other) -> bool:
        return isinstance(other, DisavowFile) and self.lines == other.lines

    def __repr__(self) -> str:
        n = len(self.entries)
        return f"<DisavowFile {self.name!r}: {len(self.lines)} lines, {n} entries>"

    # -- writing ----------------------------------------------------------------------------
    def to_text(self) -> str:
        """The file's text (its own line ending style; a trailing newline when it had one)."""
        body = self.newline.join(self.lines)
        if self.lines and self.trailing_newline:
            body += self.newline
        return ("\ufeff" if self.bom else "") + body

    def to_bytes(self) -> bytes:
        return self.to_text().encode("utf-8")

    def limit_problems(self) -> list[str]:
        """Which of Google's limits the file breaks, as sentences (empty when it is fine)."""
        problems = []
        n = len(self.lines)
        if n > dl.MAX_LINES:
            problems.append(
                f"{self.name} has {n:,} lines, {n - dl.MAX_LINES:,} over Google's limit of {dl.MAX_LINES:,} "
                "(blank and comment lines count)"
            )
        size = len(self.to_bytes())
        if size > dl.MAX_BYTES:
            problems.append(
                f"{self.name} is {size:,} bytes, {size - dl.MAX_BYTES:,} over Google's limit of {dl.MAX_BYTES:,} bytes (2 MB)"
            )
        return problems

    def write(self, path: str | os.PathLike | None = None) -> Path:
        """Write the file atomically (temporary file in the same folder, then ``os.replace``).

        Raises
        ------
        DisavowError
            When the name does not end in ``.txt`` or the file breaks Google's line or
            size limit; nothing is written then.
        """
        path = Path(path if path is not None else self.name)
        if not path.name.lower().endswith(".txt"):
            raise DisavowError(f"{path}: Google only accepts disavow files whose name ends in .txt", name=str(path))
        problems = self.limit_problems()
        if problems:
            raise DisavowError(
                "; ".join(problems) + ". Nothing was written. Disavow whole domains instead of many URLs, "
                "leave out the reason comments (reasons=False), or split the file with toxlink.disavow.split() "
                "(Google keeps one file per property).",
                name=str(path),
            )
        data = self.to_bytes()
        with atomic_write(path, "wb") as fh:
            fh.write(data)
        return path

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def from_recommendations(cls, domains: pd.DataFrame, *, name: str = "disavow.txt", reasons: bool = True,
                             date: _dt.date | str | None = None) -> "DisavowFile":
        """A disavow file from the roll-up of :func:`toxlink.policy.recommend_domains`.

        Rows whose action is ``disavow-domain`` contribute ``domain:host``, rows with
        ``disavow-url`` their toxic URLs (the ``disavow_entries`` column), in the table's
        order. Each domain's entries are preceded by a comment with its counts and
        reasons (``reasons=False`` leaves them out, e.g. to stay under the line limit);
        the file starts with a dated header ``# toxlink YYYY-MM-DD: N domains, M URLs``.
        """
        blocks = []
        if len(domains):
            act = domains[S.ACTION].isin([S.DISAVOW_DOMAIN, S.DISAVOW_URL]).to_numpy()
            columns = [S.DOMAIN, S.DISAVOW_ENTRIES, S.N_TOXIC, S.N_LINKS, S.MAX_RISK, S.TOP_REASONS]
            rows = domains.loc[act, columns if reasons else [S.DISAVOW_ENTRIES]]  # (a copy of what is read only)
            if not reasons:  # entries only: no comment is written
                blocks = [((), entries) for entries in map(tuple, rows[S.DISAVOW_ENTRIES].tolist()) if entries]
                return cls._assembled(blocks, name, date)
            for key, entries, n_tox, n, mx, why in zip(*(rows[c].tolist() for c in (
                S.DOMAIN, S.DISAVOW_ENTRIES, S.N_TOXIC, S.N_LINKS, S.MAX_RISK, S.TOP_REASONS,
            ))):
                entries = tuple(entries)
                if not entries:
                    continue
                note = f"# {key}: {int(n_tox)} of {int(n)} links toxic, max risk {float(mx):.2f}"
                if isinstance(why, str) and why:
                    note += f"; {why}"
                # Tuples of strings, not lists: the GC stops tracking them, so thousands of
                # blocks do not bring on full collections of the whole run's heap.
                blocks.append(((dl.one_line(note),), entries))
        return cls._assembled(blocks, name, date)

    @classmethod
    def from_entries(cls, entries: Iterable[str], *, name: str = "disavow.txt", date=None) -> "DisavowFile":
        """A dated toxlink file from entry lines (``domain:host`` or URLs), validated."""
        return cls._assembled([([], list(entries))], name, date)

    @classmethod
    def _assembled(cls, blocks, name: str, date) -> "DisavowFile":
        lines, facts = dl.assemble(blocks, name, date)
        return cls(lines, name, facts=facts)

    def merge(self, new: "DisavowFile", *, whitelist=None, date: _dt.date | str | None = None,
              reasons: bool = True) -> tuple["DisavowFile", "Diff"]:
        """Append *new*'s entries that this file does not already cover.

        Every line of this file is kept byte for byte and in order; added entries follow
        in one block headed ``# toxlink YYYY-MM-DD: N domains, M URLs``. An entry of
        *new* is skipped when this file already covers it (see :meth:`covers`), when
        another entry of *new* covers it, or when *whitelist* covers it (for a
        ``domain:`` entry: when the whitelist covers the host, a parent, or any host
        under it). The comment lines directly above a run of entries in *new* travel with
        them (left out with ``reasons=False``). Merging the same *new* twice adds
        nothing the second time.

        Parameters
        ----------
        new : DisavowFile
        whitelist : toxlink.policy.Whitelist, optional
        date : date or str, optional
            For the block header; today by default.

        Returns
        -------
        (DisavowFile, Diff)
            The merged file (this file's name, line endings and BOM) and what happened
            to each entry of *new*, plus existing entries the whitelist covers.
        """
        return plan_merge(self, new, whitelist).build(date, reasons)

    def _merge_plan(self, new: "DisavowFile", whitelist=None):
        """:func:`toxlink.disavow.merge.plan_merge` (kept for batch.py until it calls
        :func:`toxlink.disavow.merge_within_limits`)."""
        return plan_merge(self, new, whitelist)
