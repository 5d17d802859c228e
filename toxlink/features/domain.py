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

from toxlink.features._base import (
    Context,
    FeatureSet,
    above,
    arrow_float,
    categorised,
    flag,
    free_hosts,
    host_suffix_in,
    never,
    take,
    to_arrow,
)

FEATURES = FeatureSet("domain")
FEATURES.add("dom_host_length", "characters in the referring host name", above(40, "the host name is very long ({:.0f} characters)"))
FEATURES.add("dom_label_length", "characters in the registrable label (domain without suffix)", above(20, "the domain name is long ({:.0f} characters)"))
FEATURES.add("dom_digits", "digits in the registrable label", above(2, "the domain name contains {:.0f} digits"))
FEATURES.add("dom_digit_ratio", "share of the registrable label's characters that are digits", above(0.3, "{:.0%} of the domain name is digits"))
FEATURES.add("dom_hyphens", "hyphens in the registrable label", above(1, "the domain name contains {:.0f} hyphens"))
FEATURES.add("dom_vowel_ratio", "vowels (a e i o u y) / letters in the registrable label", never)
FEATURES.add("dom_entropy", "Shannon entropy (bits/char) of the registrable label's characters", above(3.8, "the domain name looks random (character entropy {:.1f} bits)"))
FEATURES.add("dom_max_consonant_run", "longest run of consecutive consonants in the registrable label", above(4, "the domain name has {:.0f} consonants in a row"))
FEATURES.add("dom_random_looking", "1 if the label looks machine-generated: 5+ consonants in a row, or 8+ chars with < 15% vowels", flag("the domain name looks machine-generated"))
FEATURES.add("dom_subdomain_depth", "subdomain labels before the registrable domain, ignoring a leading www/m", above(2, "the host is {:.0f} subdomain levels deep"))
FEATURES.add("dom_is_ip", "1 if the referring host is an IPv4/IPv6 address", flag("the referring site is a bare IP address"))
FEATURES.add("dom_is_idn", "1 if the host has an internationalised (punycode xn--) label", never)
FEATURES.add("dom_free_host", "1 if the host is on a free hosting / publishing platform (data/free_hosts.txt)", flag("the referring site is on a free hosting platform"))
FEATURES.add("dom_private_suffix", "1 if the registrable domain sits on a Public Suffix List private suffix (platform where anyone can publish)", flag("the referring site is a user site on a shared platform"))
FEATURES.add("dom_spam_terms", "spam-lexicon terms inside the host name (gambling, pharma, adult, loans, essays, crypto, SEO)", above(0, "the domain name contains spam words ({:.0f})"))

_VOWELS = np.frombuffer(b"aeiouy", dtype=np.uint8)
_WIDTH = 64  # DNS labels are at most 63 octets


def _label_stats(labels: list[str]) -> dict[str, np.ndarray]:
    """Character statistics of ASCII labels via a (n, 64) byte matrix: no per-label Python."""
    n = len(labels)
    mat = np.array([s.encode("ascii", "replace")[:_WIDTH] for s in labels], dtype=f"S{_WIDTH}")
    m = mat.view(np.uint8).reshape(n, _WIDTH) if n else np.zeros((0, _WIDTH), np.uint8)
    valid = m != 0
    length = valid.sum(axis=1).astype(float)
    digit = (m >= 48) & (m <= 57)
    alpha = (m >= 97) & (m <= 122)
    vowel = np.isin(m, _VOWELS)
    cons = alpha & ~vowel
    letters = alpha.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        vowel_ratio = np.where(letters > 0, vowel.sum(axis=1) / np.maximum(letters, 1), np.nan)
        digit_ratio = np.where(length > 0, digit.sum(axis=1) / np.maximum(length, 1), np.nan)
    run = np.zeros(n)
    max_run = np.zeros(n)
    for j in range(_WIDTH):
        run = (run + 1) * cons[:, j]
        np.maximum(max_run, run, out=max_run)
    # Entropy from sparse (row, byte) counts: sorting 1 key per character, not an (n, 256) table.
    rows = np.repeat(np.arange(n), valid.sum(axis=1))
    keys = rows * 256 + m[valid].astype(np.int64)
    uk, cnt = np.unique(keys, return_counts=True)
    r = uk // 256
    p = cnt / length[r]
    entropy = np.bincount(r, weights=-p * np.log2(p), minlength=n)
    random_looking = ((max_run >= 5) | ((length >= 8) & (vowel_ratio < 0.15))).astype(float)
    return {
        "dom_label_length": length,
        "dom_digits": digit.sum(axis=1).astype(float),
        "dom_digit_ratio": digit_ratio,
        "dom_hyphens": (m == 45).sum(axis=1).astype(float),
        "dom_vowel_ratio": vowel_ratio,
        "dom_entropy": entropy,
        "dom_max_consonant_run": max_run,
        "dom_random_looking": random_looking,
    }


