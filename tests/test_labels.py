"""User labels: file parsing, errors naming file/line, joining to links, precedence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toxlink import schema as S
from toxlink.labels import LabelError, label_links, read_labels


def _links(rows):
    """rows: (source_url, target_url) pairs -> canonical links table."""
    return S.conform(pd.DataFrame({S.SOURCE_URL: [r[0] for r in rows], S.TARGET_URL: [r[1] for r in rows]}))


LINKS = _links(
    [
        ("https://spam.example.com/a", "https://me.com/"),  # 0
        ("http://www.Casino-X.net/page?id=3", "https://me.com/shop"),  # 1
        ("https://good.org/post", "https://me.com/"),  # 2
        ("https://good.org/post", "https://me.com/shop"),  # 3 same page, other target
        ("https://blog.good.org/x", "https://me.com/"),  # 4 subdomain of good.org
        ("https://news.site.co.uk/story", "https://me.com/"),  # 5
        ("https://other.io/", "https://me.com/"),  # 6 never labelled
    ]
)


def write(tmp_path, text, name="labels.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_read_labels_header_and_values(tmp_path):
    p = write(
        tmp_path,
        "# my labels\nSource URL,Target URL,Domain,Label\n"
        "https://spam.example.com/a,,,toxic\n"
        ",,good.org,keep\n"
        "domain:Casino-X.net,,,disavow\n"
        "\n"
        "https://good.org/post,https://me.com/shop,,1\n"
        ",,https://www.site.co.uk/whatever,OK\n",
    )
    t = read_labels(p)
    assert t["kind"].tolist() == ["link", "domain", "domain", "link", "domain"]
    assert t["label"].tolist() == [1, 0, 1, 1, 0]
    assert t["line"].tolist() == [3, 4, 5, 7, 8]
    assert t["item"].tolist()[1:3] == ["good.org", "casino-x.net"]
    assert t["item"].iloc[4] == "www.site.co.uk"  # a URL in the domain column means its host
    assert t["target"].iloc[3] == "https://me.com/shop" and pd.isna(t["target"].iloc[0])


def test_read_labels_headerless_and_semicolons(tmp_path):
    t = read_labels(write(tmp_path, "example.com,toxic\nhttps://a.org/x,ok\ndomain:b.net,0\n"))
    assert t["kind"].tolist() == ["domain", "link", "domain"] and t["label"].tolist() == [1, 0, 0]
    t = read_labels(write(tmp_path, "url;label\nhttps://a.org/x;spam\n", "semi.csv"))
    assert t["label"].tolist() == [1]


@pytest.mark.parametrize(
    "text, line, match",
    [
        ("url,label\nhttps://a.org/,maybe\n", 2, "unknown label 'maybe'"),
        ("url,label\nhttps://a.org/,toxic\n,ok\n", 3, "neither a link nor a domain"),
        ("domain,label\nnot a domain!,toxic\n", 2, "not a domain"),
        ("url,label\njavascript:void(0),toxic\n", 2, "cannot use URL"),
        ("foo,bar,baz,qux\n1,2,3,4\n", 1, "no header"),
        ("page,label\nx,1\n", 1, "no link or domain column"),
    ],
)
def test_bad_label_files_name_file_and_line(tmp_path, text, line, match):
    p = write(tmp_path, text)
    with pytest.raises(LabelError, match=match) as e:
        read_labels(p)
    assert e.value.line == line
    assert str(e.value).startswith(f"{p}, line {line}: ")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(LabelError, match="not found"):
        read_labels(tmp_path / "nope.csv")
    with pytest.raises(LabelError, match="no labels"):
        read_labels(write(tmp_path, "# nothing\n\n"))
    (tmp_path / "latin1.csv").write_bytes("url,label\nhttps://caf\xe9.fr/,ok\n".encode("latin-1"))
    with pytest.raises(LabelError, match="not UTF-8"):
        read_labels(tmp_path / "latin1.csv")


def test_label_links_precedence_and_matching(tmp_path):
    p = write(
        tmp_path,
        "source_url,target_url,domain,label\n"
        "https://spam.example.com/a,,,toxic\n"  # link label, page only
        ",,good.org,ok\n"  # domain label: rows 2, 3, 4
        "http://good.org/post,https://me.com/shop,,toxic\n"  # link+target beats the domain label (row 3)
        ",,casino-x.net,toxic\n"  # covers www.casino-x.net (row 1)
        "https://never.seen/,,,toxic\n",  # matches nothing
    )
    r = label_links(LINKS, labels=p)
    assert r.label.tolist()[:5] == [1, 1, 0, 1, 0]
    assert np.isnan(r.label.iloc[5]) and np.isnan(r.label.iloc[6])
    assert r.origin.tolist()[:5] == ["link label", "domain label", "domain label", "link label", "domain label"]
    assert r.unmatched["line"].tolist() == [6]
    c = r.counts()
    assert (c["toxic"], c["ok"], c["unlabelled"], c["unmatched_label_rows"]) == (3, 2, 2, 1)


def test_most_specific_domain_label_wins(tmp_path):
    p = write(tmp_path, "domain,label\ngood.org,ok\nblog.good.org,toxic\n")
    r = label_links(LINKS, labels=p)
    assert r.label.iloc[2] == 0 and r.label.iloc[4] == 1


def test_disavow_and_whitelist(tmp_path):
    d = write(tmp_path, "# old file\ndomain:example.com\nhttp://good.org/post\nhttps://news.site.co.uk/story\n", "disavow.txt")
    wl = write(tmp_path, "site.co.uk\n", "whitelist.txt")
    r = label_links(LINKS, disavow=d, whitelist=wl)
    # row 0: domain:example.com covers spam.example.com; rows 2, 3: URL entry (scheme ignored)
    # row 5: disavowed URL but whitelisted domain -> ok (the whitelist wins)
    assert r.label.iloc[[0, 2, 3, 5]].tolist() == [1, 1, 1, 0]
    assert r.origin.iloc[5] == "whitelist" and r.origin.iloc[0] == "disavow file"
    assert r.label.iloc[[1, 4, 6]].isna().all()
    # explicit labels beat both
    lab = write(tmp_path, "url,label\nhttps://spam.example.com/a,ok\n")
    r = label_links(LINKS, labels=lab, disavow=d, whitelist=wl)
    assert r.label.iloc[0] == 0 and r.origin.iloc[0] == "link label"


def test_unusable_rows_are_never_labelled(tmp_path):
    links = LINKS.copy()
    links.loc[0, S.ROW_ISSUE] = "bad url"
    links.loc[3, S.DUPLICATE_OF] = "a.csv:2"
    r = label_links(links, labels=write(tmp_path, "domain,label\nexample.com,toxic\ngood.org,ok\n"))
    assert np.isnan(r.label.iloc[0]) and np.isnan(r.label.iloc[3])
    assert r.label.iloc[2] == 0
