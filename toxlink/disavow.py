"""Google disavow files: parse, validate, write, merge with the user's file, diff.

Grammar (Google Search Console's disavow tool)
-----------------------------------------------
One entry per line: ``domain:example.com`` (the domain and all its subdomains) or a
full URL (that exact page). Lines starting with ``#`` are comments; blank lines are
allowed. Comments must sit on their own line. Plain text in UTF-8 or 7-bit ASCII, a
file name ending in ``.txt``, at most :data:`MAX_LINES` lines (blank and comment lines
count) and :data:`MAX_BYTES`, URLs at most :data:`MAX_URL_LENGTH` characters. There is
no wildcard syntax and a sub-path cannot be disavowed as a unit. Google keeps one file
per property and each upload *replaces* the previous one, so a new file that drops an
old entry silently un-disavows it.

What toxlink guarantees
-----------------------
- :meth:`DisavowFile.merge` never removes or rewrites a line of the existing file:
  the merged file is the existing file's lines, byte for byte and in order, followed by
  one dated block of new entries.
- Files toxlink writes hold only valid entries, IDN hosts as punycode, and are checked
  against Google's limits before anything touches the disk (:meth:`DisavowFile.write`
  refuses with a :class:`DisavowError` saying by how much a limit is exceeded; see
  :func:`split` and ``reasons=False`` for ways out). Writes are atomic.

Errors and warnings when reading a file
---------------------------------------
Errors (the line would be rejected or do something else than intended; reading with
``strict=True`` raises :class:`DisavowError` naming the file and line): ``domain:``
with no host, with a URL or path (``domain:http://x.com/`` - the fix is suggested),
with a wildcard, a port, spaces or an invalid host, a public suffix (``domain:com``),
a comment after an entry on the same line, a URL that is not http(s), has no host or
is longer than 2,048 characters, a file that is not UTF-8.

Warnings (kept in :attr:`DisavowFile.warnings`; the line is read as Google would):
a URL without a scheme (read as ``http://``; a bare host disavows only its home page),
a non-lower-case ``Domain:`` prefix, an IDN not written as punycode,
``domain:www.x.com`` (does not cover ``x.com``), duplicate or already-covered
entries, and a file over Google's limits or not named ``*.txt``.

Line endings are normalised to the file's dominant style (``\\n`` or ``\\r\\n``); a
UTF-8 byte-order mark is kept. Line *contents* round-trip exactly.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink.outputs import atomic_write
from toxlink.urls import host_table, normalise_hosts, split_urls, url_issues

#: Google's limits for one disavow file.
# str.isspace characters, found by one regex scan instead of a Python loop per character.
_HAS_SPACE = re.compile(r"\s").search
MAX_LINES = 100_000
#: "2 MB": the smaller (decimal) reading, so files toxlink writes pass either reading.
MAX_BYTES = 2_000_000
MAX_URL_LENGTH = 2048

DOMAIN = "domain"
URL = "url"
_COMMENT = "comment"
_BLANK = "blank"
_INVALID = "invalid"
_PREFIX = "domain:"
#: Header of each block toxlink appends; never treated as an entry's own comment.
HEADER_PREFIX = "# toxlink "


class DisavowError(ValueError):
    """A disavow (or whitelist) file cannot be read or a disavow file cannot be written.

    Attributes
    ----------
    name : str
        File the problem is in.
    line : int or None
        1-based line number of the first problem (``None`` for whole-file problems).
    issues : list of DisavowIssue
        Every error found (a file is checked completely before raising).
    """

    def __init__(self, message: str, *, name: str = "", line: int | None = None, issues: Sequence["DisavowIssue"] = ()):
        super().__init__(message)
        self.name = name
        self.line = line
        self.issues = list(issues)


@dataclass(frozen=True)
class DisavowIssue:
    """One problem found in a line: ``str()`` is ``"<file>, line <n>: <message>"``."""

    name: str
    line: int | None
    text: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f"{self.name}, line {self.line}" if self.line else self.name
        return f"{where}: {self.message}"


# --- normalisation shared with toxlink.policy ----------------------------------------------
def normalise_urls(urls: pd.Series) -> pd.Series:
    """Canonical form of URLs as disavow entries (vectorised).

    Scheme and host lower-cased, host punycoded, default port and fragment dropped, an
    empty path written as ``/``; path and query kept as they are. ``www.`` and bare hosts,
    ``http`` and ``https`` stay different URLs. A URL without a scheme is read as
    ``http://``. ``NA`` where there is no usable host.

    Parameters
    ----------
    urls : Series of str, shape (n,)

    Returns
    -------
    Series of ``string``, shape (n,), same index.
    """
    parts = split_urls(urls)
    host = normalise_hosts(parts["host"])
    host = host.where(~host.str.contains(":", regex=False).fillna(False), "[" + host + "]")
    scheme = parts["scheme"].fillna("http")
    port = parts["port"].fillna("")
    default = (port.eq("80") & scheme.eq("http")) | (port.eq("443") & scheme.eq("https")) | port.eq("")
    port = (":" + port).where(~default, "")
    path = parts["path"].fillna("")
    path = path.where(path.ne(""), "/")
    query = parts["query"].fillna("")
    query = ("?" + query).where(query.ne(""), "")
    out = scheme + "://" + host + port + path + query
    return out.where(host.notna() & parts["host"].fillna("").ne("")).astype("string")


def read_utf8(path: str | os.PathLike, advice: str, encoding: str = "utf-8") -> str:
    """The text of *path*; bytes that are not UTF-8 raise :class:`DisavowError` naming the line."""
    data = Path(path).read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DisavowError(f"{path}, line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); {advice}",
                           name=str(path), line=line) from None


def covering_domain(host: str, domains) -> str | None:
    """The entry of *domains* equal to *host* or one of its parent domains, if any."""
    if host in domains:
        return host
    i = host.find(".")
    while i >= 0:
        parent = host[i + 1 :]
        if parent in domains:
            return parent
        i = host.find(".", i + 1)
    return None


def _covering_domains(hosts: Sequence[str | None], domains) -> list[str | None]:
    """:func:`covering_domain` of each of *hosts* (``None`` for ``None``), vectorised."""
    if not domains or not len(hosts):
        return [None] * len(hosts)
    value_set = pa.array(list(domains), type=pa.large_string())
    at = covering_index(pa.array(hosts, type=pa.large_string()), value_set)
    values = value_set.to_pylist()
    return [values[i] if i >= 0 else None for i in at.tolist()]


def covering_index(hosts: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Position in *value_set* (distinct domains) of :func:`covering_domain` of each of *hosts*,
    shape (n,), -1 where no domain covers it (or the host is missing).

    Level by level as :func:`covering_domain` climbs: the hosts not found yet lose their
    first label (up to and including the first dot) and are looked up again.
    """
    out = np.full(len(hosts), -1, dtype=np.int64)
    where = np.arange(len(hosts))
    cur = hosts
    while len(cur):
        pos = pc.index_in(cur, value_set=value_set)
        hit = np.asarray(pos.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if hit.any():
            out[where[hit]] = np.asarray(pos.filter(pa.array(hit)))
        climb = ~hit & np.asarray(pc.fill_null(pc.match_substring(cur, "."), False), dtype=bool)
        where = where[climb]
        cur = pc.replace_substring_regex(cur.filter(pa.array(climb)), r"^[^.]*\.", "", max_replacements=1)
    return out


def _url_host(url: str) -> str:
    """Host of a normalised URL (``scheme://host[:port]/...``)."""
    rest = url.split("://", 1)[1]
    host = rest.split("/", 1)[0]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0]


