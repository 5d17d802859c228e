"""The HTML audit report: numbers, escaping, offline-ness, and rendering in a real browser."""

from __future__ import annotations

import base64
import contextlib
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
    # The domains' table is data for the page's script: JSON that cannot end its <script>
    # element (no <, >, &), holding the hostile values unchanged (the script escapes them).
    payload = re.search(r'<script type="application/json" id="domains-data">(.*?)</script>', rest, re.S).group(1)
    assert not set("<>&") & set(payload)
    data = json.loads(payload)
    cells = json.dumps(data["rows"])
    assert json.dumps(f"title says {XSS}")[1:-1] in cells and json.dumps(XSS_DOMAIN)[1:-1] in cells
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


class _Page:
    """A report open in headless chromium: ``js(expr)`` evaluates *expr* (JSON-returning)."""

    def __init__(self, cdp: _DevTools, sid: str):
        self.cdp, self.sid = cdp, sid

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        return self.cdp.send(method, params, session=self.sid, timeout=timeout)

    def js(self, expression: str):
        res = self.send("Runtime.evaluate", {"expression": f"JSON.stringify({expression})", "returnByValue": True,
                                             "awaitPromise": True})
        assert "exceptionDetails" not in res, res
        value = res["result"].get("value")  # JSON.stringify(undefined) is undefined
        return None if value is None else json.loads(value)

    def wait_for(self, expression: str, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expression)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.1)

    def errors(self) -> list:
        ev = self.cdp.events
        found = [e["params"]["args"] for e in ev if e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert")]
        found += [e["params"]["exceptionDetails"] for e in ev if e.get("method") == "Runtime.exceptionThrown"]
        found += [e["params"]["entry"] for e in ev if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"]
        return found

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.cdp.events if e.get("method") == "Network.requestWillBeSent"]


@contextlib.contextmanager
def _browse(path: Path):
    """Open the report at *path* in headless chromium, charts drawn; yields a :class:`_Page`."""
    chromium = _chromium()
    with tempfile.TemporaryDirectory(prefix="toxlink-chromium-") as profile:
        cdp = _DevTools(chromium, profile)
        try:
            page = next(t for t in cdp.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
            sid = cdp.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
            p = _Page(cdp, sid)
            for domain in ("Page", "Runtime", "Log", "Network"):
                p.send(f"{domain}.enable")
            p.send("Page.navigate", {"url": path.as_uri()})
            cdp.wait_event("Page.loadEventFired")
            # Plotly draws asynchronously after load: wait for every chart's SVG.
            p.wait_for("""(() => { const c = [...document.querySelectorAll('.plotly-graph-div')];
                return c.length > 0 && c.every(g => g.querySelector("svg.main-svg g.barlayer g.point path")); })()""")
            yield p
        finally:
            cdp.close()


_PROBE = """(() => {
    const charts = [...document.querySelectorAll('.plotly-graph-div')];
    const drawn = charts.filter(c => c.querySelector("svg.main-svg g.barlayer g.point path")).length;
    const nums = Object.fromEntries([...document.querySelectorAll('[id^="n-"]')]
        .map(e => [e.id.slice(2), {value: Number(e.dataset.value), text: e.textContent}]));
    const bars = document.querySelectorAll('#chart-risk g.barlayer g.point').length;
    const xss = !!window.pwned || document.querySelectorAll('img[src="x"]').length;
    return {charts: charts.length, drawn, nums, bars, xss, ids: charts.map(c => c.id),
            rows: document.querySelectorAll('#domains-table tbody tr').length};
})()"""


@pytest.mark.browser
def test_report_renders_in_headless_chromium(tmp_path):
    scored, domains = _scored(), _domains()
    path = R.write_report(tmp_path / "report.html", scored, domains, diff=DIFF)
    with _browse(path) as page:
        res = page.js(_PROBE)
        assert page.errors() == []
        requested = page.requested()
    assert requested and all(u.startswith(("file:", "data:", "blob:", "about:")) for u in requested), requested

    assert res["charts"] == 4 and res["drawn"] == 4, res["ids"]  # risk, anchors, timeline, TLD
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


def _many_domains(n: int, seed: int = 3) -> pd.DataFrame:
    """A roll-up of *n* sites with random actions, risks and links, and the hostile one."""
    rng = np.random.default_rng(seed)
    tlds = np.array(["com", "xyz", "ru", "co.uk", "top"])
    risk = rng.uniform(0, 1, n).round(3)
    action = np.where(risk > 0.8, "disavow-domain", np.where(risk > 0.5, "review", np.where(risk > 0.3, "disavow-url", "keep")))
    links = rng.integers(1, 500, n)
    toxic = np.where(risk > 0.8, links, 0)
    names = [f"site{i:05d}.{tlds[i % len(tlds)]}" for i in range(n)]
    frame = pd.DataFrame({
        S.DOMAIN: names, S.HOST: names, S.N_LINKS: links, S.N_TOXIC: toxic, S.N_REVIEW: 0,
        S.TOXIC_SHARE: toxic / links, S.MAX_RISK: risk, S.MEAN_RISK: risk / 2,
        S.TOP_REASONS: [f"reason {i % 7}; =HYPERLINK(\"x\")" for i in range(n)], S.ACTION: action,
        S.WHITELISTED: False,
    })
    return pd.concat([_domains(), frame], ignore_index=True)


@pytest.mark.browser
def test_domain_table_searches_filters_sorts_and_prints(tmp_path):
    domains = _many_domains(1800)
    # optional fact columns: the table is then wider than its panel and must scroll inside it
    domains[S.DOMAIN_RATING] = np.arange(len(domains)) % 100
    domains[S.N_DOFOLLOW] = domains[S.N_LINKS] // 2
    domains[S.FIRST_SEEN] = pd.Timestamp("2025-01-06")
    domains[S.TOP_ANCHORS] = "buy cheap pills (12); click here (3); https://www.acmetools.com/shop/ (1)"
    domains[S.EXAMPLE_URL] = "https://" + domains[S.DOMAIN].astype(str) + "/a/very/long/path/to/the/riskiest/link.html"
    scored = _scored()
    scored[S.NOFOLLOW] = pd.array([True, False, False, None, True, False, True, None, False, False], dtype="boolean")
    scored[S.DOMAIN_RATING] = [5.0, 12.0, 80.0, 81.0, 45.0, 45.0, 5.0, np.nan, 2.0, 100.0]
    scored[S.LANGUAGE] = pd.array(["en", "en", "de", "de", "en", None, "en", None, "ru", "en"], dtype="string")
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="80" height="20"><rect width="80" height="20" '
                    'fill="#2f5d8a"/></svg>', encoding="utf-8")
    branding = R.Branding.read(f"Client {XSS}", logo)
    path = R.write_report(tmp_path / "report.html", scored, domains, diff=DIFF, branding=branding)
    rows = R.top_toxic_domains(domains, top=len(domains))
    shown = lambda view="#domains-table": (  # noqa: E731
        f"[...document.querySelectorAll('{view} tbody tr')].map(r => r.dataset.domain)")
    with _browse(path) as page:
        assert page.js(_PROBE)["charts"] == 7  # + dofollow/nofollow, domain rating, languages
        # on a 1280 px screen the table fits its panel (wider columns scroll inside the wrapper),
        # the reasons get a wide column, and a TLD stays on one line
        assert page.js("window.innerWidth") == 1280
        assert page.js("document.documentElement.scrollWidth <= window.innerWidth")
        fits = page.js("""(() => { const w = document.querySelector('#view-all .table-wrap'), p = w.closest('.panel');
            const t = w.querySelector('table'), r = w.getBoundingClientRect(), pr = p.getBoundingClientRect();
            const col = k => t.querySelector(`th[data-key="${k}"]`).getBoundingClientRect().width;
            const td = [...t.querySelectorAll('tbody td.short')].find(c => c.textContent === '.co.uk');
            const text = document.createRange(); text.selectNodeContents(td);
            return {wrap: [r.left, r.right], panel: [pr.left, pr.right], table: t.scrollWidth, client: w.clientWidth,
                    why: col('why'), tld_lines: text.getClientRects().length}; })()""")
        assert fits["panel"][0] <= fits["wrap"][0] and fits["wrap"][1] <= fits["panel"][1], fits
        assert fits["table"] > fits["client"], fits  # the optional columns scroll, inside the panel
        assert fits["why"] >= 280 and fits["tld_lines"] == 1, fits  # a wrapped text has a box per line
        count = page.js("document.querySelector('#view-all .count').textContent")
        assert count == f"Showing 250 of {len(rows):,} domains"
        assert page.js(shown()) == rows[S.DOMAIN].head(250).tolist()  # most urgent first
        assert page.js("document.querySelector('#view-all button.more').textContent") == f"Show {min(1000, len(rows) - 250):,} more"
        while not page.js("document.querySelector('#view-all button.more').hidden"):
            page.js("document.querySelector('#view-all button.more').click()")
        assert page.js(shown()) == rows[S.DOMAIN].tolist()  # every flagged domain is in the report

        def search(text: str) -> None:
            page.js(f"(() => {{ const q = document.querySelector('#view-all input.q'); q.value = {json.dumps(text)};"
                    " q.dispatchEvent(new Event('input')); })()")
            time.sleep(0.5)  # the table re-renders once typing pauses

        # search
        search("SITE0012")
        want = rows[rows[S.DOMAIN].str.contains("site0012")][S.DOMAIN].tolist()
        assert page.js(shown()) == want and 0 < len(want) < 20
        search("pwned")
        assert page.js(shown()) == ["spam.xyz"]  # the reasons are searched too, as text
        assert f"title says {XSS}" in page.js("document.querySelector('#domains-table td.reasons').textContent")
        search("onerror")
        assert page.js("[...document.querySelectorAll('#domains-table td.dom')].map(td => td.textContent)") == [XSS_DOMAIN]
        search("")

        # filters: action and TLD
        page.js("(() => { const s = document.querySelector('#view-all select.act'); s.value = 'disavow-url';"
                " s.dispatchEvent(new Event('change')); const t = document.querySelector('#view-all select.tld');"
                " t.value = '.ru'; t.dispatchEvent(new Event('change')); })()")
        want = rows[(rows[S.ACTION] == "disavow-url") & rows[S.DOMAIN].str.endswith(".ru")][S.DOMAIN].tolist()
        assert page.js(shown()) == want and len(want) > 1

        # sort by max risk, descending then ascending, and by links
        page.js("[...document.querySelectorAll('#view-all th')].find(t => t.dataset.key === 'max_risk').querySelector('button').click()")
        risks = page.js("[...document.querySelectorAll('#view-all tbody tr td:nth-child(7)')].map(td => td.textContent)")
        got = [int(x.rstrip('%')) for x in risks]
        assert got == sorted(got, reverse=True) and len(set(got)) > 1
        page.js("[...document.querySelectorAll('#view-all th')].find(t => t.dataset.key === 'max_risk').querySelector('button').click()")
        got = [int(x.rstrip('%')) for x in page.js("[...document.querySelectorAll('#view-all tbody tr td:nth-child(7)')].map(td => td.textContent)")]
        assert got == sorted(got)
        page.js("[...document.querySelectorAll('#view-all th')].find(t => t.dataset.key === 'n_links').querySelector('button').click()")
        by_links = page.js(shown())
        assert by_links == want_sorted if (want_sorted := rows[rows[S.DOMAIN].isin(want)].sort_values(
            S.N_LINKS, ascending=False, kind="stable")[S.DOMAIN].tolist()) else False

        # the review queue is its own view, with review domains only
        assert page.js("getComputedStyle(document.getElementById('view-review')).display") == "none"
        page.js("document.querySelector('.tab[data-view=\"view-review\"]').click()")
        assert page.js("getComputedStyle(document.getElementById('view-review')).display") == "block"
        assert page.js("getComputedStyle(document.getElementById('view-all')).display") == "none"
        review = rows[rows[S.ACTION] == "review"][S.DOMAIN].tolist()
        assert page.js(shown("#review-table")) == review[:250] and len(review) > 250

        # hostile text is shown as text, nowhere as markup
        assert page.js("document.getElementById('client').textContent") == f"Prepared for Client {XSS}"
        assert page.js("document.getElementById('client-logo').naturalWidth") == 80
        assert not page.js("!!window.pwned || document.querySelectorAll('img[src=\"x\"]').length")

        page.send("Page.captureScreenshot", {"format": "png"})  # warm-up: the first capture may be blank
        (tmp_path / "screen.png").write_bytes(base64.b64decode(page.send("Page.captureScreenshot", {"format": "png"})["data"]))

        # print media: one chart per row, each redrawn at its box's width (not the screen's)
        fit = """(() => [...document.querySelectorAll('.js-plotly-plot')].map(g => {
            const svg = g.querySelector('svg.main-svg'); const box = g.parentElement.getBoundingClientRect();
            return [g.id, svg.getBoundingClientRect().width, box.width]; }))()"""
        half = {i: w for i, w, box in page.js(fit)}["chart-risk"]
        page.send("Emulation.setEmulatedMedia", {"media": "print"})
        page.wait_for(f"{fit}.every(([id, w, box]) => Math.abs(w - box) <= 2)", timeout=10)
        # the paper has no "Show more": every row of the (filtered) views is printed
        assert page.js(shown("#review-table")) == review
        assert page.js(shown()) == by_links
        assert page.js("document.querySelector('#view-review .count').textContent") == f"Showing {len(review)} of {len(review)} domains"
        assert page.js("document.querySelector('#view-review button.more').hidden")
        sizes = page.js(fit)
        assert all(abs(w - box) <= 2 for _, w, box in sizes), sizes
        assert {i: w for i, w, box in sizes}["chart-risk"] > 1.5 * half  # was half a row on screen
        # on A4's width (~720 CSS px inside the margins) nothing is wider than the paper
        page.send("Emulation.setDeviceMetricsOverride", {"width": 720, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        page.wait_for(f"{fit}.every(([id, w, box]) => w <= box + 1)", timeout=10)
        sizes = page.js(fit)
        assert sizes and all(w <= box + 1 <= 721 for _, w, box in sizes), sizes
        assert page.js("document.documentElement.scrollWidth") <= 720  # no table or chart sticks out
        assert page.js("getComputedStyle(document.querySelector('#view-all input.q')).display") == "none"
        assert page.js("getComputedStyle(document.querySelector('#view-all select.tld')).display") == "none"
        assert page.js("getComputedStyle(document.querySelector('#view-review .count')).display") != "none"
        assert page.js("getComputedStyle(document.querySelector('.tabs')).display") == "none"
        shot = page.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        (tmp_path / "print.png").write_bytes(base64.b64decode(shot["data"]))

        # back on screen, the first page of rows again; window.print() fires beforeprint
        page.send("Emulation.setEmulatedMedia", {"media": ""})
        page.wait_for(f"{shown('#review-table')}.length === 250", timeout=10)  # the media change is async
        assert page.js(shown("#review-table")) == review[:250]
        page.js("(() => { for (const c of ['act', 'tld']) { const s = document.querySelector('#view-all select.' + c);"
                " s.value = ''; s.dispatchEvent(new Event('change')); } })()")
        assert len(page.js(shown())) == 250
        page.js("window.dispatchEvent(new Event('beforeprint'))")
        assert sorted(page.js(shown())) == sorted(rows[S.DOMAIN].tolist())
        assert page.js("document.querySelector('#view-all button.more').hidden")
        page.js("window.dispatchEvent(new Event('afterprint'))")
        assert len(page.js(shown())) == 250 and not page.js("document.querySelector('#view-all button.more').hidden")
        assert page.errors() == []
    assert (tmp_path / "print.png").stat().st_size > 10_000


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
    # What `toxlink report DIR` rebuilds is what `toxlink score --report` wrote, client and logo
    # included without repeating --client/--logo (run-info.json keeps them): empty anchors
    # stay "empty" (not "unknown"), the existing disavow file keeps its size, the link
    # profile and the model's facts are the same; only the generation time differs.
    root = Path(__file__).resolve().parents[1]
    existing = root / "data/sample/existing-disavow.txt"
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG_1PX)
    brand = ["--client", "Pawsome <Pets> Ltd", "--logo", str(logo)]
    logo_uri = f"data:image/png;base64,{base64.b64encode(PNG_1PX).decode()}"
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "toxlink.cli", "score", str(root / "data/sample/ahrefs-backlinks-sample.csv"),
                        "--existing-disavow", str(existing), "-o", str(out), "--report", *brand],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "toxlink.cli", "report", str(out), "-o", str(tmp_path / "again.html")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    stamp = re.compile(r"generated \d\d \w+ \d{4} \d\d:\d\d UTC")
    first, second = (stamp.sub("", p.read_text(encoding="utf-8")) for p in (out / "report.html", tmp_path / "again.html"))
    assert second == first
    assert _value(first, "diff-existing") == len(existing.read_text(encoding="utf-8").splitlines())
    assert '"empty (image links)  (' in first  # the sample has image links without alt text
    for part in ('id="link-profile"', 'id="chart-follow"', 'id="chart-domain_rating"', 'id="bands"',
                 "Prepared for Pawsome &lt;Pets&gt; Ltd", f'src="{logo_uri}"'):
        assert part in first, part
    # Every flagged domain of domains.csv is in the page.
    domains = pd.read_csv(out / "domains.csv", keep_default_na=False)
    flagged = domains[domains[S.ACTION].isin(["disavow-domain", "disavow-url", "review"])][S.DOMAIN]
    payload = re.search(r'id="domains-data">(.*?)</script>', first, re.S).group(1)
    shown = {row[0][0] for row in json.loads(payload)["rows"]}
    assert len(flagged) > 30 and set(flagged) <= shown
    # ... with the per-domain facts the run's domains.csv carries.
    keys = {c["key"] for c in json.loads(payload)["columns"]}
    assert {S.DOMAIN_RATING, S.N_DOFOLLOW, S.N_NOFOLLOW, S.TOP_ANCHORS, S.EXAMPLE_URL, S.FIRST_SEEN} <= keys
    # A client or logo given to `report` overrides the run's, the other one is kept.
    other = R.report_from_dir(out, tmp_path / "other.html", branding=R.Branding(client="Other & Co")).read_text(encoding="utf-8")
    assert "Prepared for Other &amp; Co" in other and "Prepared for Pawsome" not in other and logo_uri in other
    # A rebuild without the run's model facts and branding (an older run) leaves them out.
    (out / "run-info.json").unlink()
    old = R.report_from_dir(out, tmp_path / "old.html").read_text(encoding="utf-8")
    assert 'id="bands"' not in old and 'id="client"' not in old and 'id="client-logo"' not in old


# A 1x1 PNG.
PNG_1PX = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def test_logo_is_recognised_by_its_content(tmp_path):
    cases = {"a.png": PNG_1PX, "b.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20),
             "c.svg": b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- logo -->\n<svg xmlns="http://www.w3.org/2000/svg"/>',
             "png-named.svg": PNG_1PX}
    types = {"a.png": "image/png", "b.jpg": "image/jpeg", "c.svg": "image/svg+xml", "png-named.svg": "image/png"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        b = R.Branding.read(" ACME ", tmp_path / name)
        assert b.client == "ACME" and b.logo == f"data:{types[name]};base64,{base64.b64encode(data).decode()}"
    for name, data in {"text.png": b"hello", "html.svg": b"<html><svg/></html>", "empty.jpg": b""}.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(R.LogoError, match=re.escape(str(tmp_path / name))):
            R.Branding.read(None, tmp_path / name)
    with pytest.raises(FileNotFoundError):
        R.Branding.read(None, tmp_path / "missing.png")
    assert R.Branding.read("  ", None) == R.Branding()


def test_client_and_logo_are_on_the_first_page_escaped():
    doc = R.build_report(_scored(), _domains(), branding=R.Branding(client=XSS, logo="data:image/png;base64,AAAA"))
    header = doc[doc.index('<header class="top">'):doc.index("</header>")]
    assert f"Prepared for {XSS}".replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") in header
    assert '<img class="logo" id="client-logo" src="data:image/png;base64,AAAA" alt="">' in header
    plain = R.build_report(_scored(), _domains())
    assert 'id="client"' not in plain and 'id="client-logo"' not in plain


def test_methodology_quotes_the_model_metadata():
    import toxlink
    from toxlink.policy import Policy

    p = toxlink.Predictor.load()
    facts = R.ModelFacts.of(p)
    meta = p.bundle.metadata()
    doc = R.build_report(_scored(), _domains(), model=facts)
    method = doc[doc.index('id="method"'):]
    t, r = meta["thresholds"]["toxic"], meta["thresholds"]["review"]
    assert f"risk ≥ {t:.3f} (toxicity ≥ {round(100 * t)})" in method and f"risk &lt; {r:.3f}" in method
    assert "The thresholds are the model&#x27;s." in method
    loso = meta["metrics"]["loso"]
    assert f"(ROC AUC) of {loso['mean_roc_auc']:.2f} on average" in method
    assert f"{meta['metrics']['calibration_fold']['precision']:.0%} of the sites it calls toxic" in method
    assert ("on the referring site&#x27;s name alone" in method or "on the referring site's name alone" in method) == p.knows_names_only
    # A run's own thresholds are the ones shown, with the model's named.
    own = R.ModelFacts.of(p, Policy(toxic_threshold=0.9, review_threshold=0.5))
    method = R.build_report(_scored(), _domains(), model=own).split('id="method"')[1]
    assert "risk ≥ 0.900 (toxicity ≥ 90)" in method and f"the model&#x27;s are {t:.3f} (toxic)" in method
    # Without facts: no model numbers, still what the score means.
    bare = R.build_report(_scored(), _domains()).split('id="method"')[1]
    assert 'id="bands"' not in bare and "ROC AUC" not in bare and "rescaled" in bare


def test_run_info_round_trips(tmp_path):
    import toxlink

    facts = R.ModelFacts.of(toxlink.Predictor.load())
    R.write_run_info(tmp_path / "run-info.json", facts)
    assert R.read_run_info(tmp_path / "run-info.json") == facts
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert R.read_run_info(tmp_path / "bad.json") is None and R.read_run_info(tmp_path / "none.json") is None
    assert R.read_run_branding(tmp_path / "run-info.json") == R.Branding() == R.read_run_branding(tmp_path / "bad.json")
    # the branding of the run's report is kept with the facts; a logo that is not an image is not
    (tmp_path / "logo.png").write_bytes(PNG_1PX)
    brand = R.Branding.read("ACME", tmp_path / "logo.png")
    R.write_run_info(tmp_path / "run-info.json", facts, brand)
    assert R.read_run_info(tmp_path / "run-info.json") == facts and R.read_run_branding(tmp_path / "run-info.json") == brand
    html_logo = "data:image/png;base64," + base64.b64encode(b"<html>").decode()
    for logo in (html_logo, "javascript:alert(1)", brand.logo + "!", 42):
        (tmp_path / "edited.json").write_text(json.dumps({"branding": {"client": "ACME", "logo": logo}}), encoding="utf-8")
        assert R.read_run_branding(tmp_path / "edited.json") == R.Branding(client="ACME"), logo


def _profiled() -> pd.DataFrame:
    s = _scored()
    s[S.NOFOLLOW] = pd.array([True, False, False, None, True, False, True, None, False, False], dtype="boolean")
    s[S.SPONSORED] = pd.array([False, False, False, False, False, True, False, None, False, False], dtype="boolean")
    s[S.DOMAIN_RATING] = [5.0, 12.0, 80.0, 81.0, 45.0, 45.0, 5.0, np.nan, 2.0, 100.0]
    s[S.LANGUAGE] = pd.array(["en", " EN", "de", "de", "en", "", "en", None, "ru", "en"], dtype="string")
    return s


def test_link_profile_counts_follow_authority_and_languages():
    s = _profiled()
    counted = s[s[S.DUPLICATE_OF].isna()]
    acc = R.ReportAccumulator().update(s)
    follow = acc.follow_table()
    hint = counted[S.NOFOLLOW].fillna(False) | counted[S.SPONSORED].fillna(False)
    known = counted[S.NOFOLLOW].notna()
    assert follow.loc["nofollow", "links"] == int((hint & known).sum()) == 3  # rows 0, 4, sponsored 5 (not the duplicate 6)
    assert follow.loc["dofollow", "links"] == int((~hint & known).sum())
    assert follow.loc["nofollow", "toxic"] == 1
    dr = acc.authority_tables()[S.DOMAIN_RATING]
    assert list(dr.index) == ["0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90-100"]
    assert dr["links"].tolist() == [2, 1, 0, 0, 2, 0, 0, 0, 2, 1]  # 100 is in the last bin; NaN not counted
    assert S.TRUST_FLOW not in acc.authority_tables()
    lang = acc.place_table(S.LANGUAGE)
    assert lang["links"].to_dict() == {"en": 4, "de": 2, "ru": 1}  # trimmed, lower-cased, empty not counted
    assert acc.place_table("country").empty
    # From one chunk or row by row, and back from links.csv's text: the same page.
    doc = R.build_report(s, _domains(), generated=GENERATED)
    assert doc == R.build_report_from(_accumulate([s.iloc[[i]] for i in range(len(s))]), _domains(), generated=GENERATED)
    text = s.astype(object).where(s.notna(), None).astype("string")
    text[S.RISK] = s[S.RISK]
    text[S.FIRST_SEEN] = s[S.FIRST_SEEN]
    assert R.ReportAccumulator().update(text).follow == acc.follow
    assert R.ReportAccumulator().update(text).authority == acc.authority
    for part in ('id="link-profile"', 'id="chart-follow"', 'id="chart-domain_rating"', 'id="chart-language"'):
        assert part in doc
    assert 'id="link-profile"' not in R.build_report(_scored(), _domains())  # nothing to show: no section


def test_runs_own_anchor_categories_are_shown_when_links_have_them():
    s = _scored()
    s["anchor_category"] = pd.array(["exact_match"] * 5 + [None] * 5, dtype="string")
    mix = R.ReportAccumulator().update(s).anchor_mix()
    assert mix.loc["exact_match", "links"] == 5 and mix.loc["unknown", "links"] == 4  # duplicate not counted


def test_table_has_every_flagged_domain_and_the_facts_the_rollup_has():
    from toxlink.report.table import table_data

    domains = R.rollup_frame(_domains())
    data = table_data(domains)
    keys = [c["key"] for c in data["columns"]]
    assert [r[0][0] for r in data["rows"]] == R.top_toxic_domains(domains, top=100)[S.DOMAIN].tolist()
    assert "domain_rating" not in keys and "example_url" not in keys
    more = domains.assign(domain_rating=[10.0, None, 3.0, 50.0, 1.0, None], example_url=None)
    data = table_data(more)
    keys = [c["key"] for c in data["columns"]]
    assert "domain_rating" in keys and "example_url" not in keys  # a column with no value is left out
    row = dict(zip(keys, data["rows"][0]))
    assert row["domain"] == ["spam.xyz", None] and row["tld"] == ".xyz" and row["domain_rating"] == 10.0
    assert row["action"] == ["disavow-domain", False, False, 0] and row["toxicity"] == 95
    assert row["why"] == [f"title says {XSS}", "pharma words in the domain"]




def test_top_anchors_and_the_anchor_profile_are_in_the_report():
    s = _scored()
    s[S.ANCHOR] = pd.array(["Buy Cheap  Pills", "buy cheap pills", "Acme", " acme ", "ACME", None, "", "click here",
                            "click here", "x"], dtype="string")
    s["anchor_category"] = pd.array(["exact_match", "exact_match", "branded", "branded", "branded", None, "empty",
                                     "generic", "generic", "other"], dtype="string")
    acc = R.ReportAccumulator().update(s)
    top = acc.top_anchors()
    counted = R.counted_links(s)  # the duplicate row is not counted
    expected = counted[S.ANCHOR].str.strip().str.replace(r"\s+", " ", regex=True).str.lower()
    expected = expected[expected.notna() & expected.ne("")].value_counts()
    assert top["links"].to_dict() == expected.to_dict()
    assert list(top["links"]) == sorted(top["links"], reverse=True)
    assert top.loc["acme", "category"] == "branded" and top.loc["buy cheap pills", "category"] == "exact_match"
    assert (top[list(S.BANDS)].sum(axis=1) == top["links"]).all()
    # Chunking does not change it.
    again = R.ReportAccumulator()
    for part in (s.iloc[:4], s.iloc[4:]):
        again.update(part)
    pd.testing.assert_frame_equal(again.top_anchors(), top)
    html = R.build_report(s, _domains())
    assert 'id="top-anchors"' in html and 'id="anchor-profile"' in html and "exact-match commercial" in html
    assert R.ReportAccumulator().top_anchors().empty
