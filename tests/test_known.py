"""The user's lists of known spam and known clean sites: read, matched, shown as reasons."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toxlink
from toxlink import schema as S
from toxlink.cli import main
from toxlink.disavow import DisavowError
from toxlink.known import DEFAULT_LOG_ODDS, KnownList, list_evidence
from toxlink.policy import Policy

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"


def _logit(p):
    return np.log(p / (1 - p))


@pytest.fixture(scope="module")
def sample():
    links = toxlink.read_export(SAMPLE)
    predictor = toxlink.Predictor.load()
    return links, predictor, predictor.score(links)


def test_a_list_file_takes_hosts_domain_entries_and_urls(tmp_path):
    path = tmp_path / "agency-2025.txt"
    path.write_text("# disavowed for past clients\ndomain:Spam.COM\nwww.other.net\nhttps://third.org/page?x=1\n\n",
                    encoding="utf-8")
    known = KnownList.read(path, spam=True)
    assert known.name == "agency-2025" and known.spam
    # A leading "www." is dropped, as in a whitelist; a URL names its host.
    assert known.domains == {"spam.com", "other.net", "third.org"}


def test_a_bad_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("spam.com\nnot a host!\n", encoding="utf-8")
    with pytest.raises(DisavowError, match=r"bad\.txt.*line 2"):
        KnownList.read(path, spam=True)


def test_a_listed_host_and_its_subdomains_match_and_nothing_else():
    lists = [KnownList("mine", True, frozenset({"spam.com"}))]
    shift, said = list_evidence(pd.Series(["spam.com", "a.b.spam.com", "notspam.com", None], dtype="string"), lists)
    assert shift.tolist() == [DEFAULT_LOG_ODDS["spam"]] * 2 + [0.0, 0.0]
    assert said.to_pylist() == ["listed as spam on your list 'mine'"] * 2 + [None, None]


def test_two_lists_add_up_and_a_clean_list_subtracts():
    lists = [KnownList("a", True, frozenset({"x.com"})), KnownList("b", True, frozenset({"x.com"})),
             KnownList("ok", False, frozenset({"y.com"}))]
    shift, said = list_evidence(pd.Series(["x.com", "y.com"], dtype="string"), lists, {"spam": 1.5, "clean": -3.0})
    assert shift.tolist() == [3.0, -3.0]
    assert said.to_pylist() == ["listed as spam on your list 'a'; listed as spam on your list 'b'",
                                "listed as a site known to be fine on your list 'ok'"]


def test_scoring_moves_only_the_listed_hosts_by_the_stated_log_odds(sample):
    links, predictor, base = sample
    counts = base[S.HOST].value_counts()
    spam_host, clean_host = counts.index[0], counts.index[1]
    policy = Policy(known_lists=(KnownList("agency", True, frozenset({spam_host})),
                                 KnownList("checked", False, frozenset({clean_host}))))
    scored = toxlink.Predictor(predictor.bundle, policy=policy).score(links)
    amounts = {**DEFAULT_LOG_ODDS, **predictor.bundle.extra.get("list_evidence", {})}

    for host, kind in ((spam_host, "spam"), (clean_host, "clean")):
        at = (base[S.HOST] == host).to_numpy() & base[S.RISK].between(1e-4, 1 - 1e-4).to_numpy()
        assert at.any()
        moved = _logit(scored[S.RISK][at].to_numpy()) - _logit(base[S.RISK][at].to_numpy())
        np.testing.assert_allclose(moved, amounts[kind], atol=1e-6)
        assert scored[S.REASONS][at].str.startswith("listed as ").all()
    others = ~base[S.HOST].isin([spam_host, clean_host]).to_numpy()
    pd.testing.assert_series_equal(scored[S.RISK][others], base[S.RISK][others])
    pd.testing.assert_series_equal(scored[S.REASONS][others], base[S.REASONS][others])
    assert predictor.policy.known_lists == ()  # the caller's predictor is not changed


def test_the_model_metadata_sets_the_amount(sample):
    links, predictor, base = sample
    host = base[S.HOST].value_counts().index[0]
    bundle = replace(predictor.bundle, extra={**predictor.bundle.extra, "list_evidence": {"spam": 0.5}})
    scored = toxlink.Predictor(bundle, policy=Policy(known_lists=(KnownList("a", True, frozenset({host})),))).score(links)
    at = (base[S.HOST] == host).to_numpy() & base[S.RISK].between(1e-4, 1 - 1e-4).to_numpy()
    np.testing.assert_allclose(_logit(scored[S.RISK][at].to_numpy()) - _logit(base[S.RISK][at].to_numpy()), 0.5,
                               atol=1e-6)


def test_score_command_shows_the_list_first_in_links_and_domains(tmp_path, sample):
    _, _, base = sample
    # The riskiest site: its links are flagged with or without the list, so domains.csv has
    # top reasons for it whatever the shipped model thinks of the sample's other sites.
    site = base.groupby(S.DOMAIN)[S.RISK].mean().idxmax()
    (tmp_path / "agency.txt").write_text(f"domain:{site}\n", encoding="utf-8")
    assert main(["score", str(SAMPLE), "-o", str(tmp_path / "out"), "--known-spam", str(tmp_path / "agency.txt")]) == 0
    links = pd.read_csv(tmp_path / "out" / "links.csv", dtype=str, keep_default_na=False)
    listed = links[S.DOMAIN] == site
    assert links[S.REASONS][listed].str.startswith("listed as spam on your list 'agency'").all()
    assert not links[S.REASONS][~listed].str.contains("your list").any()
    domains = pd.read_csv(tmp_path / "out" / "domains.csv", dtype=str, keep_default_na=False)
    assert domains[S.TOP_REASONS][domains[S.DOMAIN] == site].iloc[0].startswith("listed as spam on your list 'agency'")
