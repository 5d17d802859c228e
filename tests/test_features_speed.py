"""The fast paths of the feature families equal the simple computations they replace.

Each reference below is the straightforward (slower) computation the family used before:
RE2 counts, per-feature gathers, pandas timedeltas, a sparse (label, byte) table. They
must agree bit for bit, NaN positions included, on ASCII, non-ASCII, empty and null input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings, strategies as st

from toxlink.features import _base, anchor, domain, link
from toxlink.features._base import Context, arrow_float, take

_TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ019 -._/") + ["é", "ж", "Ω", "中", "か", "ä", "\u00a0"]), max_size=20)
_ASCII = st.text(alphabet=st.sampled_from(list("abcXYZ019 -._/")), max_size=20)
_SETTINGS = settings(max_examples=60, deadline=None)


def _arrays(values: list[str | None]):
    """The array itself and a slice of a bigger one (offsets not starting at 0)."""
    arr = pa.array(values, pa.large_string())
    padded = pa.array(["x-1 y", *values, "z"], pa.large_string()).slice(1, len(values))
    return arr, padded


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@_SETTINGS
@given(st.lists(st.one_of(st.none(), _TEXT), max_size=12), st.booleans())
def test_word_and_letter_counts_equal_re2(values, ascii_only):
    if ascii_only:
        values = [v.encode("ascii", "ignore").decode() if v is not None else None for v in values]
    for arr in _arrays(values):
        words = arrow_float(pc.count_substring_regex(arr, _base.regex_for(arr, r"[\p{L}\p{N}]+")))
        letters = arrow_float(pc.count_substring_regex(arr, _base.regex_for(arr, r"\p{L}")))
        assert _same(_base.word_counts(arr), words)
        assert _same(_base.letter_counts(arr), letters)


@_SETTINGS
@given(st.lists(st.one_of(st.none(), _TEXT, _ASCII), max_size=12))
def test_script_profile_equals_every_script_pattern(values):
    """Letters per script as every script pattern counts them (ASCII strings are counted
    from their bytes instead), and the profile made from those counts."""
    for arr in _arrays(values):
        want = np.column_stack([arrow_float(pc.count_substring_regex(arr, _base._SCRIPT_RE[s])) for s in _base._SCRIPTS])
        assert _same(_base._script_counts(arr), want)
        for got, expected in zip(_base.script_profile(arr), _base._script_summary(want)):
            assert _same(got, expected)


def _label_stats_reference(labels: list[str]) -> dict[str, np.ndarray]:
    """Per label in plain numpy: class counts, runs, and entropy summed over a sorted
    (byte, count) table in byte order, as a bincount over sorted cells adds them."""
    out = {k: [] for k in ("dom_label_length", "dom_digits", "dom_digit_ratio", "dom_hyphens", "dom_vowel_ratio",
                           "dom_entropy", "dom_max_consonant_run", "dom_random_looking")}
    for s in labels:
        b = np.frombuffer(s.encode("ascii", "replace")[:64], dtype=np.uint8)
        b = b[b != 0]
        cls = domain._CLASS[b]
        length = float(len(b))
        digits = int((cls == domain._DIGIT).sum())
        vowels, cons = int((cls == domain._VOWEL_C).sum()), int((cls == domain._CONSONANT).sum())
        letters = vowels + cons
        vowel_ratio = vowels / max(letters, 1) if letters else np.nan
        run = best = 0
        for c in cls:
            run = run + 1 if c == domain._CONSONANT else 0
            best = max(best, run)
        values, counts = np.unique(b, return_counts=True)
        p = counts / np.full(len(counts), length)
        terms = -p * np.log2(p)
        entropy = np.bincount(np.zeros(len(terms), dtype=np.int64), weights=terms, minlength=1)[0]
        out["dom_label_length"].append(length)
        out["dom_digits"].append(float(digits))
        out["dom_digit_ratio"].append(digits / max(length, 1) if length else np.nan)
        out["dom_hyphens"].append(float((cls == domain._HYPHEN).sum()))
        out["dom_vowel_ratio"].append(vowel_ratio)
        out["dom_entropy"].append(entropy)
        out["dom_max_consonant_run"].append(float(best))
        out["dom_random_looking"].append(float(best >= 5 or (length >= 8 and vowel_ratio < 0.15)))
    return {k: np.array(v, dtype=float) for k, v in out.items()}


_LABEL = st.text(alphabet=st.sampled_from(list("aeibcdfgxyz0189-_") + ["é", "\x00"]), max_size=70)


@_SETTINGS
@given(st.lists(st.one_of(_LABEL, st.text(alphabet=st.sampled_from(list("bcdfghaeo19-")), max_size=64)), max_size=10))
def test_label_stats_equal_per_label_reference(labels):
    got = domain._label_stats(pa.array(labels, pa.large_string()))
    want = _label_stats_reference(labels)
    for name in want:
        assert _same(got[name], want[name]), name


def test_label_stats_known_values():
    got = domain._label_stats(pa.array(["aab", "", "xkcdqwrt", "a1-2"], pa.large_string()))
    assert got["dom_entropy"][0] == -(2 / 3) * np.log2(2 / 3) - (1 / 3) * np.log2(1 / 3)
    assert list(got["dom_max_consonant_run"]) == [1, 0, 8, 0]
    assert list(got["dom_hyphens"]) == [0, 0, 0, 1]
    assert np.isnan(got["dom_vowel_ratio"][1]) and got["dom_entropy"][1] == 0


@_SETTINGS
@given(st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=False), min_size=4, max_size=4), min_size=1, max_size=3),
       st.lists(st.integers(-1, 3), max_size=15))
def test_take_rows_equals_take(columns, codes):
    columns = [np.array(c) for c in columns]
    codes = np.array(codes, dtype=np.int64)
    rows = _base.take_rows(columns, codes)
    for row, col in zip(rows, columns):
        assert _same(row, take(col, codes))
    zeros = _base.take_rows(columns, codes, 0.0)
    for row, col in zip(zeros, columns):
        assert _same(row, np.append(col, 0.0)[codes])


def _token_repeats_reference(normal: pa.Array) -> np.ndarray:
    tokens = pc.split_pattern(pc.utf8_trim(normal, " "), "  ")
    flat = pc.list_flatten(tokens).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(tokens).to_numpy()
    keep = flat != ""
    flat, parents = flat[keep], parents[keep]
    total = np.bincount(parents, minlength=len(normal)).astype(float)
    if len(flat) == 0:
        return total
    tcodes, tuniq = pd.factorize(flat)
    pairs = np.unique(parents.astype(np.int64) * len(tuniq) + tcodes)
    return total - np.bincount(pairs // len(tuniq), minlength=len(normal))


@_SETTINGS
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(list("ab c-") + ["ж"]), max_size=15)), max_size=10))
def test_token_repeats_equal_pandas_factorize(values):
    normal = _base.words_normal(pa.array(values, pa.large_string()))
    assert _same(anchor._token_repeats(normal), _token_repeats_reference(normal))


def test_link_ages_equal_pandas_timedeltas():
    # the canonical dtype (nanoseconds) takes the int64 path, another unit pandas' own
    first = pd.Series(pd.to_datetime(["2024-01-01 13:45:12.123456789", None, "1999-12-31", "2024-03-01"],
                                     format="ISO8601")).astype("datetime64[ns]")
    last = pd.Series(pd.to_datetime(["2024-02-01", "2024-02-02", None, "2024-03-01"])).astype("datetime64[s]")
    links = pd.DataFrame({link.S.FIRST_SEEN: first, link.S.LAST_SEEN: last})
    ref = pd.Timestamp("2024-03-01 00:00:00.5").as_unit("ns")
    got = link.compute(Context(links, reference_date=ref))
    for col, name in ((first, "lnk_first_seen_days"), (last, "lnk_last_seen_days")):
        want = ((ref - col).dt.total_seconds() / 86400.0).to_numpy(dtype=float, na_value=np.nan)
        assert _same(got[name], want)
    assert got["lnk_last_seen_days"][3] == 0.5 / 86400
