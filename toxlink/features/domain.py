"""Domain family: lexical facts about the referring host and its registrable label.

Computed once per *unique* host (a backlink export has far fewer hosts than rows) and
joined back by the host's factorisation code. The "label" is the registrable domain
without its public suffix (``shop.acme-tools.co.uk`` -> ``acme-tools``; for a blog on a
platform suffix, ``name.blogspot.com`` -> ``name``). Lexical features are NaN for IP hosts
and for rows without a host.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import urls
from toxlink.features._base import (
    Context,
    FeatureSet,
    above,
    arrow_codes,
    arrow_float,
    _per_string_sum,
    bytes_and_offsets,
    categorised,
    flag,
    never,
    take_rows,
    to_arrow,
)

FEATURES = FeatureSet("domain")
FEATURES.add("dom_host_length", "characters in the referring host name", above(40, "the host name is very long ({:,.0f} characters)"))
FEATURES.add("dom_label_length", "characters in the registrable label (domain without suffix)", above(20, "the domain name is long ({:,.0f} characters)"))
FEATURES.add("dom_digits", "digits in the registrable label", above(2, "the domain name contains {:,.0f} digits"))
FEATURES.add("dom_digit_ratio", "share of the registrable label's characters that are digits", above(0.3, "{:.0%} of the domain name is digits"))
FEATURES.add("dom_hyphens", "hyphens in the registrable label", above(1, "the domain name contains {:,.0f} hyphens"))
FEATURES.add("dom_vowel_ratio", "vowels (a e i o u y) / letters in the registrable label", never)
FEATURES.add("dom_entropy", "Shannon entropy (bits/char) of the registrable label's characters", above(3.8, "the domain name looks randomly generated"))
FEATURES.add("dom_max_consonant_run", "longest run of consecutive consonants in the registrable label", above(4, "the domain name has {:,.0f} consonants in a row"))
FEATURES.add("dom_random_looking", "1 if the label looks machine-generated: 5+ consonants in a row, or 8+ chars with < 15% vowels", flag("the domain name looks machine-generated"))
FEATURES.add("dom_subdomain_depth", "subdomain labels before the registrable domain, ignoring a leading www/m", above(2, "the host is {:,.0f} subdomain levels deep"))
FEATURES.add("dom_is_ip", "1 if the referring host is an IPv4/IPv6 address", flag("the referring site is a bare IP address"))
FEATURES.add("dom_is_idn", "1 if the host has an internationalised (punycode xn--) label", never)
FEATURES.add("dom_free_host", "1 if the host is on a free hosting / publishing platform (data/free_hosts.txt)", flag("the referring site is on a free hosting platform"))
FEATURES.add("dom_private_suffix", "1 if the registrable domain sits on a Public Suffix List private suffix (platform where anyone can publish)", flag("the referring site is a user site on a shared platform"))
FEATURES.add("dom_spam_terms", "spam-lexicon terms inside the host name (gambling, pharma, adult, loans, essays, crypto, SEO)", above(0, "the domain name contains spam words ({:,.0f} found)"))

_VOWEL = np.zeros(256, dtype=bool)
_VOWEL[np.frombuffer(b"aeiouy", dtype=np.uint8)] = True
_WIDTH = 64  # DNS labels are at most 63 octets


def _label_bytes(labels: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each label's first 64 bytes laid end to end and the int64 offsets (shape (n + 1,))
    of each label's bytes among them.

    Taken straight from the array's UTF-8 buffer: labels are ASCII (from punycoded hosts);
    any other label is encoded as before, one ``?`` per non-ASCII character.
    """
    labels = pc.fill_null(to_arrow(labels), "")
    data, offsets = bytes_and_offsets(labels)
    lens = np.diff(offsets)
    n = len(labels)
    if len(data) and (not pc.all(pc.string_is_ascii(labels)).as_py() or not data.all() or lens.max() > _WIDTH):
        mat = np.array([s.encode("ascii", "replace")[:_WIDTH] for s in labels.to_pylist()], dtype=f"S{_WIDTH}")
        m = mat.view(np.uint8).reshape(n, _WIDTH)
        valid = m != 0
        return m[valid], np.concatenate([[0], np.cumsum(np.count_nonzero(valid, axis=1))])
    if not n:
        return data[:0], np.zeros(1, dtype=np.int64)
    return data[offsets[0] : offsets[-1]], offsets - offsets[0]


