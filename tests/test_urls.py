"""toxlink.urls: URL parts, hosts, registrable domains and the rules of url_issues."""

import urllib.parse

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toxlink import schema as S
from toxlink import urls


def test_host_table_known_answers():
    t = urls.host_table(pd.Series(["name.blogspot.com", "foo.ck", "www.ck", "a.b.bbc.co.uk", "1.2.3.4", "::1",
                                   "localhost"], dtype="string"))
    assert t.loc["name.blogspot.com", ["domain", "suffix", "private_suffix"]].tolist() == ["name.blogspot.com", "com", True]
    assert t.loc["foo.ck", "domain"] == "foo.ck" and t.loc["foo.ck", "suffix"] == "foo.ck"  # *.ck
    assert t.loc["www.ck", ["domain", "suffix"]].tolist() == ["www.ck", "ck"]  # !www.ck
    assert t.loc["a.b.bbc.co.uk", ["domain", "suffix", "subdomain"]].tolist() == ["bbc.co.uk", "co.uk", "a.b"]
    assert t.loc["1.2.3.4", ["domain", "suffix", "is_ip"]].tolist() == ["1.2.3.4", "", True]
    assert bool(t.loc["::1", "is_ip"]) and t.loc["localhost", "domain"] == "localhost"
    assert list(t.index) == ["name.blogspot.com", "foo.ck", "www.ck", "a.b.bbc.co.uk", "1.2.3.4", "::1", "localhost"]


def test_with_hosts_domains():
    s = pd.Series(["https://Name.Blogspot.com/x", "http://a.b.bbc.co.uk", "mailto:x@y.z", None, "http://bücher.de"], dtype="string")
    hosts = urls.hosts_of(s)
    assert hosts.tolist()[:2] == ["name.blogspot.com", "a.b.bbc.co.uk"] and hosts.isna().tolist()[2:4] == [True, True]
    assert hosts.iloc[4] == "xn--bcher-kva.de"
    assert urls.domains_of(hosts).tolist()[:2] == ["name.blogspot.com", "bbc.co.uk"]
    assert urls.domains_of(hosts).iloc[4] == "xn--bcher-kva.de"
    links = pd.DataFrame({S.SOURCE_URL: s.set_axis([5, 6, 7, 8, 9])})
    out = urls.with_hosts(links)
    assert list(links.columns) == [S.SOURCE_URL]  # the caller's frame is not changed
    pd.testing.assert_series_equal(out[S.HOST], hosts.set_axis(links.index), check_names=False)
    assert out[S.DOMAIN].tolist()[:2] == ["name.blogspot.com", "bbc.co.uk"] and urls.with_hosts(out) is out


def test_split_urls_odd_cases():
    s = pd.Series(["http://Example.COM./a?b#c", "example.com/page", "mailto:x@y.com", "https://user:pw@host.org:8080/p?q=1#f",
                   "http://[::1]:80/x", "http://[x]abc/y", "  HTTP://Bücher.de/ä?ö ", "", None, "//host/x",
                   "http://a@b@c/d", "host:8080/x", "a:b"], dtype="string")
    got = urls.split_urls(s).astype(object).where(lambda x: x.notna(), None).values.tolist()
    assert got == [
        ["http", "example.com", "", "/a", "b"],
        ["http", "example.com", "", "/page", ""],  # no scheme: read as http://
        ["mailto", None, "", "", ""],  # opaque: a scheme and no host
        ["https", "host.org", "8080", "/p", "q=1"],
        ["http", "::1", "80", "/x", ""],
        ["http", "x", "", "abc/y", ""],  # what follows a bracketed host belongs to the path
        ["http", "bücher.de", "", "/ä", "ö"],  # trimmed, lower-cased, not punycoded yet
        ["http", "", "", "", ""],
        [None, None, "", "", ""],  # missing
        ["http", "", "", "//host/x", ""],
        ["http", "b@c", "", "/d", ""],  # userinfo runs to the first "@"
        ["http", "host", "8080", "/x", ""],
        ["a", None, "b", "", ""],  # (an opaque URL keeps what it would have as http://a:b)
    ]
    assert list(urls.split_urls(s).columns) == ["scheme", "host", "port", "path", "query"]
    assert urls.url_parts_arrow(s.array)["path"].to_pylist() == urls.split_urls(s)["path"].tolist()


_LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
_PART = st.text(alphabet="abcXYZ019-._~%!$&'()*+,;=:@", max_size=10)


@st.composite
def _urls(draw):
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = ".".join(draw(st.lists(_LABEL, min_size=1, max_size=4)))
    host = draw(st.sampled_from([host, host.upper(), "[2001:db8::1]", "1.2.3.4"]))
    user = draw(st.sampled_from(["", "user@", "u:pw@"]))
    port = draw(st.sampled_from(["", ":80", ":8080", ":"]))
    path = "".join("/" + p for p in draw(st.lists(_PART, max_size=3)))
    query = draw(st.one_of(st.just(None), _PART))
    fragment = draw(st.one_of(st.just(None), _PART))
    url = f"{scheme}://{user}{host}{port}{path}"
    url += "" if query is None else "?" + query
    return url + ("" if fragment is None else "#" + fragment)


