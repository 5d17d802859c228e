"""label-next.csv: which referring domains to label next, and its round trip into `toxlink train`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toxlink import labelnext as N
from toxlink import schema as S

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"


def _domains(rows: list[tuple]) -> pd.DataFrame:
    """A domains.csv-like roll-up from ``(domain, max_risk, n_links[, top_reasons, whitelisted])`` rows."""
    out = []
    for r in rows:
        d, risk, n = r[:3]
        out.append({S.DOMAIN: d, S.MAX_RISK: risk, S.N_LINKS: n, S.TOP_REASONS: r[3] if len(r) > 3 else "",
                    S.WHITELISTED: r[4] if len(r) > 4 else False, S.PROTECTED: False})
    return pd.DataFrame(out)


def test_priority_prefers_uncertain_sites_with_many_links():
    thr = (0.7, 0.4)
    p = N.priority([0.7, 0.99, 0.01, 0.55, 0.7, np.nan], [1, 1, 1, 1, 50, 9], thr)
    assert p[0] > p[1] and p[0] > p[2]  # on a threshold beats sure either way
    assert p[4] > p[0]  # same risk, more links: a label covers more
    assert p[3] > p[1]  # between the thresholds is still uncertain
    assert p[5] == 0


def test_label_next_caps_networks_and_skips_decided_sites():
    words = ["casino", "poker", "slots", "jackpot", "roulette", "blackjack", "bingo", "lotto", "betting", "wager"]
    network = [(f"{w}-{7 * i + 11}.xyz", 0.6, 5) for i, w in enumerate(words)]  # one naming pattern: a-0.xyz
    others = [(d, 0.5 + 0.01 * i, 3) for i, d in enumerate(["garden.com", "recipes.org", "travelogue.net",
                                                             "mechanic.de", "violin.fr", "astronomy.io"])]
    decided = [("trusted-partner.org", 0.6, 40, "", True),  # whitelisted
               ("mylist.net", 0.6, 40, "listed as spam by my-spam; anchor text is commercial"),  # on a known list
               ("alreadydone.info", 0.6, 40),  # in the existing disavow file
               ("alreadydone1.info", 0.6, 40)]  # a name like one already labelled
    got = N.label_next(_domains(network + others + decided), (0.7, 0.4), rows=8, labelled=["alreadydone.info"])
    assert list(got.columns) == list(N.LABEL_NEXT_COLUMNS) and len(got) == 8
    assert (got["decision"] == "").all()
    assert got["domain"].str.endswith(".xyz").sum() == N.PER_PATTERN
    assert not set(got["domain"]) & {"trusted-partner.org", "mylist.net", "alreadydone.info", "alreadydone1.info"}
    # the five most uncertain of the others fill the rest (risk 0.5 is nearest the review threshold)
    assert set(got["domain"]) - {d for d, *_ in network} == {d for d, *_ in others[:-1]}
    pri = N.priority(got["risk"], got["links"], (0.7, 0.4))
    assert (np.diff(pri) <= 1e-12).all()  # best first


def test_label_next_caps_one_tld():
    rows = [(f"{w}.xyz", 0.7, 10) for w in ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]]
    rows += [("quiet.com", 0.2, 1), ("lonely.net", 0.1, 1)]
    got = N.label_next(_domains(rows), (0.7, 0.4), rows=5)
    assert got["domain"].str.endswith(".xyz").sum() == int(np.ceil(N.TLD_SHARE * 5))
    assert {"quiet.com", "lonely.net"} <= set(got["domain"])


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from toxlink import cli

    out = tmp_path_factory.mktemp("scored")
    assert cli.main(["score", str(SAMPLE), "-o", str(out), "--label-next", "30"]) == 0
    return out


def test_score_writes_label_next(scored):
    ask = pd.read_csv(scored / N.LABEL_NEXT_FILE, keep_default_na=False)
    domains = pd.read_csv(scored / "domains.csv", keep_default_na=False).set_index("domain")
    assert list(ask.columns) == list(N.LABEL_NEXT_COLUMNS) and 0 < len(ask) <= 30
    assert ask["domain"].is_unique and (ask["decision"] == "").all()
    assert not domains.loc[ask["domain"], "whitelisted"].astype(str).str.lower().eq("true").any()
    assert (ask["links"].to_numpy() == domains.loc[ask["domain"], "n_links"].to_numpy()).all()
    # every example URL is a page of its own site
    from toxlink import urls

    hosts = urls.hosts_of(ask["example_url"])
    assert all(h == d or h.endswith("." + d) for h, d in zip(hosts, ask["domain"]))


def test_label_next_round_trips_into_train(scored, tmp_path):
    """Fill some decisions in the file as written; train reads exactly those, blank rows nothing."""
    from toxlink.exports import read_export
    from toxlink.labels import label_links, read_labels
    from toxlink.urls import with_hosts

    lines = (scored / N.LABEL_NEXT_FILE).read_text(encoding="utf-8").splitlines()
    assert all(ln.endswith(',""') for ln in lines[1:])  # the empty decision cell, last
    filled = {1: "toxic", 2: "ok", 4: "toxic"}  # line numbers of the data rows
    edited = [ln[:-2] + f'"{filled[i]}"' if i in filled else ln for i, ln in enumerate(lines)]
    path = tmp_path / N.LABEL_NEXT_FILE
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    ask = pd.read_csv(scored / N.LABEL_NEXT_FILE, keep_default_na=False)
    table = read_labels(path)
    expect = {ask.at[i - 1, "domain"]: (1 if v == "toxic" else 0) for i, v in filled.items()}
    assert dict(zip(table["item"], table["label"])) == expect and (table["kind"] == "domain").all()
    links = with_hosts(read_export([SAMPLE]))
    lab = label_links(links, labels=path)
    assert lab.unmatched.empty
    n_expected = int(ask.loc[[i - 1 for i in filled], "links"].sum())
    assert lab.label.notna().sum() == n_expected
    for d, v in expect.items():
        host = links[S.HOST].astype("string").fillna("")
        of = (host == d) | host.str.endswith("." + d)
        assert set(lab.label[of.to_numpy()].dropna()) == {float(v)}


def test_label_next_is_an_output_stale_cleanup_covers(scored, tmp_path):
    from toxlink import cli
    from toxlink.engine import OUTPUT_FILES

    assert N.LABEL_NEXT_FILE in OUTPUT_FILES
    out = tmp_path / "out"
    assert cli.main(["score", str(SAMPLE), "-o", str(out), "--label-next", "5"]) == 0
    assert len(pd.read_csv(out / N.LABEL_NEXT_FILE)) == 5
    assert cli.main(["score", str(SAMPLE), "-o", str(out), "--label-next", "0"]) == 0
    assert not (out / N.LABEL_NEXT_FILE).exists()
