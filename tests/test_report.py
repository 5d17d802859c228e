"""The HTML audit report: numbers, escaping, offline-ness, and rendering in a real browser."""

from __future__ import annotations

import datetime
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toxlink import report as R
from toxlink import schema as S

TARGET = "https://www.acmetools.com/shop/"
XSS = '<script>alert("pwned")</script>'
XSS_DOMAIN = '"><img src=x onerror=alert(1)>.example'


def _scored() -> pd.DataFrame:
    """Ten rows whose right answers are known: 9 counted (1 duplicate), 3 toxic, 1 review,
    4 ok, 1 rejected."""
    rows = [
        # source URL, host, domain, risk, band, anchor, first seen, duplicate_of, row_issue
        ("https://spam.xyz/a", "spam.xyz", "spam.xyz", 0.95, "toxic", "buy cheap pills", "2025-01-06", None, None),
        ("https://spam.xyz/b", "spam.xyz", "spam.xyz", 0.90, "toxic", "casino", "2025-01-07", None, None),
        ("https://www.good.com/x", "www.good.com", "good.com", 0.05, "ok", "Acme Tools", "2025-01-13", None, None),
        ("https://good.com/y", "good.com", "good.com", 0.10, "ok", "https://acmetools.com/", "2025-01-20", None, None),
        ("https://blog.example.org/p", "blog.example.org", "example.org", 0.50, "review", "click here", "2025-02-03", None, None),
        ("https://blog.example.org/q", "blog.example.org", "example.org", 0.20, "ok", "", "2025-02-10", None, None),
        ("https://spam.xyz/a", "spam.xyz", "spam.xyz", 0.95, "toxic", "buy cheap pills", "2025-01-06", "a.csv:2", None),
        ("javascript:void(0)", None, None, np.nan, "rejected", None, None, None, "scheme javascript is not http(s)"),
        ("https://evil.ru/z", "evil.ru", "evil.ru", 0.80, "toxic", "read more", "2025-02-17", None, None),
        ("https://shop.co.uk/g", "shop.co.uk", "shop.co.uk", 0.30, "ok", "garden tools", "2025-03-03", None, None),
    ]
    cols = [S.SOURCE_URL, S.HOST, S.DOMAIN, S.RISK, S.BAND, S.ANCHOR, S.FIRST_SEEN, S.DUPLICATE_OF, S.ROW_ISSUE]
    raw = pd.DataFrame(rows, columns=cols)
    frame = S.conform(raw.assign(**{S.TARGET_URL: TARGET, S.FIRST_SEEN: pd.to_datetime(raw[S.FIRST_SEEN])}))
    for c in (S.HOST, S.DOMAIN, S.BAND):
        frame[c] = raw[c].astype("string")
    frame[S.RISK] = raw[S.RISK].astype(float)
    frame[S.REASONS] = pd.Series(["reason"] * len(raw), dtype="string")
    return frame


