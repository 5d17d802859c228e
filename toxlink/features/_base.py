"""Shared machinery of the feature families: the ``Feature`` record, the per-call
:class:`Context` (parsed hosts, URL parts, unique-value factorisations, computed once and
shared by every family) and vectorised text helpers built on pyarrow's RE2 kernels.

Every text helper works on the *unique* values of a column (anchors, titles, hosts), so a
1M-row export with 50k distinct anchors does 50k rows of string work, not 1M.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S
from toxlink import urls
from toxlink.resources import categorised, data_path, word_list  # noqa: F401 - categorised: the families import it here

Reason = Callable[[float], "str | None"]


@dataclass(frozen=True)
class Feature:
    """One model feature.

    Attributes
    ----------
    name : str
        Column name in the feature matrix (unique, snake_case, family prefix).
    family : str
        One of ``domain, tld, url, anchor, link, content, profile``.
    meaning : str
        One line saying what the value measures (units, missing cases).
    reason : callable ``float -> str | None``
        Plain-language sentence explaining why this value raises the risk, or ``None`` when
        the value is unremarkable (or missing). Used by the explanation engine for features
        that pushed a link's risk up.
    """

    name: str
    family: str
    meaning: str
    reason: Reason = field(repr=False, compare=False)


class FeatureSet:
    """A family's declared features, in declaration order.

    Family modules declare each feature next to the code computing it::

        FEATURES = FeatureSet("domain")
        FEATURES.add("dom_digits", "digits in the domain label", above(2, "{:,.0f} digits ..."))
    """

    def __init__(self, family: str):
        self.family = family
        self._items: list[Feature] = []

    def add(self, name: str, meaning: str, reason: Reason) -> None:
        self._items.append(Feature(name, self.family, meaning, reason))

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self._items]


# --- reason builders -----------------------------------------------------------------


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and not pd.isna(v)


@dataclass(frozen=True)
class Threshold:
    """A reason that speaks when the value passes a threshold: ``template.format(v)``.

    A plain value object rather than a lambda so that the explanation engine can ask which
    values share a sentence (:meth:`same_sentence`): a continuous feature whose sentence
    does not quote its value (an n-gram score: one value per host) then costs one sentence,
    not one per distinct value.
    """

    test: str  # "above", "below" or "flag" (value >= 0.5)
    threshold: float
    template: str

    def passes(self, v) -> bool:
        if not _ok(v):
            return False
        if self.test == "above":
            return v > self.threshold
        return v < self.threshold if self.test == "below" else v >= 0.5

    def __call__(self, v) -> str | None:
        return self.template.format(v) if self.passes(v) else None

    def same_sentence(self, values: np.ndarray) -> np.ndarray | None:
        """*values* (float32, shape (n,)) mapped so that values giving the same sentence are
        equal: every passing value to one that passes (+inf above, -inf below, 1 for a flag)
        and every other to NaN (no sentence); ``None`` when the sentence quotes the value."""
        if "{" in self.template:
            return None
        with np.errstate(invalid="ignore"):
            if self.test == "above":
                fires, passing = values > self.threshold, np.inf
            elif self.test == "below":
                fires, passing = values < self.threshold, -np.inf
            else:
                fires, passing = values >= 0.5, 1.0
        return np.where(fires, passing, np.nan).astype(np.float32)


def flag(text: str) -> Reason:
    """Reason for a 0/1 feature: *text* when the value is 1."""
    return Threshold("flag", 0.5, text)


def above(threshold: float, template: str) -> Reason:
    """Reason when the value is strictly above *threshold*; ``template.format(v)``."""
    return Threshold("above", threshold, template)


def below(threshold: float, template: str) -> Reason:
    """Reason when the value is strictly below *threshold*; ``template.format(v)``."""
    return Threshold("below", threshold, template)


def never(v) -> None:
    """Reason for features that never raise the risk on their own (context features)."""
    return None


# --- data lists ------------------------------------------------------------------------


@cache
def tld_risk() -> pd.DataFrame:
    """``data/tld_risk.csv`` indexed by TLD (see data/SOURCES.md for provenance)."""
    frame = pd.read_csv(data_path("tld_risk.csv"), comment="#", dtype={"tld": str})
    return frame.set_index("tld")


# --- vectorised text helpers (pyarrow / RE2) ------------------------------------------

_SEP = r"[^\p{L}\p{N}]+"


def to_arrow(values) -> pa.Array:
    """A ``large_string`` pyarrow array from a Series / ndarray / list (nulls kept)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.large_string())
    if isinstance(values, pd.Series):
        if isinstance(values.array, pd.arrays.ArrowStringArray):
            # The Series' own Arrow data (pandas hands it over through __arrow_array__):
            # no conversion through Python objects.
            return to_arrow(pa.array(values.array))
        values = values.astype("string")
    return pa.array(values, type=pa.large_string(), from_pandas=True)


