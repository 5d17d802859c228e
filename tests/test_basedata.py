"""The labelled base data: list reading, label hygiene, weights, splits, the shipped-data rules."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toxlink import basedata as B
from toxlink import schema as S

ROOT = Path(__file__).resolve().parent.parent
SPAM = next(s for s in B.SOURCES if s.name == "spamdexing")
SPAM2 = next(s for s in B.SOURCES if s.name == "seo-networks")
CLEAN = next(s for s in B.SOURCES if s.name == "smallweb-blogs")
DOTGOV = next(s for s in B.SOURCES if s.name == "dotgov")


@pytest.fixture
def lists(tmp_path):
    """Four tiny lists in the published formats (plain hosts; .gov CSV with a header)."""
    (tmp_path / SPAM.file).write_text("www.casino-win.xyz\nhacked.uni-example.edu.pl\nshared.com\ngithub.com\n"
                                      "bad-seo.fr\nnot a host\n")
    (tmp_path / SPAM2.file).write_text("bad-seo.fr\nnetlinking-blog.fr\n")
    (tmp_path / CLEAN.file).write_text("janes.blog\nnotes.janes.blog\nshared.com\nmedium.com\nname.github.io\n"
                                       "oldmaps.net\n")
    (tmp_path / DOTGOV.file).write_text("Domain name,Domain type\n" + "".join(f"town{i}.gov,City\n" for i in range(10)))
    return tmp_path


def ledger(lists, seed=0, cap=None):
    sources = (SPAM, SPAM2, CLEAN, dataclasses.replace(DOTGOV, cap=cap))
    return B.host_ledger(lists, seed=seed, sources=sources)


def status(led, entry):
    return led.loc[led["entry"] == entry, "status"].tolist()


def test_ledger_normalises_and_drops_with_reasons(lists):
    led = ledger(lists)
    assert led.loc[led["entry"] == "www.casino-win.xyz", "host"].item() == "casino-win.xyz"
    assert status(led, "shared.com") == ["listed on both sides", "listed on both sides"]
    assert status(led, "github.com") == ["platform root on a spam list"]
    assert status(led, "medium.com") == ["platform on a clean list"]
    assert status(led, "name.github.io") == ["kept"]  # a user site is its own registrable domain
    assert status(led, "not a host") == ["invalid host"]
    assert status(led, "bad-seo.fr") == ["kept", "duplicate"]  # first list in priority order keeps it
    # clean hosts keep their subdomain (real referring hosts have them); spam subdomains are noted
    assert status(led, "notes.janes.blog") == ["kept"]
    note = led.loc[led["entry"] == "hacked.uni-example.edu.pl", "note"].item()
    assert "institutional" in note


def test_missing_list_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        B.host_ledger(tmp_path, sources=(SPAM,))


def test_caps_are_seeded_samples_of_domains(lists):
    a, b, c = ledger(lists, 0, cap=4), ledger(lists, 0, cap=4), ledger(lists, 1, cap=4)
    kept = lambda led: sorted(led.loc[(led["source"] == "dotgov") & led["status"].eq("kept"), "host"])  # noqa: E731
    assert kept(a) == kept(b) and len(kept(a)) == 4
    assert kept(a) != kept(c)
    assert status(a, "town0.gov")[0] in ("kept", "over the source cap")


def test_host_rows_weigh_lists_equally_and_classes_half_half(lists):
    links = B.host_links(ledger(lists))
    assert list(links.columns) == list(S.COLUMNS) + list(B.EXTRA_COLUMNS)
    assert links[S.SOURCE_URL].str.fullmatch(r"https://[a-z0-9.-]+/").all()
    assert links[S.ANCHOR].isna().all()  # nothing but the host is known
    by_class = links.groupby(B.LABEL)[B.WEIGHT].sum()
    assert by_class[0] == pytest.approx(by_class[1])
    by_list = links.groupby([B.LABEL, B.LABEL_SOURCE])[B.WEIGHT].sum()
    assert by_list[1]["spamdexing"] == pytest.approx(by_list[1]["seo-networks"])
    assert by_list[0]["smallweb-blogs"] == pytest.approx(by_list[0]["dotgov"])
    assert links[B.WEIGHT].mean() == pytest.approx(1.0)


def test_assign_weights_rebalances_a_subset(lists):
    links = B.host_links(ledger(lists))
    sub = links[links[B.LABEL_SOURCE] != "seo-networks"]
    w = B.assign_weights(sub)
    assert w.mean() == pytest.approx(1.0)
    assert w[sub[B.LABEL] == 1].sum() == pytest.approx(w[sub[B.LABEL] == 0].sum())


def test_grouped_split_shares_no_group(lists):
    links = B.host_links(ledger(lists))
    train, test = B.grouped_split(links, test_size=0.3, seed=0)
    assert not set(train[B.GROUP]) & set(test[B.GROUP])
    assert len(train) + len(test) == len(links) and len(test) > 0


def test_dataset_hash_tells_empty_anchor_from_missing():
    a = S.conform(pd.DataFrame({S.SOURCE_URL: ["https://a.com/"], S.ANCHOR: [""]}))
    b = S.conform(pd.DataFrame({S.SOURCE_URL: ["https://a.com/"], S.ANCHOR: [None]}))
    assert B.dataset_hash(a) != B.dataset_hash(b)
    assert B.dataset_hash(a) == B.dataset_hash(a.copy())


def test_every_list_is_in_the_shared_folder(shared_dir):
    for s in B.SOURCES:
        assert (shared_dir / "data" / s.file).is_file(), s.file


def test_repository_keeps_no_copy_of_the_lists():
    assert not (ROOT / "data" / "labels").exists()
    shipped = {p.name for p in (ROOT / "data").rglob("*")} | {p.name for p in (ROOT / "models").rglob("*")}
    assert not shipped & {s.file for s in B.SOURCES}


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


def test_weights_need_a_share_for_every_source():
    frame = pd.DataFrame({B.LABEL: [0, 1], B.LABEL_SOURCE: ["a", "b"], B.GROUP: ["x", "y"]})
    with pytest.raises(KeyError, match="no weight share"):
        B.assign_weights(frame, shares={"a": 1.0})
    assert np.allclose(B.assign_weights(frame), [1.0, 1.0])