@settings(max_examples=200, deadline=None)
@given(st.lists(_urls(), min_size=1, max_size=10))
def test_split_urls_agrees_with_urllib(values):
    got = urls.split_urls(pd.Series(values, dtype="string"))
    for url, (_, row) in zip(values, got.iterrows()):
        want = urllib.parse.urlsplit(url)
        netloc = want.netloc.rpartition("@")[2]
        port = netloc.rpartition(":")[2] if ":" in netloc.rpartition("]")[2] else ""
        assert (row["scheme"], row["host"], row["port"]) == (want.scheme, want.hostname.rstrip("."), port), url
        assert (row["path"], row["query"]) == (want.path, want.query), url


_ALPHABET = st.sampled_from(list("aZ09.-_:/?#@[]% é\tHTtpPsS") + ["http://", "https://", "mailto:", "xn--", "ü", "::"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(_ALPHABET, max_size=14).map("".join)), min_size=1, max_size=12))
def test_hosts_of_is_the_normalised_host_of_split_urls(values):
    s = pd.Series(values, dtype="string")
    pd.testing.assert_series_equal(urls.hosts_of(s), urls.normalise_hosts(urls.split_urls(s)["host"]), check_names=False)


@pytest.mark.parametrize("url, reason", [
    ("HTTP://EXAMPLE.COM", None),
    ("https://example.com.:80/x", None),
    ("https://xn--bcher-kva.example/", None),
    ("https://ünï.example/", None),  # punycoded first
    ("https://a-b--c.example.com/", None),
    ("https://-casino-pills14.xyz/", "invalid host"),  # RFC 1123: a label neither starts
    ("https://casino-pills15-.xyz/", "invalid host"),  # nor ends with "-"
    ("https://-a.example.com/", "invalid host"),
    ("https://a.b-.example.com./", "invalid host"),
    ("https://a.-.example.com/", "invalid host"),
    ("https://" + "a" * 64 + ".com/", "invalid host"),  # a label longer than 63
    ("https://exa_mple.com/", None),
    ("http://1.2.3.4/", None),
    ("http://[2001:db8::1]/", None),
    ("https://e.co?x", None),
    ("example.com/x", None),  # read as http://
    ("https://" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + ".com/", None),
    ("https://a..b.com/", "invalid host"),
    ("http://.a.com/", "invalid host"),
    ("http://ex ample.com/", "invalid host"),
    ("http://[zz::1]/", "invalid host"),
    ("https://" + "a." * 127 + "com/", "invalid host"),  # longer than 253
    ("http:///x", "no host"),
    ("http://user@:80/", "no host"),
    ("mailto:x@y.com", "scheme mailto is not http(s)"),  # also has no host: the scheme wins
    ("FTP://e.com/", "scheme ftp is not http(s)"),
    ("https://e.com/" + "p" * 2100, "URL longer than 2048 characters"),
    ("ftp://e.com/" + "p" * 2100, "URL longer than 2048 characters"),  # length wins over the scheme
    ("", "missing URL"),
    (" \t", "missing URL"),
    (None, "missing URL"),
])
def test_url_issues_rules(url, reason):
    got = urls.url_issues(pd.Series([url, "https://ok.example.com/"], dtype="string", index=[3, 4]))
    assert list(got.index) == [3, 4] and pd.isna(got[4])
    assert (None if pd.isna(got[3]) else got[3]) == reason


@pytest.mark.parametrize("url, issue", [
    ("https://x.ru/page 117/", "the URL contains whitespace"),
    ("https://x.ru/p\tq/", "the URL contains whitespace"),
    ("https://x.ru/a\nb", "the URL contains whitespace"),
    ("https://[2001:db8::1]/p", "an IPv6 address as host cannot be disavowed"),
    ("https://com/", "the host is a public suffix, not a site"),
    ("https://co.uk/x", "the host is a public suffix, not a site"),
    ("-", "the host is not a public site name"),
    ("n/a", "the host is not a public site name"),
    ("https://localhost/x", "the host is not a public site name"),
    ("http://256.256.256.256/", "invalid host"),
    ("https://-casino-pills14.xyz/", "invalid host"),
    ("http://ex ample.com/", "invalid host"),
    ("http://192.0.2.1/p", None),
    ("https://x.blogspot.com/p", None),
    ("https://spam.example.co.uk/p q", "the URL contains whitespace"),
])
def test_referring_urls_a_disavow_file_cannot_name_are_issues(url, issue):
    got = urls.url_issues(pd.Series([url], dtype="string"), referring=True).iloc[0]
    assert (None if pd.isna(got) else got) == issue
    # a disavow file's own lines keep their rules (a bare word there is a warning, not an error)
    if issue and "IPv6" in issue:
        assert pd.isna(urls.url_issues(pd.Series([url], dtype="string")).iloc[0])