# Byte classes of a label's characters.
_DIGIT, _VOWEL_C, _CONSONANT, _HYPHEN, _OTHER = range(5)
_CLASS = np.full(256, _OTHER, dtype=np.uint8)
_CLASS[48:58] = _DIGIT
_CLASS[97:123] = _CONSONANT
_CLASS[_VOWEL] = _VOWEL_C
_CLASS[45] = _HYPHEN


def _entropy_terms() -> np.ndarray:
    """``-p * log2(p)`` for ``p = c / length``, indexed ``[c, length]`` (both <= 64): a
    label's entropy adds up the terms of its byte counts. The same float64 operations on
    the same operands as computing them per (label, byte), so the same bits; 0 for c = 0."""
    c = np.arange(_WIDTH + 1, dtype=np.int64)[:, None]
    length = np.arange(_WIDTH + 1, dtype=np.float64)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = c / length
        terms = -p * np.log2(p)
    terms[0] = 0.0
    return terms


_ENTROPY_TERMS = _entropy_terms()


def _label_stats(labels: pa.Array) -> dict[str, np.ndarray]:
    """Character statistics of ASCII labels from their bytes laid end to end (no per-label
    Python); computed once per distinct label."""
    codes, uniq = arrow_codes(pc.fill_null(to_arrow(labels), ""))
    chars, offsets = _label_bytes(uniq)
    n = len(offsets) - 1
    lens = np.diff(offsets)
    cls = _CLASS[chars]
    digits = _per_string_sum((cls == _DIGIT).view(np.uint8), offsets)
    vowels = _per_string_sum((cls == _VOWEL_C).view(np.uint8), offsets)
    cons = cls == _CONSONANT
    consonants = _per_string_sum(cons.view(np.uint8), offsets)
    length = lens.astype(float)
    letters = vowels + consonants
    with np.errstate(invalid="ignore", divide="ignore"):
        vowel_ratio = np.where(letters > 0, vowels / np.maximum(letters, 1), np.nan)
        digit_ratio = np.where(length > 0, digits / np.maximum(length, 1), np.nan)
    # Longest consonant run: the runs' first and last bytes (a label's first byte starts
    # one, its last ends one), their lengths maximised per label.
    nonempty = lens > 0
    first_byte = np.zeros(len(chars) + 1, dtype=bool)
    first_byte[offsets[:-1][nonempty]] = True
    run_start = cons.copy()
    run_start[1:] &= ~cons[:-1] | first_byte[1:-1]
    run_stop = cons.copy()
    run_stop[:-1] &= ~cons[1:] | first_byte[1:-1]
    starts = np.flatnonzero(run_start)
    runs = np.flatnonzero(run_stop) + 1 - starts
    seen = np.zeros(256, dtype=bool)
    seen[chars] = True
    k = max(int(seen.sum()), 1)
    # the label of each byte, int32 unless the (label, byte) keys below need more
    itype = np.int32 if n * k < 2**31 else np.int64
    row = np.repeat(np.arange(n, dtype=itype), lens)
    max_run = np.zeros(n)
    if len(starts):
        owner = row[starts]
        first_run = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
        max_run[owner[first_run]] = np.maximum.reduceat(runs, first_run)
    # Entropy from per-(label, byte) counts. The bytes present are ranked so the count
    # table has one column per byte value seen, not 256. Each label's terms are added in
    # byte order from 0.0 (a bincount over the sorted (label, byte) cells would add them
    # in that order too); an absent byte adds 0.0, which changes no bits.
    rank = (np.cumsum(seen) - 1).astype(itype)
    row *= itype(k)
    row += rank[chars]
    table = np.bincount(row, minlength=n * k).reshape(n, k)
    entropy = np.zeros(n)
    terms, width = _ENTROPY_TERMS.ravel(), _ENTROPY_TERMS.shape[1]
    for j in range(k):
        entropy += terms[table[:, j] * width + lens]
    random_looking = ((max_run >= 5) | ((length >= 8) & (vowel_ratio < 0.15))).astype(float)
    out = {
        "dom_label_length": length,
        "dom_digits": digits.astype(float),
        "dom_digit_ratio": digit_ratio,
        "dom_hyphens": _per_string_sum((cls == _HYPHEN).view(np.uint8), offsets).astype(float),
        "dom_vowel_ratio": vowel_ratio,
        "dom_entropy": entropy,
        "dom_max_consonant_run": max_run,
        "dom_random_looking": random_looking,
    }
    return dict(zip(out, take_rows(list(out.values()), codes)))


