"""The vectorised URL splitter and Public Suffix lookup in toxlink.urls give exactly what
the regex/tldextract path they replace gives (tldextract and RE2 are the references)."""

import ipaddress
import re

import pandas as pd
import pytest

from toxlink import urls

HOSTS = [
    "example.com", "www.bbc.co.uk", "co.uk", "uk", "name.blogspot.com", "blogspot.com", "a.b.github.io",
    "github.io", "x.y.ck", "www.ck", "foo.ck", "ck", "a.city.kawasaki.jp", "city.kawasaki.jp", "foo.bar.kawasaki.jp",
    "x.compute.amazonaws.com", "a.b.eu-west-1.compute.amazonaws.com", "x.unknowntld", "localhost", "a..b.com",
    "x_y.com", "-x.com", "1.2.3.4", "999.1.1.1", "1.2.3", "::1", "2001:db8::1", "xn--bcher-kva.de",
    "xn--e1afmkfd.xn--p1ai", "a.b.c.d.e.f.g.h.com", "x.s3.amazonaws.com", "foo.bar.nom.br", "x.platform.sh",
    "ex ample.com", "a.b.ignored.wc.psl.hrsn.dev", "x.wc.psl.hrsn.dev", "shop.acme-tools.co.uk",
]


def _reference(host: str) -> tuple:
    """_host_parts as it was: tldextract on every host."""
    try:
        ipaddress.ip_address(host)
        return host, "", "", True, False
    except ValueError:
        pass
    r = urls._EXTRACT(host)
    return r.top_domain_under_public_suffix or host, r.registry_suffix or "", r.subdomain, False, r.is_private


def _psl_hosts() -> list[str]:
    rules = sorted(urls._EXTRACT._get_tld_extractor().tlds_incl_private)
    out = []
    for rule in rules:
        if not rule.isascii():
            continue
        rule = rule.replace("*.", "wild.").lstrip("!")
        out += [rule, "a." + rule, "b.a." + rule]
    return out


@pytest.mark.parametrize("hosts", [HOSTS, _psl_hosts()], ids=["varied", "every-psl-rule"])
def test_host_table_matches_tldextract(hosts):
    table = urls.host_table(pd.Series(hosts, dtype="string"))
    want = pd.DataFrame([_reference(h) for h in pd.unique(pd.Series(hosts))],
                        columns=["domain", "suffix", "subdomain", "is_ip", "private_suffix"])
    assert list(table.index) == list(pd.unique(pd.Series(hosts)))
    assert table.reset_index(drop=True).equals(want)


def test_host_table_known_answers():
    t = urls.host_table(pd.Series(["name.blogspot.com", "foo.ck", "www.ck", "a.b.bbc.co.uk", "1.2.3.4"], dtype="string"))
    assert t.loc["name.blogspot.com", ["domain", "suffix", "private_suffix"]].tolist() == ["name.blogspot.com", "com", True]
    assert t.loc["foo.ck", "domain"] == "foo.ck" and t.loc["foo.ck", "suffix"] == "foo.ck"  # *.ck
    assert t.loc["www.ck", ["domain", "suffix"]].tolist() == ["www.ck", "ck"]  # !www.ck
    assert t.loc["a.b.bbc.co.uk", ["domain", "suffix", "subdomain"]].tolist() == ["bbc.co.uk", "co.uk", "a.b"]
    assert bool(t.loc["1.2.3.4", "is_ip"])


URLS = [
    "http://Example.COM./a?b#c", "example.com/page", "mailto:x@y.com", "javascript:void(0)",
    "https://user:pw@host.org:8080/p?q=1#f", "http://[::1]:80/x", "http://[::1", "http://[x]abc/y", "ftp://a.b/c",
    "  HTTP://Bücher.de/ä?ö ", "", None, "//host/x", "http://a@b@c/d", "http://host:/x", "http://host?x", "http://host#x",
    "http:/host", "host:8080/x", "a:b", "1.2.3.4", "http://xn--bcher-kva.de/", "\thttp://tab.com\n", "http://пример.рф/",
]


def _split_reference(series: pd.Series) -> pd.DataFrame:
    """The RE2 version of split_urls (scheme-less -> http, opaque schemes keep no host)."""
    rows = []
    for u in series:
        if u is None or pd.isna(u):
            rows.append((None, None, "", "", ""))
            continue
        s = u.strip()
        has_scheme = re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", s) is not None
        opaque = not has_scheme and re.match(urls._OPAQUE_RE, s) is not None
        m = re.match(urls._URL_RE, s if has_scheme else "http://" + s)
        host = (m["host"] or "").lower().rstrip(".").strip("[]")
        scheme = s.split(":", 1)[0].lower() if opaque else m["scheme"].lower()
        rows.append((scheme, None if opaque else host, m["port"] or "", m["path"] or "", m["query"] or ""))
    return pd.DataFrame(rows, columns=["scheme", "host", "port", "path", "query"], dtype="string")


def test_split_urls_matches_regex():
    s = pd.Series(URLS, dtype="string")
    assert urls.split_urls(s).equals(_split_reference(s))
    assert urls.hosts_of(s).equals(urls.normalise_hosts(urls.split_urls(s)["host"]))


def test_with_hosts_domains():
    s = pd.Series(["https://Name.Blogspot.com/x", "http://a.b.bbc.co.uk", "mailto:x@y.z", None, "http://bücher.de"], dtype="string")
    hosts = urls.hosts_of(s)
    assert hosts.tolist()[:2] == ["name.blogspot.com", "a.b.bbc.co.uk"] and hosts.isna().tolist()[2:4] == [True, True]
    assert hosts.iloc[4] == "xn--bcher-kva.de"
    assert urls.domains_of(hosts).tolist()[:2] == ["name.blogspot.com", "bbc.co.uk"]
    assert urls.domains_of(hosts).iloc[4] == "xn--bcher-kva.de"
