"""The lines of a Google disavow file: what each one is, checked against Google's rules.

Grammar (Google Search Console's disavow tool)
-----------------------------------------------
One entry per line: ``domain:example.com`` (the domain and all its subdomains) or a
full URL (that exact page). Lines starting with ``#`` are comments; blank lines are
allowed. Comments must sit on their own line. Plain text in UTF-8 or 7-bit ASCII, a
file name ending in ``.txt``, at most :data:`MAX_LINES` lines (blank and comment lines
count) and :data:`MAX_BYTES`, URLs at most :data:`MAX_URL_LENGTH` characters. There is
no wildcard syntax and a sub-path cannot be disavowed as a unit.

Errors and warnings
-------------------
Errors (the line would be rejected or do something else than intended): ``domain:``
with no host, with a URL or path (``domain:http://x.com/`` - the fix is suggested),
with a wildcard, a port, spaces or an invalid host, a public suffix (``domain:com``),
a comment after an entry on the same line, a URL that is not http(s), has no host or
is longer than 2,048 characters, a file that is not UTF-8.

Warnings (the line is read as Google would): a URL without a scheme (read as
``http://``; a bare host disavows only its home page), a non-lower-case ``Domain:``
prefix, an IDN not written as punycode, ``domain:www.x.com`` (does not cover ``x.com``),
duplicate or already-covered entries.

A line's *facts* are its kind (:data:`DOMAIN`, :data:`URL`, :data:`COMMENT`,
:data:`BLANK`, :data:`INVALID`), its normalised value (entries only) and its issues; they
depend only on its text, so lines validated once need not be validated again.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink.sites import covering_domains
from toxlink.urls import host_table, normalise_hosts, split_urls, url_issues

#: Google's limits for one disavow file.
MAX_LINES = 100_000
#: "2 MB": the smaller (decimal) reading, so files toxlink writes pass either reading.
MAX_BYTES = 2_000_000
MAX_URL_LENGTH = 2048

# Kinds of line.
DOMAIN = "domain"
URL = "url"
COMMENT = "comment"
BLANK = "blank"
INVALID = "invalid"
PREFIX = "domain:"
#: Header of each block toxlink appends; never treated as an entry's own comment.
HEADER_PREFIX = "# toxlink "
# str.isspace characters, found by one regex scan instead of a Python loop per character.
_HAS_SPACE = re.compile(r"\s").search


class LineFacts(NamedTuple):
    """What each line of a file is (:func:`line_facts`).

    Attributes
    ----------
    kinds : list of str, shape (n,)
    values : list of str or None, shape (n,)
        The normalised host of a ``domain:`` entry, the normalised URL of a URL entry.
    notes : dict
        Line index -> list of ``(phase, severity, message)``, only for lines with issues.
    """

    kinds: list
    values: list
    notes: dict


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

def url_host(url: str) -> str:
    """Host of a normalised URL (``scheme://host[:port]/...``)."""
    rest = url.split("://", 1)[1]
    host = rest.split("/", 1)[0]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0]



def date_str(date) -> str:
    if date is None:
        return _dt.date.today().isoformat()
    if isinstance(date, (_dt.date, _dt.datetime)):
        return date.strftime("%Y-%m-%d")
    return str(date)


def header(date: str, n_domains: int, n_urls: int) -> str:
    return f"{HEADER_PREFIX}{date}: {n_domains} domain{'s' if n_domains != 1 else ''}, {n_urls} URL{'s' if n_urls != 1 else ''}"


# Whitespace other than a plain space (str.isspace characters, as str.split() uses).
_OTHER_SPACE = re.compile(r"[^\S ]").search


def one_line(text: str) -> str:
    text = str(text)
    if "  " not in text and text[:1] != " " and text[-1:] != " " and not _OTHER_SPACE(text):
        return text  # already one line with single spaces: skip building the word list
    return " ".join(text.split())



def assemble(blocks, name: str, date, known: tuple | None = None) -> tuple[list[str], LineFacts]:
    """The lines of a dated toxlink file from ``(comment lines, entry lines)`` blocks, and
    their facts; every entry is validated.

    *known* is ``(texts, kinds, values, notes)``: :func:`line_facts` of entry lines
    validated before; they are used when *texts* are exactly the stripped entry lines.

    Raises
    ------
    DisavowError
        Naming the first invalid entry (*name* is the file's name in the message).
    """
    flat = list(chain.from_iterable(map(itemgetter(1), blocks)))
    if set(map(type, flat)) <= {str}:  # the usual case, without a Python call per entry for str()
        entry_lines = list(map(str.strip, flat))
    else:
        entry_lines = [str(e).strip() for e in flat]
    if known is not None and known[0] == entry_lines:
        kinds, values, notes = known[1:]
    else:
        kinds, values, notes = line_facts(entry_lines)  # validates every entry once
    raise_for_errors(line_issues(entry_lines, name, notes)[0], name)
    if not {DOMAIN, URL}.issuperset(kinds):
        for i, kind in enumerate(kinds):
            if kind not in (DOMAIN, URL):
                raise DisavowError(f"{name}: {entry_lines[i]!r} is not a disavow entry", name=name)
    # Entries are written in canonical form (punycode hosts, lower-case scheme and host).
    canon_lines = [PREFIX + v if k == DOMAIN else v for k, v in zip(kinds, values)]
    n_dom = kinds.count(DOMAIN)
    # The file's facts are put together with its lines instead of checking the lines again:
    # the header and comment lines start with "#" (comments: see _one_line), blank lines are
    # empty, and an entry already in canonical form has the facts just found (a line's facts
    # depend only on its text).
    lines = [header(date_str(date), n_dom, len(entry_lines) - n_dom)]
    out_kinds, out_values = [COMMENT], [None]
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
                lines.extend(one_line(c) if c.lstrip().startswith("#") else "# " + one_line(c) for c in comments)
                out_kinds.append(BLANK)
                out_kinds.extend([COMMENT] * len(comments))
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
        k2, v2, n2 = line_facts([canon_lines[j] for j in redo])
        for r, j in enumerate(redo):
            out_kinds[at[j]], out_values[at[j]] = k2[r], v2[r]
            out_notes.pop(at[j], None)
            if r in n2:
                out_notes[at[j]] = n2[r]
    out_notes = dict(sorted(out_notes.items()))
    return lines, LineFacts(out_kinds, out_values, out_notes)


