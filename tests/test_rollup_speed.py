"""The roll-up's fast paths against their simple definitions: sorted key sums, hashed
distinct (site, URL) pairs, the top-reasons scores and the chunk-local sentence keys."""

from __future__ import annotations

import gc
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toxlink import policy as P
from toxlink import schema as S
from toxlink.urls import domains_of, hosts_of

FAST = settings(max_examples=60, deadline=None)


@FAST
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 9)), max_size=60), st.integers(1, 4))
def test_sum_by_key_sums_per_distinct_key_ascending(pairs, n_parts):
    keys = np.array([k for k, _ in pairs], dtype=np.int64)
    counts = np.array([c for _, c in pairs], dtype=np.int64)
    want = Counter()
    for k, c in pairs:
        want[k] += c
    got_k, got_c = P._sum_by_key(keys, counts)
    assert got_k.tolist() == sorted(want) and got_c.tolist() == [want[k] for k in sorted(want)]
    ones_k, ones_c = P._sum_by_key(keys)
    assert dict(zip(ones_k.tolist(), ones_c.tolist())) == Counter(keys.tolist())
    # partials summed on their own, then together (what _reduce does), give the same
    parts = [P._sum_by_key(k, c) for k, c in zip(np.array_split(keys, n_parts), np.array_split(counts, n_parts))]
    merged = P._sum_by_key(np.concatenate([k for k, _ in parts]), np.concatenate([c for _, c in parts]))
    assert merged[0].tolist() == got_k.tolist() and merged[1].tolist() == got_c.tolist()


def _pairs(table: pa.Table) -> list[tuple[int, str]]:
    return list(zip(table["site"].to_pylist(), table["url"].to_pylist()))


URLS = st.sampled_from(["http://a.com/1", "http://a.com/2", "https://b.net/x", "http://a.com/1?q", "", None])


@FAST
@given(st.lists(st.tuples(st.integers(0, 3), URLS), max_size=40), st.booleans())
def test_distinct_urls_are_the_distinct_pairs_in_order_even_when_every_hash_collides(rows, collide):
    site = np.array([s for s, _ in rows], dtype=np.int64)
    urls = pa.array([u for _, u in rows], type=pa.large_string())
    want = list(dict.fromkeys((s, u) for s, u in rows if u is not None))
    if collide:  # every (site, URL) key alike: the text comparison must still tell them apart
        mix = P._mix64
        P._mix64 = lambda h: np.zeros(len(h), dtype=np.uint64)
        try:
            got = P._url_table(site, urls)
        finally:
            P._mix64 = mix
    else:
        got = P._url_table(site, urls)
    assert _pairs(got) == want
    # re-reducing partial tables (a chunk's pairs appear again later) keeps the first of each
    again = P._distinct_urls(pa.concat_tables([got, P._url_table(site[::-1].copy(), urls.take(pa.array(np.arange(len(rows))[::-1].copy())))]))
    assert _pairs(again) == list(dict.fromkeys(want + [(s, u) for s, u in reversed(rows) if u is not None]))


def _top_reasons_reference(sentences, keys, counts, n_sites, k=3):
    per = {}
    for key, n in zip(keys.tolist(), counts.tolist()):
        per.setdefault(key >> 32, []).append((-n, sentences[key & 0xFFFFFFFF]))
    return ["; ".join(text for _, text in sorted(per.get(s, []))[:k]) for s in range(n_sites)]


@FAST
@given(st.dictionaries(st.tuples(st.integers(0, 5), st.integers(0, 6)), st.integers(1, 4), max_size=40))
def test_top_reasons_are_the_most_frequent_then_alphabetical(pairs):
    sentences = ["beta", "alpha", "Zed", "gamma", "alpha two", "delta", "éclair"]
    keys = np.array([(s << 32) | t for s, t in pairs], dtype=np.int64)
    keys, counts = P._sum_by_key(keys, np.array(list(pairs.values()), dtype=np.int64))
    acc = P.RollupAccumulator()
    acc._sentences = list(sentences)
    acc._reasons = [(keys, counts)]
    want = _top_reasons_reference(sentences, keys, counts, 7)
    assert acc._top_reasons(7).to_pylist() == want
    limit = P._SCORE_LIMIT
    P._SCORE_LIMIT = 10  # counts "too large": ranked first, same result
    try:
        assert acc._top_reasons(7).to_pylist() == want
    finally:
        P._SCORE_LIMIT = limit
    assert acc._reasons[0][1].tolist() == counts.tolist()  # the totals are not consumed


PAIRS = st.dictionaries(st.tuples(st.integers(0, 9), st.integers(0, 6)), st.integers(1, 4), max_size=25)