def _domains() -> pd.DataFrame:
    return pd.DataFrame(
        {
            S.DOMAIN: ["spam.xyz", "evil.ru", "example.org", "good.com", "shop.co.uk", XSS_DOMAIN],
            S.HOST: ["spam.xyz", "evil.ru", "blog.example.org", "good.com", "shop.co.uk", XSS_DOMAIN],
            S.N_LINKS: [2, 1, 2, 2, 1, 1],
            S.MAX_RISK: [0.95, 0.80, 0.50, 0.10, 0.30, 0.85],
            S.MEAN_RISK: [0.925, 0.80, 0.35, 0.075, 0.30, 0.85],
            S.N_TOXIC: [2, 1, 0, 0, 0, 1],
            S.TOXIC_SHARE: [1.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            S.N_REVIEW: [0, 0, 1, 0, 0, 0],
            S.TOP_REASONS: [f"title says {XSS}; pharma words in the domain", "cheap TLD", "generic anchor", "", "", "odd"],
            S.ACTION: ["disavow-domain", "disavow-url", "review", "keep", "keep", "disavow-domain"],
            S.WHITELISTED: [False, False, False, False, True, False],
        }
    )


DIFF = R.DisavowDiff(
    added=["domain:spam.xyz", "https://evil.ru/z", "domain:<b>bold</b>.example"],
    already_present=["domain:old.top"],
    whitelisted=["domain:shop.co.uk"],
    existing_entries=40,
)


@pytest.fixture(scope="module")
def html() -> str:
    return R.build_report(_scored(), _domains(), diff=DIFF, title=f"Audit {XSS}")


def _value(doc: str, key: str) -> int:
    m = re.search(rf'id="n-{re.escape(key)}" data-value="(-?\d+)"', doc)
    assert m, f"no element n-{key}"
    return int(m.group(1))


def _without_plotlyjs(doc: str) -> str:
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs().replace("</script", "<\\/script")
    assert doc.count(js) == 1, "plotly.js must be inlined exactly once"
    return doc.replace(js, "")


# --- numbers ------------------------------------------------------------------------------
def test_headline_numbers_in_html(html):
    expected = {
        "links": 9, "duplicates": 1, "domains": 6, "toxic": 3, "review": 1, "ok": 4, "rejected": 1,
        "disavow-domains": 2, "disavow-urls": 1, "review-domains": 1, "whitelisted": 1,
        "diff-existing": 40, "diff-added": 3, "diff-present": 1, "diff-whitelisted": 1, "diff-total": 43,
    }
    assert {k: _value(html, k) for k in expected} == expected
    assert R.headline_numbers(_scored(), _domains(), DIFF) == expected


def test_diff_from_mapping_and_no_diff():
    d = R.DisavowDiff.coerce({"added": ["domain:a.com"], "existing_entries": 5})
    assert (d.added, d.already_present, d.total_after) == (["domain:a.com"], [], 6)
    doc = R.build_report(_scored(), _domains())
    assert 'id="n-diff-added"' not in doc and "No disavow file was compared" in doc


def test_diff_from_a_disavow_merge():
    from toxlink.disavow import DisavowFile

    old = DisavowFile.parse("# audit 2025\ndomain:old.top\ndomain:spam.xyz\n")
    _, merge = old.merge(DisavowFile.from_entries(["domain:spam.xyz", "domain:evil.ru"]))
    d = R.DisavowDiff.coerce(merge)
    assert (d.added, d.already_present, d.existing_entries, d.unit) == (["domain:evil.ru"], ["domain:spam.xyz"], 3, "lines")
    doc = R.build_report(_scored(), _domains(), diff=merge)
    assert _value(doc, "diff-added") == 1 and _value(doc, "diff-existing") == 3


def test_rollup_with_the_briefs_column_names():
    brief = _domains().rename(columns={S.N_LINKS: "links", S.N_TOXIC: "toxic_links",
                                       S.N_REVIEW: "review_links", S.TOP_REASONS: "reasons"})
    assert R.headline_numbers(_scored(), brief) == R.headline_numbers(_scored(), _domains())
    assert R.top_toxic_domains(brief)[S.DOMAIN].tolist() == R.top_toxic_domains(_domains())[S.DOMAIN].tolist()


def test_tld_table_counts_scored_links_only():
    t = R.tld_table(_scored(), top=10)
    # duplicate and rejected rows excluded; co.uk is one ICANN suffix
    assert t.loc[".xyz", ["links", "toxic", "review", "ok"]].tolist() == [2, 2, 0, 0]
    assert t.loc[".org", ["links", "toxic", "review", "ok"]].tolist() == [2, 0, 1, 1]
    assert t.loc[".co.uk", "links"] == 1 and t.loc[".ru", "toxic_share"] == 1.0
    assert t["links"].sum() == 8
    assert len(R.tld_table(_scored(), top=2)) == 2


def test_anchor_mix_excludes_duplicates():
    mix = R.anchor_mix(_scored())
    assert mix["links"].sum() == 9
    assert mix.loc["exact_match", "links"] == 2 and mix.loc["exact_match", "toxic"] == 2
    assert mix.loc["generic", "links"] == 2  # "click here" and "read more"
    assert mix.loc["unknown", "rejected"] == 1


def test_timeline_flags_one_burst_week():
    start = pd.Timestamp("2024-01-01")  # a Monday
    days = [start + pd.Timedelta(weeks=w, days=d) for w in range(20) for d in (0, 2, 4)]
    days += [start + pd.Timedelta(weeks=12, days=1)] * 30  # burst in week 12
    days = pd.Series(days + [start + pd.Timedelta(weeks=30)])  # empty weeks 20..29 count 0
    tl = R.first_seen_timeline(days)
    assert tl.attrs["freq"] == "W" and len(tl) == 31
    assert tl["count"].sum() == len(days)
    assert tl.index[tl["burst"]].tolist() == [start + pd.Timedelta(weeks=12)]
    assert tl.loc[start + pd.Timedelta(weeks=12), "count"] == 33
    assert tl.loc[start + pd.Timedelta(weeks=25), "count"] == 0


def test_burst_needs_twice_the_median():
    start = pd.Timestamp("2024-01-01")
    weeks = [20] * 30 + [30, 45]  # MAD 0: threshold 20 + 3 = 23; 30 is 1.5x the median, 45 is 2.25x
    days = pd.Series([start + pd.Timedelta(weeks=w) for w, n in enumerate(weeks) for _ in range(n)])
    tl = R.first_seen_timeline(days)
    assert tl["threshold"].iloc[0] == 23.0
    assert tl.index[tl["burst"]].tolist() == [start + pd.Timedelta(weeks=31)]


def test_timeline_flat_profile_has_no_burst_and_long_profile_is_monthly():
    flat = pd.Series(pd.date_range("2020-01-01", periods=400, freq="D"))
    assert not R.first_seen_timeline(flat)["burst"].any()
    long = pd.Series(pd.date_range("2018-01-01", "2024-12-31", freq="7D"))
    tl = R.first_seen_timeline(long)
    assert tl.attrs["freq"] == "M" and len(tl) == 84


def test_band_counts_per_timeline_period():
    s = _scored()
    tl = R.first_seen_timeline(R.counted_links(s)[S.FIRST_SEEN], R.counted_links(s)[S.BAND], freq="M")
    assert tl[["toxic", "review", "ok"]].sum().tolist() == [3, 1, 4]  # rejected row has no date
    assert tl.loc[pd.Timestamp("2025-01-01"), "toxic"] == 2


def test_top_toxic_domains_order():
    top = R.top_toxic_domains(_domains())
    assert top[S.DOMAIN].tolist() == ["spam.xyz", XSS_DOMAIN, "evil.ru", "example.org"]


# --- safety -------------------------------------------------------------------------------
def test_untrusted_text_is_escaped(html):
    rest = _without_plotlyjs(html)
    assert XSS not in rest and "<img src=x" not in rest and "<b>bold</b>" not in rest
    assert "title says &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in rest
    assert "&lt;img src=x onerror=alert(1)&gt;" in rest
    assert "<title>Audit &lt;script&gt;" in rest
    # No element from the data: no <img>, no event-handler attribute, no <b> from the diff.
    assert "domain:&lt;b&gt;bold&lt;/b&gt;.example" in rest
    tags = _tags(rest)
    assert "img" not in {t for t, _ in tags}
    assert not [(t, a) for t, a in tags if any(k.startswith("on") for k, _ in a)]


def _tags(doc: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    P().feed(doc)
    return found


def test_no_network_resources(html):
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I)
    assert not re.search(r"<link\b", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", html, re.I)
    rest = _without_plotlyjs(html)
    # URLs only appear as escaped text (the disavow entry), never inside a tag
    assert not re.search(r"<[^>]*(?:https?:)?//[^>]*>", rest)
    assert "https://evil.ru/z" in rest
    assert "default-src 'none'" in rest  # CSP: the browser itself refuses any fetch


def test_empty_inputs_render():
    doc = R.build_report(S.empty_links().assign(**{S.RISK: [], S.BAND: [], S.REASONS: [], S.HOST: [], S.DOMAIN: []}),
                         _domains().iloc[:0])
    assert _value(doc, "links") == 0 and _value(doc, "domains") == 0
    assert "No link could be scored." in doc


def test_write_report_is_atomic(tmp_path, monkeypatch):
    dest = tmp_path / "out" / "report.html"
    R.write_report(dest, _scored(), _domains(), diff=DIFF)
    first = dest.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>") and first.rstrip().endswith("</html>")

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(RuntimeError):
        R.write_report(dest, _scored(), _domains(), title="second")
    assert dest.read_text(encoding="utf-8") == first  # old file untouched
    assert [p.name for p in dest.parent.iterdir()] == ["report.html"]  # temp file removed


# --- real browser -------------------------------------------------------------------------
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--mute-audio", "--window-size=1280,1000",
]


def _chromium() -> str:
    path = shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium")
    if not path:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required in CI (run .ci/install-chromium.sh)")
        pytest.skip("chromium not installed (run .ci/install-chromium.sh); outside CI the browser test is skipped")
    return path


class _DevTools:
    """Minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (fds 3/4,
    NUL-separated JSON), so the test needs no websocket library."""

    def __init__(self, chromium: str, profile: str):
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def wire():  # chromium reads commands on fd 3 and writes replies on fd 4
            # dup first: a pipe end may itself be fd 3 or 4, and dup2(fd, fd) keeps close-on-exec.
            r, w = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # close_fds=False: dup2'd fds 3/4 must survive; Python's own fds are close-on-exec anyway.
            preexec_fn=wire, close_fds=False,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for ev in self.events:
            if ev.get("method") == method:
                return ev
        while True:
            ev = self._read(deadline)
            self.events.append(ev)
            if ev.get("method") == method:
                return ev

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


@pytest.mark.browser
def test_report_renders_in_headless_chromium(tmp_path):
    chromium = _chromium()
    scored, domains = _scored(), _domains()
    path = R.write_report(tmp_path / "report.html", scored, domains, diff=DIFF)

    with tempfile.TemporaryDirectory(prefix="toxlink-chromium-") as profile:
        cdp = _DevTools(chromium, profile)
        try:
            page = next(t for t in cdp.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
            sid = cdp.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                cdp.send(f"{domain}.enable", session=sid)
            cdp.send("Page.navigate", {"url": path.as_uri()}, session=sid)
            cdp.wait_event("Page.loadEventFired")
            # Plotly draws asynchronously after load: wait for every chart's SVG.
            probe = """(() => {
                const charts = [...document.querySelectorAll('.plotly-graph-div')];
                const drawn = charts.filter(c => c.querySelector("svg.main-svg g.barlayer g.point path")).length;
                const nums = Object.fromEntries([...document.querySelectorAll('[id^="n-"]')]
                    .map(e => [e.id.slice(2), {value: Number(e.dataset.value), text: e.textContent}]));
                const bars = document.querySelectorAll('#chart-risk g.barlayer g.point').length;
                const xss = !!window.pwned || document.querySelectorAll('img[src="x"]').length;
                return JSON.stringify({charts: charts.length, drawn, nums, bars, xss,
                                       rows: document.querySelectorAll('#top-domains tbody tr').length});
            })()"""
            deadline = time.monotonic() + 20
            while True:
                res = json.loads(cdp.send("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session=sid)["result"]["value"])
                if (res["charts"] and res["drawn"] == res["charts"]) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        finally:
            cdp.close()

    errors = [e["params"]["args"] for e in cdp.events if e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert")]
    errors += [e["params"]["exceptionDetails"] for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"]
    errors += [e["params"]["entry"] for e in cdp.events if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"]
    assert errors == []
    requested = [e["params"]["request"]["url"] for e in cdp.events if e.get("method") == "Network.requestWillBeSent"]
    assert requested and all(u.startswith(("file:", "data:", "blob:", "about:")) for u in requested), requested

    assert res["charts"] == 4 and res["drawn"] == 4  # risk, anchors, timeline, TLD
    assert res["bars"] > 0 and not res["xss"]
    assert res["rows"] == 4  # flagged domains: 2 disavow-domain, 1 disavow-url, 1 review
    nums = res["nums"]
    assert nums["domains"]["value"] == len(domains)
    assert nums["disavow-domains"]["value"] == int((domains[S.ACTION] == "disavow-domain").sum())
    assert nums["disavow-urls"]["value"] == int((domains[S.ACTION] == "disavow-url").sum())
    assert nums["review-domains"]["value"] == int((domains[S.ACTION] == "review").sum())
    assert nums["whitelisted"]["value"] == int(domains[S.WHITELISTED].sum())
    counted = scored[scored[S.DUPLICATE_OF].isna()]
    for band in S.BANDS:
        assert nums[band]["value"] == int((counted[S.BAND] == band).sum())
    assert nums["links"] == {"value": 9, "text": "9"}
    assert nums["diff-total"]["value"] == 43


# --- streaming: ReportAccumulator ----------------------------------------------------------
GENERATED = datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)


def _chunks(frame: pd.DataFrame, bounds) -> list[pd.DataFrame]:
    edges = [0, *bounds, len(frame)]
    return [frame.iloc[a:b] for a, b in zip(edges[:-1], edges[1:])]


def _accumulate(chunks) -> R.ReportAccumulator:
    acc = R.ReportAccumulator()
    for c in chunks:
        assert acc.update(c) is acc
    return acc


@pytest.fixture(scope="module", name="synth_scored")
def _synth_scored() -> pd.DataFrame:
    from synth import synth_scored

    return synth_scored(6000, seed=7)


@pytest.fixture(scope="module")
def sample_scored():
    import toxlink

    p = toxlink.Predictor.load()
    scored = p.score(toxlink.read_export([str(Path(__file__).resolve().parents[1] / "data/sample/ahrefs-backlinks-sample.csv")]))
    return scored, p.recommend(scored)



def _uneven_bounds(n: int) -> list[int]:
    """Four cut points giving 5 chunks of very different sizes (one of them a single row)."""
    return [n // 50, n // 50 + 1, n // 3, n - 7]


@pytest.mark.parametrize("which", ["synthetic", "sample"])
def test_accumulator_html_equals_build_report_for_any_chunking(which, synth_scored, sample_scored):
    scored, domains = (synth_scored, _domains()) if which == "synthetic" else sample_scored
    whole = R.build_report(scored, domains, generated=GENERATED)
    for bounds in ([], _uneven_bounds(len(scored))):
        acc = _accumulate(_chunks(scored, bounds))
        assert acc.n_rows == len(scored)
        assert R.build_report_from(acc, domains, generated=GENERATED) == whole
    # The report does show the data: numbers from the whole table, not from one chunk.
    counted = scored[scored[S.DUPLICATE_OF].isna()]
    assert _value(whole, "links") == len(counted) and _value(whole, "duplicates") == len(scored) - len(counted)
    assert _value(whole, "toxic") == int((counted[S.BAND] == "toxic").sum()) > 0


def test_accumulator_aggregates_known_answers():
    s = _scored()
    acc = _accumulate([s.iloc[[i]] for i in range(len(s))])  # one row per chunk
    assert (acc.n_rows, acc.n_counted) == (10, 9)
    assert acc.bands == {"toxic": 3, "ok": 4, "review": 1, "rejected": 1}
    assert acc.tlds == {(".xyz", "toxic"): 2, (".com", "ok"): 2, (".org", "review"): 1, (".org", "ok"): 1,
                        (".ru", "toxic"): 1, (".co.uk", "ok"): 1}
    assert acc.anchors[("exact_match", "toxic")] == 2 and acc.anchors[("unknown", "rejected")] == 1
    assert sum(acc.days.values()) == 8  # the rejected row has no date, the duplicate is not counted
    # toxic 0.80, 0.90, 0.95 all in the top four 5-point bins; ok 0.05, 0.10, 0.20, 0.30 below 35%
    assert acc.risk_bins["toxic"].sum() == acc.risk_bins["toxic"][16:].sum() == 3
    assert acc.risk_bins["ok"].sum() == acc.risk_bins["ok"][:7].sum() == 4 and acc.risk_bins["review"][10] == 1
    assert acc.targets == {"www.acmetools.com": 9}
    doc = R.build_report_from(acc, _domains(), diff=DIFF, generated=GENERATED)
    assert "<h1>Backlink audit — www.acmetools.com</h1>" in doc
    assert "Links first seen 06 Jan 2025 – 03 Mar 2025" in doc
    assert doc == R.build_report(s, _domains(), diff=DIFF, generated=GENERATED)


def test_period_and_bursts_are_decided_on_the_whole_date_range():
    # Each chunk alone spans < 160 weeks (weekly); together they span 7 years (monthly).
    s = _scored().iloc[[0, 1, 2, 3, 4]].copy()
    early, late = s.copy(), s.copy()
    early[S.FIRST_SEEN] = pd.to_datetime(["2018-01-01", "2018-01-09", "2018-02-01", "2018-03-01", "2018-03-02"])
    late[S.FIRST_SEEN] = pd.to_datetime(["2024-12-01"] * 5)
    both = pd.concat([early, late], ignore_index=True)
    acc = _accumulate([early, late])
    assert "New links per week" in R.build_report_from(R.ReportAccumulator().update(early), _domains(), generated=GENERATED)
    doc = R.build_report_from(acc, _domains(), generated=GENERATED)
    assert "New links per month" in doc and "Links first seen 01 Jan 2018 – 01 Dec 2024" in doc
    assert doc == R.build_report(both, _domains(), generated=GENERATED)
    tl = acc.timeline()
    assert tl.attrs["freq"] == "M" and len(tl) == 84 and tl["count"].sum() == 10
    assert tl.index[tl["burst"]].tolist() == [pd.Timestamp("2024-12-01")]  # 5 links vs a median of 0


def test_title_names_the_most_linked_target_ties_to_the_first_seen():
    s = _scored().iloc[[0, 1, 2, 3]].copy()
    s[S.TARGET_URL] = pd.array(["https://b.example/", "https://a.example/x", "https://a.example/y", "https://b.example/z"],
                               dtype="string")
    for acc in (_accumulate([s]), _accumulate([s.iloc[:1], s.iloc[1:]]),
                _accumulate([s.iloc[:1]]).merge(_accumulate([s.iloc[1:]]))):
        assert acc.targets == {"b.example": 2, "a.example": 2}
        assert acc.title() == "Backlink audit — b.example"
    assert "<h1>Backlink audit — b.example</h1>" in R.build_report(s, _domains(), generated=GENERATED)
    assert _accumulate([s.iloc[1:]]).merge(_accumulate([s.iloc[:1]])).title() == "Backlink audit — a.example"


def test_merge_of_partitions_equals_one_accumulator(synth_scored):
    import pickle

    parts = _chunks(synth_scored, [1000, 1001, 4500])
    one = _accumulate(parts)
    # Partitions accumulated apart (and shipped between processes, as Dask does), merged in order.
    partials = [pickle.loads(pickle.dumps(_accumulate([p]))) for p in parts]
    merged = R.ReportAccumulator()
    for p in partials:
        assert merged.merge(p) is merged
    assert (merged.n_rows, merged.n_counted, merged.bands) == (one.n_rows, one.n_counted, one.bands)
    for name in ("tlds", "anchors", "days"):
        assert getattr(merged, name) == getattr(one, name)
    assert list(merged.targets.items()) == list(one.targets.items())
    assert {b: v.tolist() for b, v in merged.risk_bins.items()} == {b: v.tolist() for b, v in one.risk_bins.items()}
    assert R.build_report_from(merged, _domains(), generated=GENERATED) == R.build_report(synth_scored, _domains(), generated=GENERATED)
    with pytest.raises(TypeError):
        merged.merge(synth_scored)


def test_accumulator_size_is_bounded_by_the_aggregates(synth_scored):
    chunk = synth_scored.iloc[:2000]
    acc = R.ReportAccumulator().update(chunk)
    sizes = acc.sizes()
    counted = chunk[chunk[S.DUPLICATE_OF].isna()]
    # One entry per distinct (day, band), (TLD, band), ..., whatever the number of rows.
    dated = counted[counted[S.FIRST_SEEN].notna()]
    assert sizes["days"] == len(dated.groupby([dated[S.FIRST_SEEN].dt.normalize(), dated[S.BAND]]))
    assert sizes["targets"] == 1 and sizes["bands"] == 4 and sizes["risk_bins"] == 60
    assert sizes["days"] < len(counted)
    for _ in range(40):
        acc.update(chunk)
    assert acc.sizes() == sizes
    assert acc.n_rows == 41 * len(chunk) and sum(acc.bands.values()) == 41 * len(counted)
    assert sum(acc.days.values()) == 41 * len(dated)
    # More rows over the same days and TLDs: a bigger table, same state size.
    shuffled = chunk.sample(frac=1.0, random_state=1)
    assert R.ReportAccumulator().update(shuffled).sizes() == sizes


def test_write_report_from_accumulator_is_atomic_and_equal(tmp_path, monkeypatch):
    acc = _accumulate(_chunks(_scored(), [3, 4]))
    dest = R.write_report_from(acc, tmp_path / "r.html", _domains(), diff=DIFF, generated=GENERATED)
    assert dest.read_text(encoding="utf-8") == R.build_report(_scored(), _domains(), diff=DIFF, generated=GENERATED)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(RuntimeError):
        R.write_report_from(acc, dest, _domains(), title="second")
    assert _value(dest.read_text(encoding="utf-8"), "links") == 9
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_report_from_dir_streams_links_csv(tmp_path):
    scored = _scored()
    scored.to_csv(tmp_path / "links.csv", index=False)
    _domains().to_csv(tmp_path / "domains.csv", index=False)
    stamp = re.compile(r"generated \d\d \w+ \d{4} \d\d:\d\d UTC")
    docs = [stamp.sub("", R.report_from_dir(tmp_path, tmp_path / f"r{k}.html", chunksize=k).read_text(encoding="utf-8"))
            for k in (2, 1000)]
    assert docs[0] == docs[1]
    assert [_value(docs[0], k) for k in ("links", "duplicates", "toxic", "review", "ok", "rejected")] == [9, 1, 3, 1, 4, 1]


def test_report_from_dir_rebuilds_the_report_of_the_run(tmp_path):
    # What `toxlink report DIR` rebuilds is what `toxlink score --report` wrote: empty anchors
    # stay "empty" (not "unknown") and the existing disavow file keeps its size.
    root = Path(__file__).resolve().parents[1]
    existing = root / "data/sample/existing-disavow.txt"
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "toxlink.cli", "score", str(root / "data/sample/ahrefs-backlinks-sample.csv"),
                        "--existing-disavow", str(existing), "-o", str(out), "--report"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    again = R.report_from_dir(out, tmp_path / "again.html")
    stamp = re.compile(r"generated \d\d \w+ \d{4} \d\d:\d\d UTC")
    first, second = (stamp.sub("", p.read_text(encoding="utf-8")) for p in (out / "report.html", again))
    assert second == first
    assert _value(first, "diff-existing") == len(existing.read_text(encoding="utf-8").splitlines())
    assert '"empty  (' in first  # the sample has image links without alt text