# --- the file -----------------------------------------------------------------------------
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

    Attributes
    ----------
    lines : tuple of str
        Every line, verbatim, in order.
    warnings, errors : list of DisavowIssue
    """

    def __init__(self, lines: Iterable[str] = (), name: str = "disavow.txt", *, strict: bool = True,
                 newline: str = "\n", bom: bool = False, trailing_newline: bool = True):
        lines = tuple(lines)
        self._setup(lines, name, strict, newline, bom, trailing_newline, _line_facts(lines))

    @classmethod
    def _from_facts(cls, lines: Sequence[str], facts, name: str = "disavow.txt", *, strict: bool = True,
                    newline: str = "\n", bom: bool = False, trailing_newline: bool = True) -> "DisavowFile":
        """A file whose lines' facts (:func:`_line_facts` of exactly these lines) are known.

        Only the whole-file checks (duplicate and already-covered entries) run again:
        used where toxlink has just validated the same lines, or lines with the same text.
        """
        self = cls.__new__(cls)
        self._setup(tuple(lines), name, strict, newline, bom, trailing_newline, facts)
        return self

    def _setup(self, lines, name, strict, newline, bom, trailing_newline, facts) -> None:
        self.lines: tuple[str, ...] = lines
        self.name = str(name)
        self.newline = newline
        self.bom = bom
        self.trailing_newline = trailing_newline
        self._kinds, self._values, self._notes = facts
        self.errors, self._line_warnings = _line_issues(self.lines, self.name, self._notes)
        self._warnings = None  # with the whole-file ones, found when first asked for
        if strict and self.errors:
            first = self.errors[0]
            more = len(self.errors) - 1
            msg = str(first)
            if more:
                others = ", ".join(str(e.line) for e in self.errors[1:6]) + (", ..." if more > 5 else "")
                msg += f" (and {more} more invalid line{'s' if more > 1 else ''}: {others})"
            raise DisavowError(msg, name=self.name, line=first.line, issues=self.errors)

    # -- reading ----------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, name: str = "disavow.txt", *, strict: bool = True) -> "DisavowFile":
        """Parse the text of a disavow file (see the module docstring for the rules)."""
        bom = text.startswith("\ufeff")
        if bom:
            text = text[1:]
        crlf = text.count("\r\n")
        newline = "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"
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
        text = read_utf8(path, "Google accepts UTF-8 or 7-bit ASCII only: save the file as UTF-8")
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
            self._warnings = self._line_warnings + _redundancy_warnings(self.lines, self.name, self._kinds,
                                                                        self._values)
        return self._warnings

    @warnings.setter
    def warnings(self, value: list[DisavowIssue]) -> None:
        self._warnings = value

    # -- contents ---------------------------------------------------------------------------
    @cached_property
    def _domains(self) -> frozenset[str]:
        return frozenset(v for k, v in zip(self._kinds, self._values) if k == DOMAIN)

    @cached_property
    def _urls(self) -> frozenset[str]:
        return frozenset(v for k, v in zip(self._kinds, self._values) if k == URL)

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
        for i, (k, v) in enumerate(zip(self._kinds, self._values), start=1):
            if k in (DOMAIN, URL):
                yield i, k, v

    def covers(self, kind: str, value: str) -> str | None:
        """The entry of this file that already disavows *value*, or ``None``.

        ``domain:x.com`` covers ``domain:sub.x.com`` and every URL on ``x.com`` or its
        subdomains; a URL is covered by the identical (normalised) URL entry.
        """
        domains = self.domains
        if not domains and not self._urls:  # nothing to look up (e.g. no existing file)
            return None
        if kind == DOMAIN:
            hit = covering_domain(value, domains)
            return None if hit is None else _PREFIX + hit
        if value in self.urls:
            return value
        hit = covering_domain(_url_host(value), domains)
        return None if hit is None else _PREFIX + hit

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
        if n > MAX_LINES:
            problems.append(
                f"{self.name} has {n:,} lines, {n - MAX_LINES:,} over Google's limit of {MAX_LINES:,} "
                "(blank and comment lines count)"
            )
        size = len(self.to_bytes())
        if size > MAX_BYTES:
            problems.append(
                f"{self.name} is {size:,} bytes, {size - MAX_BYTES:,} over Google's limit of {MAX_BYTES:,} bytes (2 MB)"
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
        from toxlink import policy as P

        blocks = []
        if len(domains):
            act = domains[P.ACTION].isin([P.DISAVOW_DOMAIN, P.DISAVOW_URL]).to_numpy()
            columns = [P.ROLLUP_DOMAIN, P.DISAVOW_ENTRIES, P.N_TOXIC, P.N_LINKS, P.MAX_RISK, P.TOP_REASONS]
            rows = domains.loc[act, columns if reasons else [P.DISAVOW_ENTRIES]]  # (a copy of what is read only)
            if not reasons:  # entries only: no comment is written
                blocks = [((), entries) for entries in map(tuple, rows[P.DISAVOW_ENTRIES].tolist()) if entries]
                return _assemble(blocks, name, date)
            for key, entries, n_tox, n, mx, why in zip(*(rows[c].tolist() for c in (
                P.ROLLUP_DOMAIN, P.DISAVOW_ENTRIES, P.N_TOXIC, P.N_LINKS, P.MAX_RISK, P.TOP_REASONS,
            ))):
                entries = tuple(entries)
                if not entries:
                    continue
                note = f"# {key}: {int(n_tox)} of {int(n)} links toxic, max risk {float(mx):.2f}"
                if isinstance(why, str) and why:
                    note += f"; {why}"
                # Tuples of strings, not lists: the GC stops tracking them, so thousands of
                # blocks do not bring on full collections of the whole run's heap.
                blocks.append(((_one_line(note),), entries))
        return _assemble(blocks, name, date)

    @classmethod
    def from_entries(cls, entries: Iterable[str], *, name: str = "disavow.txt", date=None) -> "DisavowFile":
        """A dated toxlink file from entry lines (``domain:host`` or URLs), validated."""
        return _assemble([([], list(entries))], name, date)

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
        return self._merge_plan(new, whitelist).build(date, reasons)

    def _merge_plan(self, new: "DisavowFile", whitelist=None) -> "_MergePlan":
        """What :meth:`merge` does with each entry of *new*, decided once: the plan builds
        the merged file with or without *new*'s comments (e.g. to retry without them when
        they break Google's limits) without deciding again."""
        where = {}
        for ln, k, v in self.iter_entries():
            where.setdefault((k, v), ln)
        rows: list[DiffRow] = []
        has_entries = bool(self._domains or self._urls)
        # An empty whitelist covers nothing: its rules need not be asked entry by entry.
        if whitelist is not None and hasattr(whitelist, "__len__") and not len(whitelist):
            whitelist = None

        def existing_cover(kind, value):
            hit = self.covers(kind, value)
            if hit is None:
                return None
            hk = DOMAIN if hit.startswith(_PREFIX) else URL
            hv = hit[len(_PREFIX):] if hk == DOMAIN else hit
            return f"{hit} (line {where[(hk, hv)]})"

        groups = _groups(new)
        kinds, values = new._kinds, new._values
        order = [j for _, entries in groups for j in entries]
        ruled = _may_be_whitelisted(whitelist, kinds, values, order) if whitelist is not None else set()
        # Domains that will be added decide which other new entries are redundant.
        wl_domain = {}
        dom_cover = {}
        candidates = set()
        for _, entries in groups:
            for j in entries:
                kind, value = kinds[j], values[j]
                if kind == DOMAIN and value not in dom_cover:
                    dom_cover[value] = hit = existing_cover(kind, value) if has_entries else None
                    if hit is None:
                        rule = _whitelist_rule(whitelist, kind, value) if j in ruled else None
                        wl_domain[value] = rule
                        if rule is None:
                            candidates.add(value)

        # The new domain covering each entry (if any), for all entries at once.
        if candidates:
            probes = []
            for j in order:
                value = values[j]
                if kinds[j] == DOMAIN:
                    dot = value.find(".")
                    probes.append(value[dot + 1:] if dot >= 0 else None)
                else:
                    probes.append(_url_host(value))
            parents = dict(zip(order, _covering_domains(probes, candidates)))
        else:
            parents = {}

        added_groups, kept_idx = [], []
        seen_dom, seen_url = set(), set()
        n_dom = n_url = 0
        for comments, entries in groups:
            kept = []
            for j in entries:
                value = values[j]
                if kinds[j] == DOMAIN:
                    kind, shown, seen = DOMAIN, _PREFIX + value, seen_dom
                else:
                    kind, shown, seen = URL, value, seen_url
                if value in seen:
                    rows.append(DiffRow(kind, shown, ALREADY_PRESENT, "duplicate entry in the new list"))
                    continue
                seen.add(value)
                if kind == DOMAIN:
                    hit = dom_cover[value]
                else:
                    hit = existing_cover(kind, value) if has_entries else None
                if hit is not None:
                    rows.append(DiffRow(kind, shown, ALREADY_PRESENT, f"covered by {hit}"))
                    continue
                if kind == DOMAIN:
                    rule = wl_domain[value]
                else:
                    rule = _whitelist_rule(whitelist, kind, value) if j in ruled else None
                if rule is not None:
                    rows.append(DiffRow(kind, shown, WHITELISTED, rule))
                    continue
                parent = parents.get(j)
                if parent is not None and parent != value:
                    rows.append(DiffRow(kind, shown, ALREADY_PRESENT, f"covered by new entry domain:{parent}"))
                    continue
                rows.append(DiffRow(kind, shown, ADDED, ""))
                kept.append(shown)
                kept_idx.append(j)
                if kind == DOMAIN:
                    n_dom += 1
                else:
                    n_url += 1
            if kept:
                added_groups.append((comments, tuple(kept)))

        conflicts = []
        if whitelist is not None:
            for ln, k, v in self.iter_entries():
                rule = _whitelist_rule(whitelist, k, v)
                if rule is not None:
                    conflicts.append(DiffRow(k, _PREFIX + v if k == DOMAIN else v, EXISTING_WHITELISTED,
                                             f"line {ln}, {rule}; kept: nothing in your file is removed"))
        return _MergePlan(self, new, rows, conflicts, added_groups, kept_idx, n_dom, n_url)


