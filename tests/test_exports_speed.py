"""The reader's fast paths give what the simple paths give: row issues and hosts from one URL
split (urls._issues_and_hosts), hosts handed from the reader to with_hosts, the word hash of
the duplicate keys, and the UTF-16 decoding shortcut."""

import codecs

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toxlink import exports as E
from toxlink import schema as S
from toxlink import urls

ODD_URLS = [
    "HTTP://EXAMPLE.COM", "https://example.com.:80/x", "https://xn--bcher-kva.example/", "mailto:x@y.com",
    "javascript:void(0)", "Mailto:a@b", "HTTPS://a.b/", "httpx://a.b/", "http2://a.b/", "hTTp://a.b", "https:",
    "https://user:pw@host.org:8080/p?q=1#f", "http://[::1]:80/x", "http://[::1", "http://[x]abc/y", "http://[zz::1]/",
    "ftp://a.b/c", "  HTTP://Bücher.de/ä?ö ", "", "   ", None, "//host/x", "http://a@b@c/d", "http://host:/x",
    "http://.a.com/", "http://a..b.com/", "http://a.b.com../", "http:///x", "http://ex ample.com/", "http://a_b.com/",
    "http://1.2.3.4/", "http://" + "a" * 250 + ".com/", "https://e.com/" + "p" * 2100, "https://e.com/" + "é" * 1100,
    "https://e.com/" + "é" * 1020, "verylongscheme+x://a.b/", "verylongscheme:x", "a:b", "host:8080/x",
    "http://пример.рф/", "http://xn--.com/", "http://a.b.c.d.e.example.co.uk/", "https://e.co?x", "\thttp://tab.com\n",
    "http://host#x", "http://A.B.C/", "http://[2001:db8::1]/", "http://xn--a/x",
]
_ALPHABET = st.sampled_from(list("aZ09.-_:/?#@[]% é\tHTtpPsS") + ["http://", "https://", "mailto:", "xn--", "ü", "::"])
URL_TEXT = st.lists(_ALPHABET, max_size=14).map("".join)


def _check_issues_and_hosts(values):
    s = pd.Series(values, dtype="string")
    pd.testing.assert_series_equal(urls.url_issues(s), urls._url_issues_spec(s))
    issues, hosts = urls._issues_and_hosts(pa.array(s.array, type=pa.large_string()))
    assert hosts.to_pylist() == urls.hosts_of(s).astype(object).where(lambda x: x.notna(), None).tolist()


def test_issues_and_hosts_on_odd_urls():
    _check_issues_and_hosts(ODD_URLS)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), URL_TEXT), min_size=1, max_size=12))
def test_issues_and_hosts_agree_with_url_issues(values):
    _check_issues_and_hosts(values)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), URL_TEXT), min_size=1, max_size=12))
def test_split_urls_matches_regex_on_generated_urls(values):
    # the first-colon and first-bytes shortcuts of the splitter against the RE2 patterns
    from test_urls_fast import _split_reference

    s = pd.Series(values, dtype="string")
    assert urls.split_urls(s).equals(_split_reference(s))


def test_bad_hosts_matches_has_bad_host_chars():
    hosts = [".a.com", "a..b", "a.", "-a.com", "a_b.c", "[::1]", "::1", "2001:db8::1", "1:2", "a" * 254, "a" * 253,
             "ex ample.com", "x", "a.b.c", "xn--bcher-kva.de", "A.com", "a%b"]
    got = urls._bad_hosts(pa.array(hosts, pa.large_string()))
    assert got.tolist() == [urls._has_bad_host_chars(h) for h in hosts]


def _ahrefs(tmp_path, rows, name="a.csv"):
    header = "Referring page URL\tTarget URL\tAnchor\n"
    text = header + "".join(f"{u}\t{t}\t{a}\n" for u, t, a in rows)
    path = tmp_path / name
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    return path


