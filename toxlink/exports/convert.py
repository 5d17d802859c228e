"""Vendor fields -> the canonical links table: text, booleans, numbers, dates, snippets.

:func:`canonical` turns one :class:`~toxlink.exports.records.Block` into a frame of
:data:`toxlink.schema.COLUMNS` in their canonical dtypes, with the provenance columns
(``source_file``, ``source_row``, ``vendor``) and ``row_issue`` (why the source URL cannot
be used, :func:`toxlink.urls.url_issues`, or :data:`UNDECODABLE_URL`). ``duplicate_of`` is left missing.

Conversions are vectorised pyarrow/pandas kernels: numbers and ISO dates by Arrow's own
parsers where the column allows it (with the same result as the lenient rules below),
flags per distinct word, never per row in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink.exports.records import Block
from toxlink.exports.vendors import ExportInfo, norm_name
from toxlink.urls import url_issues_arrow

_STR = pa.large_string()
#: ``row_issue`` of a row whose source URL had bytes that are not in the file's encoding.
UNDECODABLE_URL = "source URL has bytes that are not in the file's encoding"
_NULL = pa.scalar(None, _STR)

_TRUE = ["true", "yes", "y", "1", "t", "x", "+", "on", "✓", "checked", "ja", "oui", "sí", "si"]
_FALSE = ["false", "no", "n", "0", "f", "-", "off", "nein", "non", "", "none"]
_NOT_LOST = ["", "false", "no", "0", "-", "live", "active", "alive", "not lost", "found", "none"]

_NUM_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
# Dates are kept in datetime64[ns]: years outside 1678-2261 are missing.
_DATE_MIN = int(np.datetime64("1678-01-01", "ns").astype(np.int64))
_DATE_END = int(np.datetime64("2262-01-01", "ns").astype(np.int64))


@dataclass
class DateOrder:
    """Whether a file writes dates day first ("31/01/2024"): decided once a first
    component above 12 is seen, then kept for the rest of the file."""

    dayfirst: bool = False


def canonical(info: ExportInfo, block: Block, dates: DateOrder) -> pd.DataFrame:
    """The canonical frame of one block of records.

    Parameters
    ----------
    info : ExportInfo
        The file's detection (``plan``: kind and field indices per canonical column).
    block : Block
        Fields (``large_string``) and lines of *n* records.
    dates : DateOrder
        The file's date order so far (updated when this block decides it).

    Returns
    -------
    DataFrame, shape (n, len(schema.COLUMNS)), canonical dtypes, RangeIndex.
    """
    n = len(block.lines)
    out: dict[str, object] = {}
    for canon, (kind, idx, _label) in info.plan.items():
        values = [block.fields[j] for j in idx]
        if kind in ("url", "str"):
            out[canon] = _text(pc.utf8_trim_whitespace(values[0]))
        elif kind == "anchor":  # kept as written: "" is an empty anchor, not a missing one
            out[canon] = pd.array(values[0], dtype="string")
        elif kind == "num":
            out[canon] = _numbers(values[0], info.delimiter)
        elif kind == "date":
            out[canon] = _dates(values[0], dates)
        elif kind == "snippet":
            joined = pc.binary_join_element_wise(*[pc.utf8_trim_whitespace(v) for v in values], pa.scalar(" ", _STR))
            out[canon] = _text(pc.utf8_trim_whitespace(joined))
        else:
            out[canon] = _booleans(values[0], kind)
    if info.vendor == "ahrefs" and norm_name(info.mapping.get(S.LINK_TYPE, "")) in ("type", "link type"):
        # Ahrefs' "Type" label (href / redirect / frame / image / form) is the only place
        # some exports record these attributes.
        low = pd.Series(out[S.LINK_TYPE]).str.lower()
        for canon, word in ((S.REDIRECT, "redirect"), (S.FRAME, "frame"), (S.IMAGE, "image"), (S.FORM, "form")):
            if canon not in out:
                out[canon] = low.str.contains(word, regex=False).astype("boolean").array
    out[S.SOURCE_FILE] = _repeat(info.path, n)
    out[S.SOURCE_ROW] = block.lines.astype(np.int64)
    out[S.VENDOR] = _repeat(info.vendor, n)
    urls = pa.array(out[S.SOURCE_URL])
    issues = url_issues_arrow(urls, referring=True)
    label = info.mapping.get(S.SOURCE_URL)
    if label:  # exports joined by concatenating their files: the second one's header is a row
        again = pc.fill_null(pc.equal(urls, pa.scalar(label.strip(), urls.type)), False)
        issues = pc.if_else(again, pa.scalar("a repeated header row", _STR), issues)
    if block.damaged is not None:  # a URL with a replaced byte is not the page's address
        broken = pc.and_(pa.array(block.damaged), pc.fill_null(pc.match_substring(urls, "\ufffd"), False))
        issues = pc.if_else(broken, pa.scalar(UNDECODABLE_URL, _STR), issues)
    out[S.ROW_ISSUE] = pd.array(issues, dtype="string")
    # The columns' own arrays, not Series: a dict of Series would be re-indexed (copied).
    cols = {c: out[c] if c in out else _missing(S.DTYPES[c], n) for c in S.COLUMNS}
    return pd.DataFrame(cols, index=pd.RangeIndex(n), copy=False)


def _text(arr: pa.Array) -> pd.arrays.ArrowStringArray:
    """``string`` values, ``""`` as missing."""
    return pd.array(pc.if_else(pc.equal(arr, ""), _NULL, arr), dtype="string")


def _repeat(value: str, n: int) -> pd.arrays.ArrowStringArray:
    return pd.array(pa.repeat(pa.scalar(value, _STR), n), dtype="string")


def _missing(dtype: str, n: int):
    """An all-missing array of one of the canonical dtypes, shape (n,)."""
    if dtype == "string":
        return pd.array(pa.nulls(n, _STR), dtype="string")
    if dtype == "boolean":
        return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    if dtype == "float64":
        return np.full(n, np.nan)
    return np.full(n, np.datetime64("NaT", "ns"))


# --- booleans ---------------------------------------------------------------------------

def _booleans(arr: pa.Array, kind: str) -> pd.arrays.BooleanArray:
    """Nullable booleans of a flag column, worked out once per distinct word.

    Kinds: ``bool`` (:data:`_TRUE` / :data:`_FALSE` words, blank = missing), ``notbool``
    (the same, negated: is_dofollow -> nofollow), ``flag`` and ``redirect`` (any mark but
    a false word is True: Majestic's flags, a redirect code such as 301), ``lost`` (blank or
    "live" = False).
    """
    enc = pc.dictionary_encode(arr, null_encoding="encode")
    truth = _truth(enc.dictionary.cast(_STR), kind).take(enc.indices)
    values = np.asarray(pc.fill_null(truth, False).to_numpy(zero_copy_only=False), dtype=bool)
    return pd.arrays.BooleanArray(values, np.asarray(truth.is_null().to_numpy(zero_copy_only=False), dtype=bool))


def _truth(words: pa.Array, kind: str) -> pa.Array:
    low = pc.utf8_lower(pc.utf8_trim_whitespace(words))
    if kind == "lost":
        return pc.invert(pc.is_in(low, pa.array(_NOT_LOST, _STR)))
    if kind in ("flag", "redirect"):
        return pc.invert(pc.is_in(low, pa.array(_FALSE, _STR)))
    t = pc.is_in(low, pa.array(_TRUE, _STR))
    f = pc.is_in(low, pa.array([x for x in _FALSE if x not in ("", "none")], _STR))  # blank = missing
    truth = pc.if_else(t, True, pc.if_else(f, False, pa.scalar(None, pa.bool_())))
    return pc.invert(truth) if kind == "notbool" else truth


# --- numbers ----------------------------------------------------------------------------

def _numbers(arr: pa.Array, delimiter: str | None) -> np.ndarray:
    """float64 of a number column (NaN where missing or not a number), shape (n,).

    Thousands separators, spaces and "%" are dropped (``"12,500"``, ``"30%"``); files
    separated by ";" come from locales with a decimal comma (``"1.234,5"``).
    """
    if delimiter != ";":
        try:  # plain numbers (nearly every column): Arrow's parser, same result
            x = pc.cast(pc.if_else(pc.equal(arr, ""), _NULL, arr), pa.float64())
            if pc.all(pc.fill_null(pc.is_finite(x), True)).as_py():  # "inf", "nan": the rules below
                return x.to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            pass
    s = pc.utf8_trim_whitespace(arr)
    if delimiter == ";":
        s = pc.replace_substring_regex(s, "[.\\s\u00a0%']", "")
        s = pc.replace_substring(s, ",", ".")
    else:
        s = pc.replace_substring_regex(s, "[,\\s\u00a0%']", "")
    s = pc.if_else(pc.match_substring_regex(s, _NUM_RE), s, _NULL)
    return pc.cast(s, pa.float64()).to_numpy(zero_copy_only=False)


# --- dates ------------------------------------------------------------------------------

def _dates(arr: pa.Array, order: DateOrder) -> np.ndarray:
    """datetime64[ns] (naive UTC) of a date column, NaT where missing or not a date."""
    s = pc.utf8_trim_whitespace(arr)
    try:  # ISO 8601 without a zone (nearly every export): Arrow's parser, same result
        ts = pc.cast(pc.if_else(pc.equal(s, ""), _NULL, s), pa.timestamp("ns"))
        ns = pc.fill_null(ts.cast(pa.int64()), _DATE_MIN).to_numpy()
        if not len(ns) or (ns.min() >= _DATE_MIN and ns.max() < _DATE_END and not (ns % 1000).any()):
            return ts.to_numpy(zero_copy_only=False).astype("datetime64[ns]")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    codes, uniques = pd.factorize(pd.array(s, dtype="string"), use_na_sentinel=True)
    parsed = _parse_dates(pd.Index(uniques, dtype=object), order)
    out = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = codes >= 0
    out[ok] = parsed[codes[ok]]
    return out


def _parse_dates(uniques: pd.Index, order: DateOrder) -> np.ndarray:
    """Parse distinct date strings: ISO first, then the other styles vendors write."""
    strs = pd.Series(uniques, dtype=object).where(lambda x: x.astype(str).str.len() > 0)
    res = pd.to_datetime(strs, format="ISO8601", errors="coerce", utc=True)
    todo = res.isna() & strs.notna()
    if todo.any():
        rest = strs[todo].astype(str)
        # "31/01/2024" vs "01/31/2024": day first once any first component exceeds 12 in
        # this file (sticky, so later blocks of the file agree).
        firsts = rest.str.extract(r"^(\d{1,2})[/.\-]\d{1,2}[/.\-]\d{2,4}")[0].dropna().astype(int)
        if len(firsts) and (firsts > 12).any():
            order.dayfirst = True
        # "Sep 15, 2026", "15.09.2026", "2026/09/15 10:00" etc. go through dateutil.
        res[todo] = _in_range(pd.to_datetime(rest, format="mixed", dayfirst=order.dayfirst, errors="coerce", utc=True))
    return _in_range(res.dt.tz_convert(None)).to_numpy(dtype="datetime64[ns]")


def _in_range(dates: pd.Series) -> pd.Series:
    # Years outside datetime64[ns] (e.g. a "9999-12-31" placeholder) are missing, not errors.
    return dates.where((dates.dt.year > 1677) & (dates.dt.year < 2262))