# RE2 compiles a pattern on every kernel call, and Unicode classes (\p{L}: hundreds of
# ranges) cost ~2 ms each to compile, whatever the input's size: more than the matching
# itself on a chunk's few distinct anchors or titles. On an all-ASCII array the ASCII
# ranges of those classes match exactly the same characters, so that variant is used.
_ASCII_RANGES = {r"\p{L}": "A-Za-z", r"\p{N}": "0-9", r"\p{Latin}": "A-Za-z"}


@cache
def ascii_pattern(pattern: str) -> str | None:
    r"""*pattern* with ``\p{L}``, ``\p{N}`` and ``\p{Latin}`` replaced by their ASCII
    ranges (same matches on ASCII text); ``None`` if another ``\p{..}`` class remains."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        tok = next((t for t in _ASCII_RANGES if pattern.startswith(t, i)), None)
        if tok is not None:
            out.append(_ASCII_RANGES[tok] if in_class else f"[{_ASCII_RANGES[tok]}]")
            i += len(tok)
            continue
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    text = "".join(out)
    return None if "\\p{" in text else text


def is_ascii(arr: pa.Array) -> bool:
    """True when every (non-null) string of *arr* is ASCII."""
    return bool(pc.all(pc.string_is_ascii(arr)).as_py() is not False)


def regex_for(arr: pa.Array, pattern: str) -> str:
    """*pattern*, or its cheaper-to-compile :func:`ascii_pattern` when *arr* is ASCII."""
    if "\\p{" in pattern and is_ascii(arr):
        return ascii_pattern(pattern) or pattern
    return pattern


def words_normal(arr: pa.Array) -> pa.Array:
    """Lower-case and turn every run of non-alphanumerics into two spaces, padded with one
    space each side: ``"Slot-Gacor!"`` -> ``" slot  gacor "``. Whole-word phrase matching is
    then a plain ``" term "`` search (each word owns one space on either side)."""
    low = pc.utf8_lower(arr)
    spaced = pc.replace_substring_regex(low, regex_for(low, _SEP), "  ")
    pad = pa.scalar(" ", pa.large_string())
    return pc.binary_join_element_wise(pad, spaced, pad, pa.scalar("", pa.large_string()))


_ASCII_SEP = np.ones(256, dtype=bool)
_ASCII_SEP[[*range(48, 58), *range(65, 91), *range(97, 123)]] = False
_ASCII_SEP[128:] = False  # UTF-8 multi-byte sequences stay intact
_ASCII_REPS = np.where(_ASCII_SEP, 2, 1).astype(np.uint8)
_ASCII_BYTE = np.where(_ASCII_SEP, 32, np.arange(256)).astype(np.uint8)


def ascii_words_normal(arr: pa.Array) -> pa.Array:
    """Byte-level :func:`words_normal` for already lower-cased, mostly-ASCII text (URL
    paths): every ASCII non-alphanumeric byte becomes two spaces, one space pads each end.
    A numpy pass over the data buffer instead of a regex replace over every row."""
    arr = pc.fill_null(arr.cast(pa.large_string()), "")
    data, offsets = bytes_and_offsets(arr)
    reps = _ASCII_REPS[data]
    out = np.repeat(_ASCII_BYTE[data], reps)
    extra = _per_string_sum(reps - 1, offsets)
    new_offsets = offsets.copy()
    new_offsets[1:] += np.cumsum(extra)
    spaced = pa.LargeStringArray.from_buffers(len(arr), pa.py_buffer(new_offsets), pa.py_buffer(out))
    pad = pa.scalar(" ", pa.large_string())
    return pc.binary_join_element_wise(pad, spaced, pad, pa.scalar("", pa.large_string()))


_ASCII_LETTER = np.zeros(256, dtype=bool)
_ASCII_LETTER[[*range(65, 91), *range(97, 123)]] = True
_ASCII_ALNUM = _ASCII_LETTER.copy()
_ASCII_ALNUM[48:58] = True


def letter_counts(arr: pa.Array) -> np.ndarray:
    r"""Letters (``\p{L}``) per string, float64, NaN for nulls. On an ASCII array the
    A-Za-z bytes are counted: RE2 would make one match per letter."""
    if is_ascii(arr):
        return byte_counts(arr, _ASCII_LETTER.__getitem__)
    return arrow_float(pc.count_substring_regex(arr, r"\p{L}"))


def word_counts(arr: pa.Array) -> np.ndarray:
    r"""Maximal runs of letters and digits (``[\p{L}\p{N}]+``) per string, float64, NaN
    for nulls. On an ASCII array the runs' first bytes are counted (one pass over the
    bytes, instead of one RE2 match per word)."""
    if not is_ascii(arr):
        return arrow_float(pc.count_substring_regex(arr, r"[\p{L}\p{N}]+"))
    data, offsets = bytes_and_offsets(arr)
    alnum = _ASCII_ALNUM[data]
    first = alnum.copy()
    first[1:] &= ~alnum[:-1]
    starts = offsets[:-1][offsets[:-1] < offsets[1:]]
    first[starts] = alnum[starts]  # a string's first byte starts a run whatever precedes it
    out = _per_string_sum(first.view(np.uint8), offsets).astype(np.float64)
    if arr.null_count:
        out[~np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=bool)] = np.nan
    return out


def _norm_term(term: str) -> str:
    return re.sub(r"[^\w]+", "  ", term.lower(), flags=re.UNICODE).strip()


def phrase_pattern(terms) -> str:
    """RE2 pattern counting whole-word *terms* in :func:`words_normal` text."""
    return _phrase_pattern(tuple(terms))


@cache
def _phrase_pattern(terms: tuple[str, ...]) -> str:
    # Cached: the term lists are the few fixed word lists of data/, used on every chunk.
    alts = sorted({_norm_term(t) for t in terms if _norm_term(t)}, key=len, reverse=True)
    return " (?:" + "|".join(re.escape(a) for a in alts) + ") "


def count_phrases(normal: pa.Array, terms) -> np.ndarray:
    """Whole-word occurrences of *terms* in :func:`words_normal` text; NaN for nulls."""
    counts = pc.count_substring_regex(normal, phrase_pattern(terms))
    return arrow_float(counts)


def bytes_and_offsets(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of a (large_)string array and its per-string byte offsets."""
    arr = arr.cast(pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    _, offs, data = arr.buffers()
    offsets = np.frombuffer(offs, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return data[: offsets[-1]] if len(offsets) else data[:0], offsets


def _per_string_sum(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum of *values* (small ints, one per byte) within each string's byte range.

    An int32 running sum read at the string offsets: one pass, and half the memory of an
    int64 cumsum (a 1M-URL array has ~20M bytes; page faults cost more than the adds).
    """
    run = np.empty(len(values) + 1, dtype=np.int32 if len(values) < 2**31 // 4 else np.int64)
    run[0] = 0
    np.cumsum(values, dtype=run.dtype, out=run[1:])
    return (run[offsets[1:]] - run[offsets[:-1]]).astype(np.int64)


def byte_counts(arr: pa.Array, mask_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Per-string count of bytes where ``mask_of(bytes)`` is true (float64, NaN for nulls).

    One numpy pass over the array's data buffer: far cheaper than a regex per character
    class (e.g. counting digits in 1M URL paths).
    """
    data, offsets = bytes_and_offsets(arr)
    out = _per_string_sum(mask_of(data).view(np.uint8), offsets).astype(np.float64)
    if arr.null_count:
        out[~np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=bool)] = np.nan
    return out


def segment_counts(arr: pa.Array, sep: int = ord("/")) -> np.ndarray:
    """Per-string number of non-empty segments between *sep* bytes (path depth)."""
    data, offsets = bytes_and_offsets(arr)
    is_sep = data == sep
    prev_sep = np.empty_like(is_sep)
    prev_sep[1:] = is_sep[:-1]
    if len(prev_sep):
        prev_sep[0] = True
        starts = offsets[:-1][offsets[:-1] < len(data)]
        prev_sep[starts] = True  # a string's first byte starts a segment
    start = ~is_sep & prev_sep
    return _per_string_sum(start.view(np.uint8), offsets).astype(np.float64)


def arrow_float(arr) -> np.ndarray:
    """float64 ndarray from a numeric/boolean arrow array, NaN for nulls."""
    if pa.types.is_boolean(arr.type):
        arr = pc.cast(arr, pa.int8())
    return np.array(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


_SCRIPTS = ("Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Han", "Hangul", "Thai", "Devanagari", "Kana")
_SCRIPT_RE = {s: (r"[\p{Hiragana}\p{Katakana}]" if s == "Kana" else r"\p{%s}" % s) for s in _SCRIPTS}
SCRIPT_CODES = {s: i + 1 for i, s in enumerate(_SCRIPTS)}  # 0 = no letters

# Page language -> expected script code of its text (ISO 639-1). Unlisted codes are Latin.
_LANG_SCRIPT = {
    **dict.fromkeys(["ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "mn", "tg"], "Cyrillic"),
    "el": "Greek",
    **dict.fromkeys(["ar", "fa", "ur", "ps"], "Arabic"),
    **dict.fromkeys(["he", "yi"], "Hebrew"),
    "zh": "Han",
    "ja": "Kana",
    "ko": "Hangul",
    "th": "Thai",
    **dict.fromkeys(["hi", "mr", "ne"], "Devanagari"),
}


def script_profile(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Dominant script code and number of distinct scripts of each string.

    Returns
    -------
    dominant : ndarray of float64, shape (n,) — :data:`SCRIPT_CODES` value of the script with
        the most letters (Japanese kana and Han both count as ``Kana`` when kana is present),
        0 when the string has no letters, NaN for nulls.
    n_scripts : ndarray of float64, shape (n,) — distinct scripts among the letters.
    """
    return _script_summary(_script_counts(arr))


def _script_counts(arr: pa.Array) -> np.ndarray:
    """Letters of each script (:data:`_SCRIPTS`) in each string, shape (n, n_scripts), NaN rows for nulls."""
    # ASCII strings have only Latin letters, A-Za-z: counted from their bytes; the ten
    # script patterns run only on the other strings (if any).
    counts = np.zeros((len(arr), len(_SCRIPTS)))
    latin = byte_counts(arr, _ASCII_LETTER.__getitem__)  # NaN for nulls
    counts[:, _SCRIPTS.index("Latin")] = latin
    counts[np.isnan(latin)] = np.nan
    ascii_rows = pc.fill_null(pc.string_is_ascii(arr), True)
    if not pc.all(ascii_rows).as_py():
        other = np.flatnonzero(~np.asarray(ascii_rows.to_numpy(zero_copy_only=False), dtype=bool))
        sub = arr.take(pa.array(other))
        counts[other] = np.column_stack([arrow_float(pc.count_substring_regex(sub, _SCRIPT_RE[s])) for s in _SCRIPTS])
    return counts


def _script_summary(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`script_profile` from the letters per script (:func:`_script_counts`)."""
    null = np.isnan(counts[:, 0])
    counts = np.nan_to_num(counts)
    kana = SCRIPT_CODES["Kana"] - 1
    han = SCRIPT_CODES["Han"] - 1
    # Japanese mixes Han with kana: treat Han+kana text as one (Kana) script.
    has_kana = counts[:, kana] > 0
    counts[has_kana, kana] += counts[has_kana, han]
    counts[has_kana, han] = 0
    dominant = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1) + 1, 0).astype(float)
    n_scripts = (counts > 0).sum(axis=1).astype(float)
    dominant[null] = np.nan
    n_scripts[null] = np.nan
    return dominant, n_scripts


def language_script(lang: pd.Series) -> np.ndarray:
    """Expected script code of each page language (first code of e.g. ``"en-US, de"``);
    NaN when the language is missing or not a language code."""
    codes, uniq = arrow_codes(lang)
    out_u = np.full(len(uniq), np.nan)
    for i, v in enumerate(uniq.to_pylist()):
        m = re.match(r"\s*([A-Za-z]{2,3})\b", str(v))
        if m:
            out_u[i] = SCRIPT_CODES[_LANG_SCRIPT.get(m.group(1).lower()[:2], "Latin")]
    return take(out_u, codes)


def take(values_unique: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Map per-unique float values back to rows; code -1 (missing) gives NaN."""
    values_unique = np.asarray(values_unique, dtype=np.float64)
    out = np.append(values_unique, np.nan)[codes]  # codes == -1 hits the appended NaN
    return out


def take_rows(values_unique, codes: np.ndarray, missing: float = np.nan) -> np.ndarray:
    """:func:`take` of several per-unique arrays at once, as one gather.

    Parameters
    ----------
    values_unique : sequence of k arrays of shape (u,), or an array of shape (k, u)
    codes : ndarray of int, shape (n,); -1 gives *missing* (NaN by default)

    Returns
    -------
    ndarray of float64, shape (k, n): row i is ``take(values_unique[i], codes)``. One
    (k, u + 1) table and one gather cost a fraction of k separate takes (each a fresh
    n-long array).
    """
    table = np.empty((len(values_unique), len(values_unique[0]) + 1 if len(values_unique) else 1))
    for i, v in enumerate(values_unique):
        table[i, :-1] = v
    table[:, -1] = missing
    return np.take(table, codes, axis=1)


def arrow_codes(values) -> tuple[np.ndarray, pa.Array]:
    """``pd.factorize(values, use_na_sentinel=True)`` with the uniques left in Arrow:
    (int64 codes, -1 for nulls; unique values in order of first appearance)."""
    enc = pc.dictionary_encode(to_arrow(values))
    codes = np.asarray(pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, enc.dictionary


def bool_float(s: pd.Series | None, n: int) -> np.ndarray:
    """Nullable boolean column as 1.0/0.0/NaN (all NaN when the column is absent)."""
    if s is None:
        return np.full(n, np.nan)
    if str(s.dtype) != "boolean":
        s = s.astype("boolean")
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def num_float(s: pd.Series | None, n: int) -> np.ndarray:
    if s is None:
        return np.full(n, np.nan)
    if s.dtype == np.float64:  # the canonical numeric columns: nothing to coerce
        return s.to_numpy(dtype=np.float64, copy=True)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


# --- per-call context ------------------------------------------------------------------


class Context:
    """Everything the families share for one ``compute`` call on one table (or chunk).

    Attributes are computed lazily and cached, so a family that needs the URL parts and one
    that needs the hosts trigger the parsing once.
    """

    def __init__(self, links: pd.DataFrame, profile=None, reference_date=None):
        self.links = links
        self.n = len(links)
        self.index = links.index
        self.profile = profile
        self._reference_date = reference_date
        self.cache: dict = {}  # per-call results one family shares with another

    def col(self, name: str) -> pd.Series | None:
        """The column, or ``None`` when the export lacks it (features become NaN)."""
        return self.links[name] if name in self.links.columns else None

    # hosts ----------------------------------------------------------------------------
    @cached_property
    def url_parts(self) -> pd.DataFrame:
        src = self.col(S.SOURCE_URL)
        if src is None:
            src = pd.Series(pd.NA, index=self.index, dtype="string")
        return urls.split_urls(src)

    @cached_property
    def host(self) -> pd.Series:
        """Normalised referring host per row (``string``, NA where none)."""
        h = self.col(S.HOST)
        if h is not None:
            return h.astype("string")
        return urls.normalise_hosts(self.url_parts["host"])

    @cached_property
    def host_codes(self) -> tuple[np.ndarray, pa.Array]:
        """(codes per row, unique hosts as a ``large_string`` array in order of first
        appearance); code -1 where the row has no host. Arrow's dictionary encoding: no
        Python string objects for the unique hosts."""
        return arrow_codes(self.host)

    @cached_property
    def host_info(self) -> dict[str, pa.Array | np.ndarray]:
        """:func:`toxlink.urls.host_table` columns aligned with the unique hosts, as arrays
        (``domain, suffix, subdomain``: large_string; ``is_ip, private_suffix``: bool)."""
        _, uniq = self.host_codes
        if not len(uniq):
            empty = pa.array([], pa.large_string())
            none = np.zeros(0, dtype=bool)
            return {"domain": empty, "suffix": empty, "subdomain": empty, "is_ip": none, "private_suffix": none}
        return urls.host_facts(uniq)

    @cached_property
    def domain(self) -> pd.Series:
        """Registrable referring domain per row."""
        d = self.col(S.DOMAIN)
        if d is not None:
            return d.astype("string")
        codes, _ = self.host_codes
        out = self.host_info["domain"].take(pa.array(codes, mask=codes < 0))
        return pd.Series(pd.arrays.ArrowStringArray(out), index=self.index)

    @cached_property
    def domain_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes per row, unique domains); derived from the host codes when the table has
        no domain column, so only unique hosts are touched."""
        if self.col(S.DOMAIN) is not None:
            codes, uniq = pd.factorize(self.domain, use_na_sentinel=True)
            return codes, np.asarray(uniq, dtype=object)
        hcodes, _ = self.host_codes
        dcodes_u, duniq = arrow_codes(self.host_info["domain"])
        return np.append(dcodes_u, -1)[hcodes], duniq.to_numpy(zero_copy_only=False).astype(object)

    @cached_property
    def host_lists(self) -> dict[str, np.ndarray]:
        """Per unique host, 1.0/0.0 whether it is on (or under) an entry of each host list
        of ``data/`` (``free_hosts.txt``, ``shorteners.txt``), cut from the hosts once."""
        names = ("free_hosts.txt", "shorteners.txt")
        _, uniq = self.host_codes
        return dict(zip(names, hosts_suffix_in(uniq, [word_list(n) for n in names])))

    @cached_property
    def language_script(self) -> np.ndarray:
        """:func:`language_script` of the language column (all NaN without one)."""
        lang = self.col(S.LANGUAGE)
        return language_script(lang) if lang is not None else np.full(self.n, np.nan)

    # target brand -----------------------------------------------------------------------
    @cached_property
    def target_brand(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes per row, unique brand tokens): the target's registrable label with
        non-alphanumerics removed (``acme-tools.co.uk`` -> ``acmetools``)."""
        tgt = self.col(S.TARGET_URL)
        if tgt is None:
            return np.full(self.n, -1), np.array([], dtype=object)
        codes, uniq = arrow_codes(tgt)
        hosts = urls.hosts_arrow(uniq)
        hcodes, huniq = arrow_codes(hosts)
        facts = urls.host_facts(huniq) if len(huniq) else None
        pairs = zip(facts["domain"].to_pylist(), facts["suffix"].to_pylist()) if facts else ()
        brand_u = []  # the few distinct target hosts: plain Python
        for dom, suffix in pairs:
            label = dom[: -len(suffix) - 1] if suffix and dom.endswith("." + suffix) else dom.split(".")[0]
            label = label.split(".")[-1]
            brand_u.append(re.sub(r"[^0-9a-z]", "", label) or None)
        brands = [None if c < 0 else brand_u[c] for c in hcodes]
        bcodes, buniq = pd.factorize(pd.Series(brands, dtype=object), use_na_sentinel=True)
        row = np.append(bcodes, -1)[codes]
        return row, np.asarray(buniq, dtype=object)

    # reference date ----------------------------------------------------------------------
    @property
    def reference_date(self):
        """Latest first/last-seen date of the export (NaT when no dates)."""
        if self._reference_date is not None:
            return self._reference_date
        if self.profile is not None:
            return self.profile.reference_date
        return export_reference_date(self.links)


def export_reference_date(links: pd.DataFrame):
    dates = [links[c].max() for c in (S.FIRST_SEEN, S.LAST_SEEN) if c in links.columns]
    dates = [d for d in dates if not pd.isna(d)]
    return max(dates) if dates else pd.NaT


def host_suffix_in(hosts, names: frozenset[str]) -> np.ndarray:
    """1.0 where a host equals an entry of *names* or ends in ``"." + entry`` (0.0 else).

    Vectorised: for each label count k an entry can have, the hosts' last k labels are cut
    from the UTF-8 buffer at the dot positions (numpy) and looked up with ``is_in``.
    """
    return hosts_suffix_in(hosts, [names])[0]


def hosts_suffix_in(hosts, name_lists: list[frozenset[str]]) -> list[np.ndarray]:
    """:func:`host_suffix_in` for several lists at once: the hosts' tails are cut once."""
    if not isinstance(hosts, (pa.Array, pa.ChunkedArray, pd.Series)):
        hosts = np.asarray(hosts, dtype=object)
    arr = pc.fill_null(to_arrow(hosts), "")
    outs = [np.zeros(len(arr)) for _ in name_lists]
    if not len(arr) or not any(name_lists):
        return outs
    value_sets = [pa.array(sorted(names), pa.large_string()) for names in name_lists]
    data, offsets = bytes_and_offsets(arr)
    start, stop = offsets[:-1], offsets[1:]
    dot_pos = np.flatnonzero(data == ord("."))
    before = np.searchsorted(dot_pos, start)
    n_dots = np.searchsorted(dot_pos, stop) - before
    label_counts = [{n.count(".") + 1 for n in names} for names in name_lists]
    for k in sorted(set().union(*label_counts)):
        rows = np.flatnonzero(n_dots >= k - 1)
        whole = n_dots[rows] == k - 1
        cut = dot_pos[np.where(whole, 0, before[rows] + n_dots[rows] - k)] + 1 if len(dot_pos) else start[rows]
        tail = urls.byte_slices(data, np.where(whole, start[rows], cut), stop[rows])
        for out, value_set, ks in zip(outs, value_sets, label_counts):
            if k in ks:
                hit = arrow_float(pc.fill_null(pc.is_in(tail, value_set), False))
                out[rows] = np.maximum(out[rows], hit)
    return outs


def free_hosts() -> frozenset[str]:
    return word_list("free_hosts.txt")