def test_with_hosts_takes_the_readers_hosts_for_whole_and_sliced_chunks(tmp_path, monkeypatch):
    rows = [(f"http://h{i % 7}.Example.co.uk/p{i}", "https://t.com/", "a") for i in range(50)]
    rows += [("mailto:x@y", "https://t.com/", "b"), ("http://[::1]/", "https://t.com/", "c"), ("", "https://t.com/", "d")]
    path = _ahrefs(tmp_path, rows)
    want = []
    for chunk in E.iter_export(path, chunksize=1000):
        plain = chunk.copy()
        plain[S.SOURCE_URL] = plain[S.SOURCE_URL].astype(object).astype("string")  # new buffers: not recalled
        want.append(urls.with_hosts(plain))
    want = pd.concat(want, ignore_index=True)

    calls = []
    split = urls._hosts_arrow
    monkeypatch.setattr(urls, "_hosts_arrow", lambda u: calls.append(len(u)) or split(u))
    for chunksize in (1000, 7):
        got = pd.concat([urls.with_hosts(c) for c in E.iter_export(path, chunksize=chunksize)], ignore_index=True)
        pd.testing.assert_series_equal(got[S.HOST], want[S.HOST])
        pd.testing.assert_series_equal(got[S.DOMAIN], want[S.DOMAIN])
    assert calls == []  # every chunk's hosts came from the reader
    assert got[S.HOST].iloc[0] == "h0.example.co.uk" and got[S.DOMAIN].iloc[0] == "example.co.uk"
    assert got[S.HOST].iloc[-2] == "::1" and got[S.HOST].iloc[[-3, -1]].isna().all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=40))
def test_word_hash_separates_distinct_strings(values):
    arr = pa.array(values, pa.large_string())
    for distinct in (False, True):
        h = E._hash_text(arr, distinct=distinct)
        keys = ["\x00" if v is None else v for v in values]  # missing is hashed like "\x00"
        assert len(set(h.tolist())) == len(set(keys))
        first = {}
        for k, x in zip(keys, h.tolist()):
            assert first.setdefault(k, x) == x
    # a slice hashes like the same values on their own (offsets into a shared buffer)
    if len(values) > 2:
        assert (E._hash_text(arr.slice(1), False) == E._hash_text(pa.array(values[1:], pa.large_string()), False)).all()


def test_word_hash_depends_on_order_and_length():
    vals = ["abcdefgh12345678", "12345678abcdefgh", "abcdefgh", "abcdefgh\x00", "", "\x00", "a", "b" * 64]
    h = E._hash_text(pa.array(vals, pa.large_string()), distinct=False)
    assert len(set(h.tolist())) == len(vals)
    assert h.dtype == np.uint64


@pytest.mark.parametrize("text", ["plain ascii\tline\n" * 3, "ünïcødé\t€\n", "emoji 😀\tx\n", "a\tb\r\nc\td\r\n"])
def test_utf16_blocks_equal_the_codec(tmp_path, text, monkeypatch):
    monkeypatch.setattr(E, "_BLOCK_BYTES", 6)  # odd cuts: inside a character and a surrogate pair
    body = ("Referring page URL\tAnchor\n" + text * 5).encode("utf-16-le")
    path = tmp_path / "u.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + body)
    info = E.detect(path)
    assert b"".join(E._utf8_blocks(info)) == body.decode("utf-16-le").encode("utf-8")


def _plain_reference(h: str) -> bool:
    import re

    return (re.fullmatch(r"[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*", h) is not None and "xn--" not in h
            and re.fullmatch(r"[0-9.]+", h) is None)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(list("az09._-X:é") + ["xn--", ".."]), max_size=8).map("".join),
                min_size=1, max_size=10))
def test_plain_hosts_match_the_patterns(hosts):
    hosts += ["a.b", "1.2.3.4", "1.2.x", "xn--bcher-kva.de", "a.xn-", ".a", "a.", "a..b", "", "é.com", "a_b-c.d"]
    got = urls._plain_hosts(pa.array(hosts, pa.large_string()))
    assert got.tolist() == [_plain_reference(h) for h in hosts]


@pytest.mark.parametrize("block", [64, 66, 1 << 20])
def test_utf16_decode_error_after_ascii_blocks_names_the_line(tmp_path, monkeypatch, block):
    # ASCII pieces skip the codec; the line of a bad code unit after them is still right.
    monkeypatch.setattr(E, "_BLOCK_BYTES", block)
    rows = "".join(f"http://a{i}.com/\tx\n" for i in range(30))
    body = (("Referring page URL\tAnchor\n" + rows).encode("utf-16-le") + "http://b.com/".encode("utf-16-le")
            + b"\x00\xdc" + "\tx\n".encode("utf-16-le") + rows.encode("utf-16-le"))
    path = tmp_path / "bad.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + body)
    with pytest.raises(E.ExportError) as err:
        E.read_export(path)
    assert str(err.value) == (f"{path}, line 32: cannot be decoded as utf-16-le (bytes 00 dc); the file mixes "
                              "encodings or is damaged")