def raise_for_errors(errors: Sequence["DisavowIssue"], name: str) -> None:
    """Raise a :class:`DisavowError` naming the first of *errors* and the lines of the next
    few, if there are any."""
    if not errors:
        return
    first, more = errors[0], len(errors) - 1
    msg = str(first)
    if more:
        others = ", ".join(str(e.line) for e in errors[1:6]) + (", ..." if more > 5 else "")
        msg += f" (and {more} more invalid line{'s' if more > 1 else ''}: {others})"
    raise DisavowError(msg, name=name, line=first.line, issues=errors)



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
    """Masks ``(domain entry, URL entry, comment, blank)`` of lines :func:`line_facts` can
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


def line_facts(lines: Sequence[str]) -> LineFacts:
    """What each line is on its own: kind, normalised value and per-line issues.

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
    kinds = np.full(n, BLANK, dtype=object)
    values = np.full(n, None, dtype=object)
    notes: dict[int, list] = {}

    def err(i, msg, phase=_STRUCTURE):
        notes.setdefault(i, []).append((phase, "error", msg))
        kinds[i] = INVALID

    def warn(i, msg, phase=_STRUCTURE):
        notes.setdefault(i, []).append((phase, "warning", msg))

    dom_idx, dom_hosts, url_idx, url_text = [], [], [], []
    simple = _simple_lines(lines) if n >= _VECTOR_MIN else None
    if simple is not None:
        is_dom, is_url, is_comment, is_blank = simple
        kinds[is_comment] = COMMENT
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
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            kinds[i] = COMMENT
            continue
        if "\ufeff" in s or "\x00" in s:
            err(i, "contains a byte-order mark or NUL character")
            continue
        if s[:7].lower() == PREFIX:
            if not s.startswith(PREFIX):
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
                host = url_host(u)
                if u == f"http://{host}/" and "/" not in text:
                    warn(i, f"a bare host is read as the URL {u} (its home page only): "
                            f"write 'domain:{host}' to disavow the whole site", ph)
                else:
                    warn(i, f"no scheme: read as {u}; write the full URL", ph)
            elif not text.split("://", 1)[1].split("/", 1)[0].isascii():
                warn(i, f"write international domain names as punycode: {u}", ph)
    return LineFacts(kinds.tolist(), values.tolist(), notes)




def line_issues(lines: Sequence[str], name: str, notes):
    """Errors and warnings of single lines, in phase then line order."""
    found = sorted((phase, i, k, sev, msg) for i, ns in notes.items() for k, (phase, sev, msg) in enumerate(ns))
    errors = [DisavowIssue(name, i + 1, lines[i], msg) for _, i, _, sev, msg in found if sev == "error"]
    warnings = [DisavowIssue(name, i + 1, lines[i], msg, "warning") for _, i, _, sev, msg in found if sev == "warning"]
    return errors, warnings


def redundancy_warnings(lines: Sequence[str], name: str, kinds, values) -> list[DisavowIssue]:
    """Duplicate entries and entries a ``domain:`` entry of the same file already covers
    (harmless, but usually a sign of a hand-edited file)."""
    at = [i for i, k in enumerate(kinds) if k == DOMAIN or k == URL]
    doms = {values[i] for i in at if kinds[i] == DOMAIN}
    # What covers an entry is a domain entry at its host (a URL's) or above it (a domain's).
    probes = []
    for i in at:
        host = values[i] if kinds[i] == DOMAIN else url_host(values[i])
        probes.append(host if kinds[i] == URL else host[host.find(".") + 1:] if "." in host else None)
    covering = covering_domains(probes, doms).to_pylist() if doms else [None] * len(at)
    warnings: list[DisavowIssue] = []
    first: dict = {DOMAIN: {}, URL: {}}  # per kind, value -> line
    for i, hit in zip(at, covering):
        seen = first[kinds[i]]
        if values[i] in seen:
            warnings.append(DisavowIssue(name, i + 1, lines[i], f"duplicate of line {seen[values[i]]}", "warning"))
            continue
        seen[values[i]] = i + 1
        if hit is not None:
            warnings.append(DisavowIssue(name, i + 1, lines[i], f"already covered by 'domain:{hit}'", "warning"))
    return warnings