@FAST
@given(st.lists(PAIRS, min_size=1, max_size=4), st.integers(1, 4), st.booleans())
def test_top_reasons_are_the_same_from_overlapping_runs_read_a_block_of_sites_at_a_time(
        tmp_path_factory, runs, block, spill):
    # Runs of counts that may share pairs (as chunk partials do), some of them spilled:
    # finish() sums them a block of sites at a time.
    sentences = ["beta", "alpha", "Zed", "gamma", "alpha two", "delta", "éclair"]
    acc = P.RollupAccumulator(spill_dir=tmp_path_factory.mktemp("spill") if spill else None)
    acc._sentences = list(sentences)
    total = Counter()
    acc._reasons = []
    for i, run in enumerate(runs):
        total.update({(s << 32) | t: n for (s, t), n in run.items()})
        keys = np.array([(s << 32) | t for s, t in run], dtype=np.int64)
        keys, counts = P._sum_by_key(keys, np.array(list(run.values()), dtype=np.int64))
        acc._reasons.append(acc._keep_pairs((keys, counts)) if i % 2 else (keys, counts))
    assert any(isinstance(r, P._Spilled) for r in acc._reasons) == (spill and len(runs) > 1)
    keys = np.array(sorted(total), dtype=np.int64)
    want = _top_reasons_reference(sentences, keys, np.array([total[k] for k in keys.tolist()], dtype=np.int64), 11)
    old = P._SITE_BLOCK
    P._SITE_BLOCK = block
    try:
        assert acc._top_reasons(11).to_pylist() == want
    finally:
        P._SITE_BLOCK = old


def _links(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hosts = np.array(["a.com", "www.a.com", "b.net", "x.wordpress.com", "wordpress.com", "c.org", "d.co.uk"])
    sentences = np.array(["few links", "spam words", "new domain", "page title shared", "many outbound links"])
    url = pd.Series([f"http://{h}/p{i % 5}" for i, h in enumerate(hosts[rng.integers(0, len(hosts), n)])], dtype="string")
    risk = rng.random(n)
    band = np.where(risk >= 0.7, "toxic", np.where(risk >= 0.4, "review", "ok"))
    reasons = ["; ".join(sentences[rng.integers(0, len(sentences), rng.integers(0, 4))]) for _ in range(n)]
    frame = pd.DataFrame({S.SOURCE_URL: url, S.RISK: risk, S.BAND: band, S.REASONS: pd.Series(reasons, dtype="string"),
                          S.DUPLICATE_OF: pd.Series([None] * n, dtype="string"),
                          S.ROW_ISSUE: pd.Series([None] * n, dtype="string")})
    frame[S.HOST] = hosts_of(frame[S.SOURCE_URL])
    frame[S.DOMAIN] = domains_of(frame[S.HOST])
    return frame


def test_chunk_local_and_global_sentence_keys_give_the_same_roll_up(monkeypatch):
    links = _links(400)

    def roll_up():
        acc = P.RollupAccumulator()
        for part in np.array_split(np.arange(len(links)), 5):
            acc.update(links.iloc[part])
        return acc.finish()

    local = roll_up()
    monkeypatch.setattr(P, "_LOCAL_KEY_LIMIT", 0)  # every chunk on int64 (site, sentence) keys
    pd.testing.assert_frame_equal(roll_up(), local, check_exact=True)
    assert (local[P.TOP_REASONS] != "").sum() == len(local)


def test_finish_leaves_the_garbage_collector_as_it_found_it():
    acc = P.RollupAccumulator().update(_links(50))
    assert gc.isenabled()
    acc.finish()
    assert gc.isenabled()
    gc.disable()
    try:
        acc.finish()
        assert not gc.isenabled()
    finally:
        gc.enable()
    entries = acc.finish()[P.DISAVOW_ENTRIES].tolist()
    assert len({id(e) for e in entries}) == len(entries)  # a list of its own per site


@pytest.mark.parametrize("dtype", ["string", object])
def test_domains_that_are_not_strings_fall_back_to_the_host(dtype):
    links = _links(30)
    links[S.DOMAIN] = pd.Series([None if i % 3 == 0 else d for i, d in enumerate(links[S.DOMAIN])], dtype=dtype)
    got = P.recommend_domains(links)
    first_domain = {}
    for h, d in zip(links[S.HOST], links[S.DOMAIN]):
        first_domain.setdefault(h, d)
    platforms = P.Policy().platforms()
    hosts = list(first_domain)
    want_sites = set(P.site_of(hosts, [d if isinstance(d, str) else h for h, d in first_domain.items()],
                               platforms)[0].to_pylist())
    assert set(got[P.ROLLUP_DOMAIN]) == want_sites
