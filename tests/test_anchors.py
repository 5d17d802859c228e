"""Anchor categories that know the site: its brand (given or derived from the target host)
and its money keywords, in links.csv and through the public API."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from toxlink import schema as S
from toxlink.anchors import (ANCHOR_CATEGORIES, BRANDED, EMPTY, EXACT_MATCH, GENERIC, NAKED_URL, OTHER,
                             PARTIAL_MATCH, AnchorTerms, anchor_categories, brand_tokens)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"
TARGET = "https://www.acme-tools.co.uk/shop/"


def _categories(anchors, terms=None, target=TARGET) -> list:
    anchors = pd.Series(anchors, dtype="string")
    targets = None if target is None else pd.Series([target] * len(anchors), dtype="string")
    return anchor_categories(anchors, targets, terms).tolist()


def test_each_category_by_its_rule():
    got = _categories(["", "   ", "https://acmetools.com/", "www.example.org", "Acme Tools", "ACME-TOOLS hammers",
                       "Click here!", "website", "cheap hammers", "casino", "read the best guide to garden sheds",
                       "garden hose reel", "Acme's history"])
    assert got == [EMPTY, EMPTY, NAKED_URL, NAKED_URL, BRANDED, BRANDED, GENERIC, GENERIC, EXACT_MATCH, EXACT_MATCH,
                   PARTIAL_MATCH, OTHER, OTHER]
    assert set(got) == set(ANCHOR_CATEGORIES)
    assert ANCHOR_CATEGORIES == ("branded", "naked_url", "generic", "exact_match", "partial_match", "other", "empty")


def test_a_missing_anchor_has_no_category_and_an_empty_one_is_empty():
    got = anchor_categories(pd.Series([None, "", "Acme Tools"], dtype="string"), pd.Series([TARGET] * 3), None)
    assert got.isna().tolist() == [True, False, False]
    assert got.iloc[1] == EMPTY and got.dtype == "string"
    assert anchor_categories(pd.Series([None, None], dtype="string")).isna().all()


def test_without_a_target_or_a_brand_nothing_is_branded():
    assert _categories(["Acme Tools"], target=None) == [OTHER]


def test_given_brands_replace_the_one_derived_from_the_host():
    terms = AnchorTerms(brands=("Hammer Hut",))
    assert _categories(["Hammer Hut", "hammerhut.com", "Acme Tools"], terms) == [BRANDED, NAKED_URL, OTHER]
    # Brands of one or two letters only count as a whole word: "chp" and "hpv" are not "HP".
    assert _categories(["HP printers", "chp report", "hpv study"], AnchorTerms(brands=("HP",))) == \
        [BRANDED, OTHER, OTHER]
    # A brand in a commercial anchor makes it branded; a URL stays a URL.
    assert _categories(["buy Acme Tools cheap", "https://acme-tools.co.uk/"]) == [BRANDED, NAKED_URL]


def test_money_keywords_give_exact_and_partial_matches():
    terms = AnchorTerms(money_keywords=("garden sheds", "hose reel"))
    got = _categories(["Garden Sheds", "garden-sheds!", "wooden garden sheds", "hose reel", "garden",
                       "sheds garden"], terms)
    assert got == [EXACT_MATCH, EXACT_MATCH, PARTIAL_MATCH, EXACT_MATCH, OTHER, OTHER]
    assert _categories(["wooden garden sheds"]) == [OTHER]  # not a money keyword without the list


def test_anchor_terms_are_cleaned_and_validated():
    terms = AnchorTerms(brands=[" Acme ", "", "Acme"], money_keywords=["dog food"])
    assert terms.brands == ("Acme",) and terms.money_keywords == ("dog food",)
    with pytest.raises(TypeError):
        AnchorTerms(brands="Acme")


def test_read_keywords_skips_comments_and_refuses_an_empty_list(tmp_path):
    path = tmp_path / "money.txt"
    path.write_text("# our money terms\ndog food\n\ncat toys  # spring campaign\nc# course\n", encoding="utf-8")
    assert AnchorTerms.read_keywords(path) == ("dog food", "cat toys", "c# course")
    path.write_text("# nothing yet\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="money.txt: no money keyword"):
        AnchorTerms.read_keywords(path)


def test_the_brand_of_a_host_without_a_public_suffix_is_its_name():
    targets = pd.Series(["https://www.pawsome-pets.example/contact/", "https://www.acme-tools.co.uk/shop", None, "x"])
    assert brand_tokens(targets).tolist()[:2] == ["pawsomepets", "acmetools"]
    assert brand_tokens(targets).isna().tolist()[2:] == [True, True]
    anchors = pd.Series(["Pawsome Pets", "Acme Tools", "Acme Tools", "x"])
    assert anchor_categories(anchors, targets).tolist()[:2] == [BRANDED, BRANDED]


def test_the_brand_of_a_site_on_a_platform_or_with_an_idn_name():
    targets = pd.Series(["https://pawsome-pets.myshopify.com/", "https://pawsomepets.blogspot.com/post",
                         "https://xn--bcher-kva.de/", "https://www.xn--bcher-kva.de/"])
    assert brand_tokens(targets).tolist() == ["pawsomepets", "pawsomepets", "bücher", "bücher"]
    anchors = pd.Series(["Pawsome Pets", "pawsome-pets blog", "Bücher", "BÜCHER online"])
    assert (anchor_categories(anchors, targets) == BRANDED).all()
    assert anchor_categories(pd.Series(["myshopify"]), targets.iloc[:1]).tolist() != [BRANDED]


def test_the_sample_s_brand_anchors_are_branded_without_being_told_the_brand():
    from toxlink import read_export

    sample = read_export(SAMPLE)
    says_brand = sample[S.ANCHOR].str.contains("Pawsome Pets", regex=False).fillna(False).to_numpy(bool)
    assert (sample[S.ANCHOR] == "Pawsome Pets").sum() == 71
    category = anchor_categories(sample[S.ANCHOR], sample[S.TARGET_URL])
    assert (category[says_brand] == BRANDED).all()
    assert category.notna().all()  # the Ahrefs export has an anchor on every row


def test_score_with_brand_and_money_keywords_on_the_sample(tmp_path):
    money = tmp_path / "money.txt"
    money.write_text("# Pawsome Pets' money keywords\ncat trees\n", encoding="utf-8")
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "toxlink.cli", "score", str(SAMPLE), "-o", str(out),
                        "--brand", "Pawsome Pets", "--brand", "Pawsome", "--money-keywords", str(money)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    links = pd.read_csv(out / "links.csv", dtype=str, keep_default_na=False)
    says_brand = links[S.ANCHOR].str.contains("Pawsome Pets", regex=False)
    assert says_brand.sum() >= 71 and (links.loc[says_brand, S.ANCHOR_CATEGORY] == BRANDED).all()
    assert set(links[S.ANCHOR_CATEGORY]) <= set(ANCHOR_CATEGORIES)
    # The money keyword is found where no brand is in the anchor.
    keyword = links[S.ANCHOR].str.lower().eq("cat trees")
    assert keyword.sum() == 5 and (links.loc[keyword, S.ANCHOR_CATEGORY] == EXACT_MATCH).all()
    # domains.csv: the facts the Ahrefs export has, as plain text; none it lacks.
    with open(out / "domains.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(row[c] for row in rows for c in (S.DOMAIN_RATING, S.FIRST_SEEN, S.LAST_SEEN, S.EXAMPLE_URL,
                                                         S.TARGET_PAGES, S.N_DOFOLLOW, S.N_NOFOLLOW, S.N_LOST))
    assert not any(row[c] for row in rows for c in (S.DOMAIN_AUTHORITY, S.TRUST_FLOW, S.LANGUAGES))
    assert sum(bool(row[S.TOP_ANCHORS]) for row in rows) > len(rows) / 2
    cells = [v for row in rows for v in row.values()]
    assert not [v for v in cells if v.startswith("[") or re.fullmatch(r"-?\d+\.\d{4,}", v)]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", row[S.FIRST_SEEN]) for row in rows)


def test_a_money_keywords_file_without_terms_is_a_user_error(tmp_path):
    money = tmp_path / "money.txt"
    money.write_text("# to do\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "toxlink.cli", "score", str(SAMPLE), "-o", str(tmp_path / "run"),
                        "--money-keywords", str(money)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "money.txt: no money keyword" in r.stderr
    assert not (tmp_path / "run" / "links.csv").exists()


def test_the_policy_s_anchor_terms_reach_the_scored_links_and_stay_the_caller_s():
    import toxlink
    from toxlink.policy import Policy

    links = S.conform(pd.DataFrame({S.SOURCE_URL: ["https://blog.example.org/a", "https://news.example.net/b"],
                                    S.TARGET_URL: [TARGET, TARGET], S.ANCHOR: ["Hammer Hut", "garden sheds"]}))
    brands = ["Hammer Hut"]
    policy = Policy(anchor_terms=AnchorTerms(brands=brands, money_keywords=("garden sheds",)))
    scored = toxlink.Predictor.load(policy=policy).score(links)
    assert scored[S.ANCHOR_CATEGORY].tolist() == [BRANDED, EXACT_MATCH]
    assert toxlink.Predictor.load().score(links)[S.ANCHOR_CATEGORY].tolist() == [OTHER, OTHER]
    assert brands == ["Hammer Hut"] and policy.anchor_terms.brands == ("Hammer Hut",)
