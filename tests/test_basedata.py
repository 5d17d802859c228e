"""The labelled base dataset: determinism, splits, weights, label hygiene, simulation flags."""

from __future__ import annotations

import ast
import builtins
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toxlink import basedata as B
from toxlink import schema as S
from toxlink import urls

ROOT = Path(__file__).resolve().parent.parent
ATTRIBUTES = [c for c in S.COLUMNS if c not in set(S.PROVENANCE) | {S.SOURCE_URL}]


@pytest.fixture(scope="module")
def ledger():
    # Built under a tripwire: the package must read its lists from data/, never ../shared.
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if "shared" in Path(str(file)).resolve().parts:
            raise AssertionError(f"package read {file}")
        return real_open(file, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(builtins, "open", guarded)
        return B.host_ledger(seed=0)


@pytest.fixture(scope="module")
def full(ledger):
    return B.build_base_links(seed=0, ledger=ledger)


def test_same_seed_same_frame_and_hash(full):
    again = B.build_base_links(seed=0)  # rebuilt from the files, ledger included
    pd.testing.assert_frame_equal(full, again)
    assert B.dataset_hash(full) == B.dataset_hash(again)
    other = B.build_base_links(seed=1)
    assert B.dataset_hash(other) != B.dataset_hash(full)


def test_frame_has_canonical_then_extra_columns(full):
    assert list(full.columns) == list(S.COLUMNS) + list(B.EXTRA_COLUMNS)
    for c in S.COLUMNS:
        assert str(full[c].dtype) == S.DTYPES[c], c
    assert set(full[B.LABEL].unique()) == {0, 1}
    assert full[B.LABEL_SOURCE].isin(B.SOURCE_NAMES).all()


def test_dataset_hash_tells_empty_anchor_from_missing():
    a = S.conform(pd.DataFrame({S.SOURCE_URL: ["https://a.com/"], S.ANCHOR: [""]}))
    b = S.conform(pd.DataFrame({S.SOURCE_URL: ["https://a.com/"], S.ANCHOR: [pd.NA]}))
    assert B.dataset_hash(a) != B.dataset_hash(b)
    assert B.dataset_hash(a) == B.dataset_hash(a.copy())


def test_grouped_split_shares_no_group_and_covers_every_source(full):
    train, test = B.grouped_split(full, test_size=0.25, seed=3)
    assert not set(train[B.GROUP]) & set(test[B.GROUP])
    assert len(train) + len(test) == len(full)
    assert set(test[B.LABEL_SOURCE]) == set(B.SOURCE_NAMES)
    frac = test.groupby(B.LABEL_SOURCE)[B.GROUP].nunique() / full.groupby(B.LABEL_SOURCE)[B.GROUP].nunique()
    assert frac.between(0.2, 0.3).all(), frac
    # deterministic
    train2, _ = B.grouped_split(full, test_size=0.25, seed=3)
    assert train.index.equals(train2.index)


def test_grouped_split_keeps_a_shared_group_on_one_side():
    # One registrable domain with rows from two lists must not straddle the split.
    frame = pd.DataFrame(
        {
            B.LABEL_SOURCE: ["awesome-selfhosted", "wikipedia-cited"] * 10 + ["dotgov"] * 4,
            B.GROUP: ["same.org"] * 20 + ["a.gov", "b.gov", "c.gov", "d.gov"],
            B.LABEL: [0] * 24,
        }
    )
    for seed in range(5):
        train, test = B.grouped_split(frame, test_size=0.5, seed=seed)
        assert not set(train[B.GROUP]) & set(test[B.GROUP])


def test_source_split_trains_on_one_spam_list_and_tests_on_the_other(full):
    train, test = B.source_split(full, ["matomo-referrer-spam"], ["spamdexing"], test_size=0.3, seed=0)
    assert set(train.loc[train[B.LABEL].eq(1), B.LABEL_SOURCE]) == {"matomo-referrer-spam"}
    assert set(test.loc[test[B.LABEL].eq(1), B.LABEL_SOURCE]) == {"spamdexing"}
    assert not set(train[B.GROUP]) & set(test[B.GROUP])
    clean_sources = {"awesome-selfhosted", "wikipedia-cited", "universities", "dotgov"}
    assert set(train.loc[train[B.LABEL].eq(0), B.LABEL_SOURCE]) == clean_sources
    assert set(test.loc[test[B.LABEL].eq(0), B.LABEL_SOURCE]) == clean_sources
    assert (full[B.LABEL_SOURCE].eq("spamdexing")).sum() == test[B.LABEL].sum()
    with pytest.raises(ValueError):
        B.source_split(full, ["spamdexing"], ["spamdexing"])
    with pytest.raises(KeyError):
        B.source_split(full, ["no-such-list"], ["spamdexing"])


def test_source_split_drops_test_rows_of_a_group_trained_on():
    frame = pd.DataFrame(
        {
            B.LABEL_SOURCE: ["matomo-referrer-spam", "spamdexing", "spamdexing", "dotgov", "dotgov"],
            B.GROUP: ["x.ru", "x.ru", "y.de", "a.gov", "b.gov"],
            B.LABEL: [1, 1, 1, 0, 0],
        }
    )
    train, test = B.source_split(frame, ["matomo-referrer-spam"], ["spamdexing"], test_size=0.5)
    assert "x.ru" not in set(test[B.GROUP])
    assert set(test.loc[test[B.LABEL].eq(1), B.GROUP]) == {"y.de"}
    assert not set(train[B.GROUP]) & set(test[B.GROUP])


def test_weights_follow_documented_shares(full):
    counts = B.source_counts(full)
    shares = {s.name: s.share for s in B.SOURCES}
    for src, row in counts.iterrows():
        assert row["class_weight_share"] == pytest.approx(shares[src], rel=1e-9)
    by_class = full.groupby(B.LABEL)[B.WEIGHT].sum()
    assert by_class[0] == pytest.approx(by_class[1])
    assert full[B.WEIGHT].mean() == pytest.approx(1.0)
    # Inside a source every registrable domain weighs the same, however many rows it has.
    per_group = full.groupby([B.LABEL_SOURCE, B.GROUP])[B.WEIGHT].sum()
    spread = per_group.groupby(level=0).agg(lambda s: s.max() / s.min())
    assert np.allclose(spread.to_numpy(), 1.0)


def test_assign_weights_rebalances_a_subset(full):
    train, _ = B.source_split(full, ["matomo-referrer-spam"], ["spamdexing"])
    w = B.assign_weights(train)
    spam = train[B.LABEL].eq(1)
    assert w[spam].sum() == pytest.approx(w[~spam].sum())
    # spamdexing is absent: matomo carries the whole spam class
    assert w[spam].sum() == pytest.approx(len(train) / 2)


def test_caps_and_institutional_share(full):
    counts = B.source_counts(full)
    for s in B.SOURCES:
        if s.cap is not None:
            assert counts.loc[s.name, "groups"] <= s.cap
    audit = B.shortcut_audit(full)
    assert audit["institutional_share_of_clean_weight"] < 0.2
    # www. is added independently of the label
    assert abs(audit["www_share"]["spam"] - audit["www_share"]["clean"]) < 0.05


def test_no_host_or_domain_labelled_both_ways(full):
    host = urls.hosts_of(full[S.SOURCE_URL]).str.replace(r"^www\.", "", regex=True)
    assert host.notna().all()
    assert full.groupby(host)[B.LABEL].nunique().max() == 1
    assert full.groupby(B.GROUP)[B.LABEL].nunique().max() == 1


def test_noise_report_on_known_entries(ledger):
    report = B.noise_report(ledger)
    assert report["listed_on_both_sides"] == ["ifmo.ru"]  # research.ifmo.ru is on the spam list
    assert "tsatu.edu.ua" in report["institutional_spam"]
    assert "research.ifmo.ru" not in report["subdomain_spam"]  # dropped, not kept
    assert report["entries"]["matomo-referrer-spam"] == 2347
    assert report["entries"]["dotgov"] == 16539
    status = ledger.set_index(["source", "entry"])["status"]
    assert status[("awesome-selfhosted", "github.com")] == "platform on a clean list"
    assert status[("wikipedia-cited", "sites.google.com")] == "platform on a clean list"
    assert status[("awesome-selfhosted", "0xerr0r.github.io")] == "kept"  # a specific user site
    assert status[("matomo-referrer-spam", "ucoz.ru")] == "platform root on a spam list"
    kept = ledger[ledger["status"].eq("kept")]
    assert kept.loc[kept["source"].eq("wikipedia-cited"), "host"].eq("wikipedia.org").sum() == 1
    assert not kept.loc[kept["label"].eq(0), "host"].str.startswith("www.").any()


def test_real_rows_are_root_urls_with_every_attribute_missing(full):
    real = full[~full[B.SIMULATED]]
    assert real[S.SOURCE_URL].str.fullmatch(r"https://[^/]+/").all()
    assert real[ATTRIBUTES].isna().all().all()
    assert real.groupby(B.GROUP).size().max() <= 3  # a spam domain may list a few hosts


def test_simulated_rows_are_flagged_and_never_carry_vendor_verdicts(full):
    sim = full[full[B.SIMULATED]]
    assert len(sim) > 0
    assert sim[S.ANCHOR].notna().all() and sim[S.NOFOLLOW].notna().all() and sim[S.FIRST_SEEN].notna().all()
    assert full[[S.SPAM_SCORE, S.VENDOR_SPAM]].isna().all().all()
    # Every simulated link belongs to a host that also has its real row.
    real_hosts = set(urls.hosts_of(full.loc[~full[B.SIMULATED], S.SOURCE_URL]))
    assert set(urls.hosts_of(sim[S.SOURCE_URL])) <= real_hosts


def test_link_count_per_host_does_not_depend_on_the_label(full):
    rows = full.groupby([B.GROUP, S.SOURCE_ROW, S.SOURCE_FILE]).agg(label=(B.LABEL, "first"), sim=(B.SIMULATED, "sum"))
    frac = rows["sim"].gt(0).groupby(rows["label"]).mean()
    mean_k = rows.loc[rows["sim"].gt(0), "sim"].groupby(rows["label"]).mean()
    assert abs(frac[0] - frac[1]) < 0.05
    assert abs(mean_k[0] - mean_k[1]) < 0.4


def test_domain_view_has_only_real_rows(ledger):
    dom = B.build_base_links(seed=0, simulate=False, ledger=ledger)
    assert not dom[B.SIMULATED].any()
    assert dom[ATTRIBUTES].isna().all().all()
    by_class = dom.groupby(B.LABEL)[B.WEIGHT].sum()
    assert by_class[0] == pytest.approx(by_class[1])
    assert len(dom) == sum(B.noise_report(ledger)["kept"].values())  # one row per kept host


def test_masked_view_removes_simulated_attributes(full):
    masked = B.mask_simulated(full)
    sim = full[B.SIMULATED].to_numpy()
    assert masked.shape == full.shape
    assert masked.loc[sim, ATTRIBUTES].isna().all().all()
    pd.testing.assert_frame_equal(masked[~sim], full[~sim])
    assert masked[S.SOURCE_URL].equals(full[S.SOURCE_URL])
    for c in S.COLUMNS:
        assert masked[c].dtype == full[c].dtype


def test_bundled_lists_are_the_published_copies(shared_dir):
    for s in B.SOURCES:
        ours = (ROOT / "data" / "labels" / s.file).read_bytes()
        theirs = (shared_dir / "data" / s.file).read_bytes()
        assert hashlib.sha256(ours).digest() == hashlib.sha256(theirs).digest(), s.file


def _non_doc_strings(tree):
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node


def test_package_code_never_names_the_shared_folder():
    path_re = re.compile(r"(^|[/\\.])shared([/\\]|$)")
    offenders = []
    for py in sorted((ROOT / "toxlink").rglob("*.py")):
        tree = ast.parse(py.read_text(encoding="utf-8"))
        for node in _non_doc_strings(tree):
            if path_re.search(node.value):
                offenders.append(f"{py.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id.upper() == "SHARED":
                offenders.append(f"{py.relative_to(ROOT)}:{node.lineno}: name {node.id}")
    assert not offenders, offenders
