"""What a referring site is, and which listed domain covers a host."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from toxlink.sites import covering_domains, is_covered, own_sites, site_of


def test_covering_domains_finds_the_host_or_its_nearest_listed_parent():
    domains = {"spam.com", "b.spam.co.uk", "co.uk", "x", ""}
    hosts = ["spam.com", "a.spam.com", "notspam.com", "spam.com.evil.net", "c.b.spam.co.uk", "spam.co.uk",
             "y.x", "a.", None, "other.org"]
    want = ["spam.com", "spam.com", None, None, "b.spam.co.uk", "co.uk", "x", "", None, None]
    for given in (hosts, pd.Series(hosts, dtype="string"), pd.Series(hosts, dtype=object),
                  pa.array(hosts, type=pa.string())):
        assert covering_domains(given, domains).to_pylist() == want
    assert is_covered(hosts, domains).tolist() == [w is not None for w in want]
    assert covering_domains(hosts, set()).to_pylist() == [None] * len(hosts)
    assert covering_domains([], domains).to_pylist() == []


def test_site_of_is_the_domain_except_on_free_hosts_where_the_platform_is_never_a_site():
    platforms = {"wordpress.com", "sites.google.com", "blogspot.com"}
    hosts = ["www.shop.example.co.uk", "www.foo.wordpress.com", "a.b.wordpress.com", "wordpress.com",
             "www.wordpress.com", "sites.google.com", "google.com", "x.blogspot.com", "10.0.0.1"]
    domains = ["example.co.uk", "wordpress.com", "wordpress.com", "wordpress.com", "wordpress.com",
               "google.com", "google.com", "x.blogspot.com", None]
    sites, platform = site_of(hosts, domains, platforms)
    assert sites.to_pylist() == ["example.co.uk", "foo.wordpress.com", "b.wordpress.com", "wordpress.com",
                                 "wordpress.com", "sites.google.com", "google.com", "x.blogspot.com", "10.0.0.1"]
    assert platform.tolist() == [False, False, False, True, True, True, False, False, False]


def test_own_sites_are_the_registrable_domains_of_the_targets():
    targets = pd.Series(["https://www.acme.co.uk/shop", None, "https://shop.acme.co.uk/", "https://x.blogspot.com/a"])
    assert own_sites(targets) == {"acme.co.uk", "x.blogspot.com"}
    assert own_sites(pd.Series([None], dtype="string")) == set()