def host_spam_terms(hosts: pa.Array) -> np.ndarray:
    """Spam-lexicon hits in host names: long terms as substrings, short ones as tokens."""
    terms = {t.replace(" ", "") for ts in categorised("spam_lexicon.txt").values() for t in ts}
    terms = {t for t in terms if t.isascii() and t.isalnum()}
    long_terms = sorted((t for t in terms if len(t) >= 4), key=len, reverse=True)
    short_terms = sorted(t for t in terms if len(t) < 4)
    hits = arrow_float(pc.count_substring_regex(hosts, "(?:" + "|".join(long_terms) + ")"))
    # Split on non-letters so "bet-365" and "bet365" expose "bet": each maximal run of
    # a-z bytes is a token (UTF-8 multi-byte characters are never a-z bytes).
    return hits + _tokens_in(hosts, short_terms)


def _tokens_in(arr: pa.Array, terms: list[str]) -> np.ndarray:
    """Per string, the number of maximal runs of ``a-z`` bytes that equal one of *terms*
    (what counting ``" (?:terms) "`` in the string with ``[^a-z]+`` -> two spaces gives)."""
    data, offsets = bytes_and_offsets(pc.fill_null(arr, ""))
    out = np.zeros(len(arr))
    if not len(data) or not terms:
        return out
    letter = (data >= 97) & (data <= 122)
    n = len(data)
    edge = np.zeros(n + 1, dtype=bool)  # a string boundary falls before this byte
    edge[offsets] = True
    prev = np.empty(n, dtype=bool)
    prev[0] = False
    prev[1:] = letter[:-1]
    start = np.flatnonzero(letter & (~prev | edge[:-1]))
    nxt = np.empty(n, dtype=bool)
    nxt[-1] = False
    nxt[:-1] = letter[1:]
    stop = np.flatnonzero(letter & (~nxt | edge[1:])) + 1
    lens = stop - start
    keep = (lens >= min(map(len, terms))) & (lens <= max(map(len, terms)))
    start, stop = start[keep], stop[keep]
    hit = pc.is_in(urls.byte_slices(data, start, stop), pa.array(sorted(terms), pa.large_string()))
    hit = np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.searchsorted(offsets, start[hit], side="right") - 1
    return out + np.bincount(rows, minlength=len(arr))


def _first_labels(domains: pa.Array, blank: np.ndarray) -> pa.Array:
    """Each domain up to its first ".", ``""`` where *blank* or the domain is null
    (``split_pattern(".")[0]``, cut from the UTF-8 buffer at the dot positions)."""
    data, offsets = bytes_and_offsets(pc.fill_null(to_arrow(domains), ""))
    start, end = offsets[:-1], offsets[1:]
    dots = np.append(np.flatnonzero(data == ord(".")), len(data))
    stop = np.minimum(dots[np.searchsorted(dots, start)], end)
    return urls.byte_slices(data, start, np.where(blank, start, stop))


def compute(ctx: Context) -> dict[str, np.ndarray]:
    codes, uniq = ctx.host_codes
    info = ctx.host_info
    is_ip = info["is_ip"]
    # The registrable domain's first label is the name its owner chose, whatever the
    # suffix's length: acme-tools.co.uk -> acme-tools, name.blogspot.com -> name.
    labels = _first_labels(info["domain"], is_ip)
    # Subdomain levels, not counting a leading www / www2 / m.
    sub = pc.fill_null(info["subdomain"], "")
    sub = pc.replace_substring_regex(sub, r"^(?:www\d*|m)(?:\.|$)", "")
    depth = np.where(arrow_float(pc.utf8_length(sub)) > 0, arrow_float(pc.count_substring(sub, ".")) + 1, 0.0)
    stats = _label_stats(labels)
    host_arr = uniq
    out_u = {
        "dom_host_length": arrow_float(pc.utf8_length(host_arr)),
        **stats,
        "dom_subdomain_depth": depth,
        "dom_is_ip": is_ip.astype(float),
        "dom_is_idn": arrow_float(pc.match_substring(host_arr, "xn--")),
        "dom_free_host": ctx.host_lists["free_hosts.txt"],
        "dom_private_suffix": info["private_suffix"].astype(float),
        "dom_spam_terms": host_spam_terms(host_arr),
    }
    lexical = set(stats) | {"dom_subdomain_depth", "dom_spam_terms"}
    per_host = []
    for f in FEATURES:
        v = np.asarray(out_u[f.name], dtype=float)
        per_host.append(np.where(is_ip, np.nan, v) if f.name in lexical else v)
    return dict(zip(FEATURES.names, take_rows(per_host, codes)))