class _MergePlan:
    """:meth:`DisavowFile.merge`'s decisions for each entry, ready to build the files.

    *kept_idx* holds the line index in *new* of each added entry, in order.
    """

    def __init__(self, existing: DisavowFile, new: DisavowFile, rows, conflicts, added_groups, kept_idx,
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
        extra = [_header(_date_str(date), self.n_dom, self.n_url)]
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
        :func:`_line_facts` (notes keyed by position among them).

        An added entry written in *new* exactly as it is added has *new*'s facts for that
        line (a line's facts depend only on its text); the others (an entry *new* did not
        hold in canonical form) are validated here.
        """
        if self._entry_facts is None:
            new = self.new
            texts = [e for _, kept in self.added_groups for e in kept]
            kinds = [new._kinds[j] for j in self.kept_idx]
            values = [new._values[j] for j in self.kept_idx]
            notes = {i: list(new._notes[j]) for i, j in enumerate(self.kept_idx) if j in new._notes}
            redo = [i for i, (t, j) in enumerate(zip(texts, self.kept_idx)) if t != new.lines[j]]
            if redo:
                k2, v2, n2 = _line_facts([texts[i] for i in redo])
                for r, i in enumerate(redo):
                    kinds[i], values[i] = k2[r], v2[r]
                    notes.pop(i, None)
                    if r in n2:
                        notes[i] = n2[r]
            self._entry_facts = (texts, kinds, values, dict(sorted(notes.items())))
        return self._entry_facts

    def build(self, date=None, reasons: bool = True) -> tuple[DisavowFile, "Diff"]:
        """The merged file and the diff, with *new*'s comments or (``reasons=False``) without."""
        old, date = self.existing, _date_str(date)
        n_dom, n_url = self.n_dom, self.n_url
        added_groups = [(comments if reasons else (), kept) for comments, kept in self.added_groups]
        texts, e_kinds, e_values, e_notes = known = self.entry_facts()
        lines = list(old.lines)
        n_old = len(lines)
        # The added lines' facts are put together with them: a blank line, the header and
        # *new*'s comment lines (kind comment, no notes), then the entries' facts.
        kinds, values, notes = list(old._kinds), list(old._values), dict(old._notes)
        if n_dom or n_url:
            if lines and lines[-1].strip():
                lines.append("")
                kinds.append(_BLANK)
                values.append(None)
            lines.append(_header(date, n_dom, n_url))
            kinds.append(_COMMENT)
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
                    kinds.extend([_COMMENT] * len(comments))
                    values.extend([None] * len(comments))
                    m = len(kept)
                    at.extend(range(len(lines), len(lines) + m))
                    lines.extend(kept)
                    kinds.extend(e_kinds[pos: pos + m])
                    values.extend(e_values[pos: pos + m])
                    pos += m
            for i, ns in e_notes.items():
                notes[at[i]] = list(ns)
        merged = DisavowFile._from_facts(lines, (kinds, values, notes), old.name, strict=False, newline=old.newline,
                                         bom=old.bom, trailing_newline=old.trailing_newline or bool(n_dom or n_url))
        # Invalid lines of a leniently read file stay invalid; nothing new may be.
        assert len(merged.errors) == len(old.errors)
        diff = Diff(rows=self.rows + self.conflicts, date=date, existing_lines=n_old, name=old.name,
                    _added_groups=added_groups, _known=known)
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

    def added_file(self, name: str = "disavow-new.txt") -> DisavowFile:
        """Only the added entries (with their comments), as a dated toxlink file."""
        return _assemble(self._added_groups, name, self.date, self._known)

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
            f"  added:            {len(self.added):,} entries ({_header('', dom, len(self.added) - dom)[len(HEADER_PREFIX) + 2:]})",
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


# --- splitting ------------------------------------------------------------------------------
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
    blocks = _cut_points(file)
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
        out.append(DisavowFile(lines, name, strict=False, newline=file.newline, bom=file.bom and i == 1))
    return out


def _cut_points(file: DisavowFile) -> list[list[str]]:
    """Lines grouped so that a comment block stays with the entries below it."""
    blocks, cur = [], []
    prev = None
    for line, kind in zip(file.lines, file._kinds):
        if kind == _COMMENT and prev not in (_COMMENT, None):
            blocks.append(cur)
            cur = []
        cur.append(line)
        prev = kind
    if cur:
        blocks.append(cur)
    return blocks


# --- internals ------------------------------------------------------------------------------
def _date_str(date) -> str:
    if date is None:
        return _dt.date.today().isoformat()
    if isinstance(date, (_dt.date, _dt.datetime)):
        return date.strftime("%Y-%m-%d")
    return str(date)


def _header(date: str, n_domains: int, n_urls: int) -> str:
    return f"{HEADER_PREFIX}{date}: {n_domains} domain{'s' if n_domains != 1 else ''}, {n_urls} URL{'s' if n_urls != 1 else ''}"


# Whitespace other than a plain space (str.isspace characters, as str.split() uses).
_OTHER_SPACE = re.compile(r"[^\S ]").search


def _one_line(text: str) -> str:
    text = str(text)
    if "  " not in text and text[:1] != " " and text[-1:] != " " and not _OTHER_SPACE(text):
        return text  # already one line with single spaces: skip building the word list
    return " ".join(text.split())


def _assemble(blocks, name, date, known: tuple | None = None) -> DisavowFile:
    """A dated toxlink file from ``(comment lines, entry lines)`` blocks, validated strictly.

    *known* is ``(texts, kinds, values, notes)``: :func:`_line_facts` of entry lines
    validated before; they are used when *texts* are exactly the stripped entry lines.
    """
    flat = list(chain.from_iterable(map(itemgetter(1), blocks)))
    if set(map(type, flat)) <= {str}:  # the usual case, without a Python call per entry for str()
        entry_lines = list(map(str.strip, flat))
    else:
        entry_lines = [str(e).strip() for e in flat]
    if known is not None and known[0] == entry_lines:
        kinds, values, notes = facts = known[1:]
    else:
        kinds, values, notes = facts = _line_facts(entry_lines)  # validates every entry once
    if any(sev == "error" for ns in notes.values() for _, sev, _ in ns):
        DisavowFile._from_facts(entry_lines, facts, name, strict=True)  # raises, naming the bad one
    if not {DOMAIN, URL}.issuperset(kinds):
        for i, kind in enumerate(kinds):
            if kind not in (DOMAIN, URL):
                raise DisavowError(f"{name}: {entry_lines[i]!r} is not a disavow entry", name=name)
    # Entries are written in canonical form (punycode hosts, lower-case scheme and host).
    canon_lines = [_PREFIX + v if k == DOMAIN else v for k, v in zip(kinds, values)]
    n_dom = kinds.count(DOMAIN)
    # The file's facts are put together with its lines instead of checking the lines again:
    # the header and comment lines start with "#" (comments: see _one_line), blank lines are
    # empty, and an entry already in canonical form has the facts just found (a line's facts
    # depend only on its text).
    lines = [_header(_date_str(date), n_dom, len(entry_lines) - n_dom)]
    out_kinds, out_values = [_COMMENT], [None]
    at = []  # line index of each entry
    if not any(map(itemgetter(0), blocks)):  # no comments: entries run on
        lines += canon_lines
        out_kinds += kinds
        out_values += values
        at = range(1, len(lines))
    else:
        pos = 0
        for comments, entries in blocks:
            if not entries:
                continue
            if comments:  # a blank line sets a commented site apart; bare entries run on (line limit)
                lines.append("")
                lines.extend(_one_line(c) if c.lstrip().startswith("#") else "# " + _one_line(c) for c in comments)
                out_kinds.append(_BLANK)
                out_kinds.extend([_COMMENT] * len(comments))
                out_values.extend([None] * (len(comments) + 1))
            m = len(entries)
            at.extend(range(len(lines), len(lines) + m))
            lines.extend(canon_lines[pos: pos + m])
            out_kinds.extend(kinds[pos: pos + m])
            out_values.extend(values[pos: pos + m])
            pos += m
    out_notes = {}
    redo = [] if canon_lines == entry_lines else [j for j, (c, e) in enumerate(zip(canon_lines, entry_lines)) if c != e]
    for j, ns in notes.items():
        out_notes[at[j]] = list(ns)
    if redo:
        # Entries not written in canonical form (e.g. an IDN written in Unicode) are validated
        # again as written, and the file is refused if that form is not a valid entry.
        k2, v2, n2 = _line_facts([canon_lines[j] for j in redo])
        for r, j in enumerate(redo):
            out_kinds[at[j]], out_values[at[j]] = k2[r], v2[r]
            out_notes.pop(at[j], None)
            if r in n2:
                out_notes[at[j]] = n2[r]
    out_notes = dict(sorted(out_notes.items()))
    return DisavowFile._from_facts(lines, (out_kinds, out_values, out_notes), name, strict=True)


def _groups(file: DisavowFile) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
    """Runs of entries (their 0-based line indices) with the comment lines directly above
    them (no blank line between).

    Toxlink block headers and comment blocks followed by a blank line (file headers)
    are not attached to any entry. Tuples, which the GC stops tracking, not lists.
    """
    groups = []
    comments: list[str] = []
    entries: list[int] = []
    for i, (line, kind) in enumerate(zip(file.lines, file._kinds)):
        if kind == DOMAIN or kind == URL:
            entries.append(i)
            continue
        if entries:
            groups.append((tuple(comments), tuple(entries)))
            comments.clear()
            entries.clear()
        if kind == _COMMENT:
            if not line.lstrip().startswith(HEADER_PREFIX):
                comments.append(line)
        else:  # blank or invalid line: a comment block above it belongs to nothing
            comments.clear()
    if entries:
        groups.append((tuple(comments), tuple(entries)))
    return groups


def _may_be_whitelisted(whitelist, kinds, values, order) -> set:
    """The entries (of *order*, line indices) :func:`_whitelist_rule` may find a rule for;
    for every other entry it returns ``None``.

    A :class:`toxlink.policy.Whitelist` has a rule for a ``domain:`` entry only when a
    whitelisted domain is it or a parent of it (``rule_for_host``) or a whitelisted domain
    or URL host is at or below it (``hosts_under``), and for a URL only when a whitelisted
    domain is its host or a parent of it or the URL is listed (``rule_for_url``). The
    parent lookups are vectorised; any other kind of whitelist is asked for every entry.
    """
    wl_domains, wl_urls = getattr(whitelist, "domains", None), getattr(whitelist, "urls", None)
    if not isinstance(wl_domains, frozenset) or not isinstance(wl_urls, frozenset):
        return set(order)
    at_or_above = set()  # every whitelisted host and each of its parents
    for h in set(wl_domains) | {u.split("/", 1)[0].split(":", 1)[0] for u in wl_urls}:
        at_or_above.add(h)
        i = h.find(".")
        while i >= 0:
            at_or_above.add(h[i + 1:])
            i = h.find(".", i + 1)
    hosts, out = [], set()
    for j in order:
        value = values[j]
        if kinds[j] == DOMAIN:
            if value in at_or_above:
                out.add(j)
            hosts.append(value)
        else:  # the host as Whitelist.rule_for_url reads it
            rest = value.split("://", 1)[-1]
            if rest in wl_urls:
                out.add(j)
            hosts.append(rest.split("/", 1)[0].split(":", 1)[0])
    if wl_domains:
        out.update(j for j, hit in zip(order, _covering_domains(hosts, wl_domains)) if hit is not None)
    return out


def _whitelist_rule(whitelist, kind: str, value: str) -> str | None:
    """Why *whitelist* forbids this entry, or ``None``."""
    if whitelist is None:
        return None
    if kind == DOMAIN:
        rule = whitelist.rule_for_host(value)
        if rule is None:
            under = whitelist.hosts_under(value)
            if under:
                return f"would also disavow whitelisted {under[0]}"
        return rule
    return whitelist.rule_for_url(value)


# Phases of the per-line checks: issues are listed phase by phase, each in line order.
_STRUCTURE, _DOMAIN_CHECK, _URL_CHECK = 0, 1, 2


# Below this many lines the per-line checks cost less than setting up the vectorised pass.
_VECTOR_MIN = 32
# Shapes of line whose per-line structure checks provably pass (RE2, matched on the whole
# line): a lower-case ``domain:`` entry of host characters not ending in a dot (the host is
# then the text after the prefix), and an http(s) URL of printable ASCII without spaces (so
# Python's and RE2's ideas of white space cannot differ), short enough for Google.
_SIMPLE_DOMAIN = r"^domain:[a-z0-9._-]*[a-z0-9_-]$"
_SIMPLE_URL = r"^https?://[!-~]+$"


def _simple_lines(lines: Sequence[str]):
    """Masks ``(domain entry, URL entry, comment, blank)`` of lines :func:`_line_facts` can
    classify without its per-line checks (see :data:`_SIMPLE_DOMAIN`), or ``None`` when the
    lines cannot be handed to Arrow (e.g. a lone surrogate): then every line is checked."""
    try:
        arr = pa.array(lines, type=pa.large_string())
    except (pa.ArrowException, UnicodeError, TypeError):
        return None
    is_dom = np.asarray(pc.match_substring_regex(arr, _SIMPLE_DOMAIN), dtype=bool)
    is_url = np.asarray(pc.match_substring_regex(arr, _SIMPLE_URL), dtype=bool)
    is_url &= np.asarray(pc.binary_length(arr)) <= MAX_URL_LENGTH
    is_comment = np.asarray(pc.starts_with(arr, "#"), dtype=bool)
    is_blank = np.asarray(pc.equal(arr, ""), dtype=bool)
    return is_dom, is_url, is_comment, is_blank


def _line_facts(lines: Sequence[str], known: tuple | None = None):
    """What each line is on its own: kind, normalised value and per-line issues.

    A line's facts depend only on its text, so a line whose text is one of *known*'s
    (see :func:`_known_facts`) takes them from there instead of being validated again.

    Lines of the two shapes toxlink writes (a lower-case ``domain:`` entry of host
    characters, an http(s) URL of printable ASCII), comments and blank lines are told
    apart in one vectorised pass: every per-line structure check provably passes for
    them. The host and URL checks run vectorised over every entry, and only entries
    with an issue or a warning go through the per-line messages.

    Returns
    -------
    kinds : list of str, shape (n,)
    values : list of str or None, shape (n,)
    notes : dict
        Line index -> list of ``(phase, severity, message)``, only for lines with issues.
    """
    n = len(lines)
    kinds = np.full(n, _BLANK, dtype=object)
    values = np.full(n, None, dtype=object)
    notes: dict[int, list] = {}

    def err(i, msg, phase=_STRUCTURE):
        notes.setdefault(i, []).append((phase, "error", msg))
        kinds[i] = _INVALID

    def warn(i, msg, phase=_STRUCTURE):
        notes.setdefault(i, []).append((phase, "warning", msg))

    dom_idx, dom_hosts, url_idx, url_text = [], [], [], []
    simple = _simple_lines(lines) if known is None and n >= _VECTOR_MIN else None
    if simple is not None:
        is_dom, is_url, is_comment, is_blank = simple
        kinds[is_comment] = _COMMENT
        dom_idx = np.flatnonzero(is_dom).tolist()
        dom_hosts = [lines[i][7:] for i in dom_idx]
        url_idx = np.flatnonzero(is_url).tolist()
        url_text = [lines[i] for i in url_idx]
        n_simple_url = len(url_idx)
        todo = np.flatnonzero(~(is_dom | is_url | is_comment | is_blank)).tolist()
    else:
        n_simple_url = 0
        todo = range(n)
    for i in todo:
        line = lines[i]
        if known is not None:
            j = known[0].get(line)
            if j is not None:
                kinds[i], values[i] = known[1][j], known[2][j]
                if j in known[3]:
                    notes[i] = list(known[3][j])
                continue
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            kinds[i] = _COMMENT
            continue
        if "\ufeff" in s or "\x00" in s:
            err(i, "contains a byte-order mark or NUL character")
            continue
        if s[:7].lower() == _PREFIX:
            if not s.startswith(_PREFIX):
                warn(i, f"write the prefix in lower case: 'domain:' (found {s[:7]!r})")
            h = s[7:].strip()
            if not h:
                err(i, "'domain:' has no host")
            elif "#" in h and _HAS_SPACE(h):
                err(i, f"a comment must be on its own line: move '{h[h.index('#'):]}' to the line above")
            elif "://" in h:
                host = split_urls(pd.Series([h]))["host"].iloc[0]
                fix = f"write 'domain:{host}'" if isinstance(host, str) and host else "write 'domain:' followed by a host"
                err(i, f"'domain:' takes a host, not a URL: {fix}")
            elif "*" in h:
                rest = h.replace("*.", "").replace("*", "").strip(".")
                err(i, f"there is no wildcard syntax: write 'domain:{rest}', which already covers its subdomains")
            elif "/" in h or "?" in h:
                host = h.split("/", 1)[0].split("?", 1)[0]
                err(i, f"'domain:' takes a host, not a path (a sub-path cannot be disavowed as a unit): "
                       f"write 'domain:{host}' or list the URLs")
            elif _HAS_SPACE(h):
                err(i, "the host contains a space")
            elif ":" in h and not h.startswith("["):
                err(i, f"'domain:' takes a host without a port: write 'domain:{h.split(':', 1)[0]}'")
            else:
                kinds[i] = DOMAIN
                dom_idx.append(i)
                dom_hosts.append(h.lower().rstrip(".").strip("[]"))
            continue
        if len(s) > MAX_URL_LENGTH:
            err(i, f"the URL is {len(s):,} characters, over Google's limit of {MAX_URL_LENGTH:,}")
        elif _HAS_SPACE(s):
            if " #" in s or "\t#" in s:
                err(i, f"a comment must be on its own line: move '{s[s.index('#'):]}' to the line above")
            else:
                err(i, "the URL contains a space: encode it as %20")
        else:
            kinds[i] = URL
            url_idx.append(i)
            url_text.append(s)

    if dom_idx:
        ph = _DOMAIN_CHECK
        raw = pd.Series(dom_hosts, dtype="string")
        puny = normalise_hosts(raw)
        issues = url_issues("http://" + puny.fillna("") + "/")
        suffix = puny.map(host_table(puny.dropna())["suffix"])
        is_suffix = puny.eq(suffix).fillna(False)
        # The usual entry: a valid host, already punycode, not www.: its value, no message.
        plain = (puny.notna() & issues.isna() & ~is_suffix & puny.eq(raw) & ~puny.str.startswith("www.")).fillna(False)
        plain = plain.to_numpy(dtype=bool)
        at = np.asarray(dom_idx, dtype=np.int64)
        kinds[at] = DOMAIN
        values[at[plain]] = np.asarray(dom_hosts, dtype=object)[plain]
        others = np.flatnonzero(~plain)
        puny_l, issues_l, suffix_l = (x.iloc[others].tolist() for x in (puny, issues, is_suffix))
        for k, p, iss, sfx in zip(others.tolist(), puny_l, issues_l, suffix_l):
            i, h = dom_idx[k], dom_hosts[k]
            if p is None or p is pd.NA:
                err(i, f"'{h}' is not a valid (international) domain name", ph)
            elif iss is not pd.NA and iss is not None:
                err(i, f"'{h}' is not a valid host ({iss})", ph)
            elif sfx:
                err(i, f"'{p}' is a public suffix, not a domain: disavowing it is not possible", ph)
            else:
                values[i] = p
                if p != h:
                    warn(i, f"write international domain names as punycode: 'domain:{p}'", ph)
                if p.startswith("www."):
                    warn(i, f"'domain:{p}' does not cover '{p[4:]}': write 'domain:{p[4:]}' to disavow the whole site", ph)

    if url_idx:
        ph = _URL_CHECK
        s = pd.Series(url_text, dtype="string")
        issues = url_issues(s)
        norm = normalise_urls(s)
        has_scheme = s.str.contains(r"^[A-Za-z][A-Za-z0-9+.\-]*://", regex=True)
        # The usual entry: a valid http(s) URL of ASCII (the simple lines): its value, no message.
        plain = (issues.isna() & has_scheme).fillna(False).to_numpy(dtype=bool)
        plain[n_simple_url:] = False
        at = np.asarray(url_idx, dtype=np.int64)
        kinds[at] = URL
        norm_l = norm.tolist()
        values[at[plain]] = np.asarray(norm_l, dtype=object)[plain]
        others = np.flatnonzero(~plain)
        issues_l, scheme_l = issues.iloc[others].tolist(), has_scheme.iloc[others].tolist()
        for k, iss, sch in zip(others.tolist(), issues_l, scheme_l):
            i, text, u = url_idx[k], url_text[k], norm_l[k]
            if iss is not pd.NA and iss is not None:
                hint = ""
                if text.split(":", 1)[0].lower() in ("domian", "domains", "dmain", "doamin"):
                    hint = ": did you mean 'domain:'?"
                err(i, f"not a valid URL entry ({iss}){hint}", ph)
                continue
            values[i] = u
            if not sch:
                host = _url_host(u)
                if u == f"http://{host}/" and "/" not in text:
                    warn(i, f"a bare host is read as the URL {u} (its home page only): "
                            f"write 'domain:{host}' to disavow the whole site", ph)
                else:
                    warn(i, f"no scheme: read as {u}; write the full URL", ph)
            elif not text.split("://", 1)[1].split("/", 1)[0].isascii():
                warn(i, f"write international domain names as punycode: {u}", ph)
    return kinds.tolist(), values.tolist(), notes


def _known_facts(lines: Sequence[str], kinds, values, notes, start: int = 0) -> tuple:
    """The facts of the entry lines from *start* on, for :func:`_line_facts`: ``(text -> line
    index, kinds, values, notes)`` (indices, not tuples per line: fewer objects for the GC)."""
    where = {lines[i]: i for i in range(start, len(lines)) if kinds[i] == DOMAIN or kinds[i] == URL}
    return where, kinds, values, notes


def _line_issues(lines: Sequence[str], name: str, notes):
    """Errors and warnings of single lines, in phase then line order."""
    found = sorted((phase, i, k, sev, msg) for i, ns in notes.items() for k, (phase, sev, msg) in enumerate(ns))
    errors = [DisavowIssue(name, i + 1, lines[i], msg) for _, i, _, sev, msg in found if sev == "error"]
    warnings = [DisavowIssue(name, i + 1, lines[i], msg, "warning") for _, i, _, sev, msg in found if sev == "warning"]
    return errors, warnings


def _redundancy_warnings(lines: Sequence[str], name: str, kinds, values) -> list[DisavowIssue]:
    """Duplicate entries and entries a ``domain:`` entry of the same file already covers."""
    warnings: list[DisavowIssue] = []

    # Redundant entries are harmless but usually a sign of a hand-edited file.
    doms = {v for k, v in zip(kinds, values) if k == DOMAIN}
    first: dict = {DOMAIN: {}, URL: {}}  # per kind, value -> line
    for i, (k, v) in enumerate(zip(kinds, values)):
        if k not in (DOMAIN, URL):
            continue
        seen = first[k]
        if v in seen:
            warnings.append(DisavowIssue(name, i + 1, lines[i], f"duplicate of line {seen[v]}", "warning"))
            continue
        seen[v] = i + 1
        host = v if k == DOMAIN else _url_host(v)
        probe = host[host.find(".") + 1 :] if k == DOMAIN else host
        hit = covering_domain(probe, doms) if (k == URL or "." in host) else None
        if hit is not None:
            warnings.append(DisavowIssue(name, i + 1, lines[i], f"already covered by 'domain:{hit}'", "warning"))
    return warnings