def host_spam_terms(hosts: pa.Array) -> np.ndarray:
    """Spam-lexicon hits in host names: long terms as substrings, short ones as tokens."""
    terms = {t.replace(" ", "") for ts in categorised("spam_lexicon.txt").values() for t in ts}
    terms = {t for t in terms if t.isascii() and t.isalnum()}
    long_terms = sorted((t for t in terms if len(t) >= 4), key=len, reverse=True)
    short_terms = sorted(t for t in terms if len(t) < 4)
    hits = arrow_float(pc.count_substring_regex(hosts, "(?:" + "|".join(long_terms) + ")"))
    # Hosts are ASCII (punycode): split on non-letters so "bet-365" and "bet365" expose "bet".
    tokens = pc.replace_substring_regex(hosts, "[^a-z]+", "  ")
    pad = pa.scalar(" ", pa.large_string())
    tokens = pc.binary_join_element_wise(pad, tokens, pad, pa.scalar("", pa.large_string()))
    hits += arrow_float(pc.count_substring_regex(tokens, " (?:" + "|".join(short_terms) + ") "))
    return hits


def compute(ctx: Context) -> dict[str, np.ndarray]:
    codes, uniq = ctx.host_codes
    info = ctx.host_info
    is_ip = info["is_ip"].to_numpy(dtype=bool, na_value=False)
    # The registrable domain's first label is the name its owner chose, whatever the
    # suffix's length: acme-tools.co.uk -> acme-tools, name.blogspot.com -> name.
    domains = to_arrow(info["domain"].to_numpy(dtype=object))
    first = pc.fill_null(pc.extract_regex(domains, r"^(?P<l>[^.]*)").field("l"), "")
    labels = np.asarray(first.to_numpy(zero_copy_only=False), dtype=object)
    labels[is_ip] = ""
    # Subdomain levels, not counting a leading www / www2 / m.
    sub = pc.fill_null(to_arrow(info["subdomain"].to_numpy(dtype=object)), "")
    sub = pc.replace_substring_regex(sub, r"^(?:www\d*|m)(?:\.|$)", "")
    depth = np.where(arrow_float(pc.utf8_length(sub)) > 0, arrow_float(pc.count_substring(sub, ".")) + 1, 0.0)
    stats = _label_stats(labels)
    host_arr = to_arrow(uniq)
    out_u = {
        "dom_host_length": arrow_float(pc.utf8_length(host_arr)),
        **stats,
        "dom_subdomain_depth": depth,
        "dom_is_ip": is_ip.astype(float),
        "dom_is_idn": arrow_float(pc.match_substring(host_arr, "xn--")),
        "dom_free_host": host_suffix_in(uniq, free_hosts()),
        "dom_private_suffix": info["private_suffix"].to_numpy(dtype=float, na_value=np.nan),
        "dom_spam_terms": host_spam_terms(host_arr),
    }
    lexical = set(stats) | {"dom_subdomain_depth", "dom_spam_terms"}
    out = {}
    for f in FEATURES:
        v = np.asarray(out_u[f.name], dtype=float)
        if f.name in lexical:
            v = np.where(is_ip, np.nan, v)
        out[f.name] = take(v, codes)
    return out
