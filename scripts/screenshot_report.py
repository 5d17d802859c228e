"""Render a toxlink HTML report to a full-page PNG with headless chromium (for reviewers).

Two sources of input:

- ``--links scored.csv --domains domains.csv [--disavow-diff diff.json]``: real outputs of
  ``toxlink score`` (scored links with host/domain/risk/band/reasons) and the per-domain
  roll-up.
- nothing: a **DEMO** profile: ``benchmarks/synth.py`` links with *fake* risk scores made up
  deterministically from a few lexical cues (not the model!). The report title says so.

Examples
--------
    python scripts/screenshot_report.py --n 5000 --out /tmp/report.png --html /tmp/report.html
    python scripts/screenshot_report.py --links out/links.csv --domains out/domains.csv --out r.png

Needs Debian's chromium (``.ci/install-chromium.sh``). Chromium runs twice: once to measure
the rendered page height (``--dump-dom``), once to take the screenshot at that height.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from toxlink import report  # noqa: E402
from toxlink import schema as S  # noqa: E402
from toxlink import urls  # noqa: E402

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--disable-extensions", "--mute-audio",
]


def demo_inputs(n: int = 5000, seed: int = 0):
    """A DEMO scored table, domain roll-up and disavow diff from a synthetic profile.

    Risk is invented (spam words in the domain, cheap TLDs, the network page title,
    vendor spam flag, plus seeded noise) purely to exercise the report's layout; the
    roll-up (:func:`toxlink.policy.recommend_domains`, three toxic ``.org`` sites whitelisted)
    and the disavow merge (:meth:`toxlink.disavow.DisavowFile.merge`) are the real ones.

    Returns ``(scored, domains, diff)``.
    """
    from synth import synth_links

    links = synth_links(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    # A handful of duplicates and unusable rows, as real exports have.
    dup = rng.random(n) < 0.02
    links.loc[dup, S.DUPLICATE_OF] = "synthetic:2"
    bad = rng.random(n) < 0.01
    links.loc[bad, S.SOURCE_URL] = "javascript:void(0)"
    links.loc[bad, S.ROW_ISSUE] = "scheme javascript is not http(s)"

    host = urls.hosts_of(links[S.SOURCE_URL])
    links[S.HOST] = host
    links[S.DOMAIN] = urls.domains_of(host)
    dom = links[S.DOMAIN].fillna("")
    spam_word = dom.str.contains(r"casino|slot|gacor|bet|loan|pharma|viagra|essay|backlinks|seo|cheap|pills|poker").to_numpy(bool)
    cheap_tld = dom.str.contains(r"\.(?:xyz|top|info|ru)$").to_numpy(bool)
    network = links[S.PAGE_TITLE].eq("Best Casino Bonus Guest Post").fillna(False).to_numpy(bool)
    logit = (-3.2 + 3.5 * spam_word + 1.3 * cheap_tld + 2.5 * network
             + 1.5 * links[S.VENDOR_SPAM].fillna(False).to_numpy(bool)
             + 0.8 * links[S.SITEWIDE].fillna(False).to_numpy(bool) + rng.normal(0, 1.0, n))
    risk = 1 / (1 + np.exp(-logit))
    ok = links[S.ROW_ISSUE].isna().to_numpy()
    links[S.RISK] = np.where(ok, risk, np.nan)
    links[S.BAND] = np.where(~ok, "rejected", np.where(risk >= 0.7, "toxic", np.where(risk >= 0.4, "review", "ok")))
    reasons = np.select(
        [spam_word, network, cheap_tld],
        ["the domain name contains gambling or pharma spam words",
         "the page title 'Best Casino Bonus Guest Post' is shared by a network of sites",
         "the TLD is one spammers register cheaply"],
        "no strong spam signal",
    )
    links[S.REASONS] = np.where(ok, reasons, "not scored: " + links[S.ROW_ISSUE].fillna(""))

    # The real roll-up and merge (only the scores above are fake).
    from toxlink.disavow import DisavowFile
    from toxlink.policy import Policy, Whitelist, recommend_domains

    toxic_org = links.loc[links[S.BAND].eq("toxic") & links[S.DOMAIN].str.endswith(".org").fillna(False).to_numpy(bool), S.DOMAIN]
    whitelist = Whitelist.from_entries(toxic_org.drop_duplicates().head(3))
    domains = recommend_domains(links, Policy(whitelist=whitelist))
    new = DisavowFile.from_recommendations(domains)
    # Pretend every third recommended domain was disavowed at the last audit.
    old_entries = [f"domain:{d}" for d in domains.loc[domains[S.ACTION] == "disavow-domain", S.DOMAIN].iloc[::3]]
    old = DisavowFile.from_entries(old_entries + ["domain:old-network-1.top", "domain:old-network-2.top"], date="2025-06-30")
    _, diff = old.merge(new, whitelist=whitelist)
    return links, domains, diff


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("chromium not found: run .ci/install-chromium.sh")


def _run(chromium: str, args: list[str], width: int, height: int) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="toxlink-chromium-") as profile:
        return subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "--virtual-time-budget=5000", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )


def screenshot(html_path: Path, png_path: Path, width: int = 1280, height: int | None = None) -> Path:
    """Write a PNG of *html_path* rendered *width* px wide; full page height by default."""
    chromium = find_chromium()
    html_path = Path(html_path).resolve()
    if height is None:
        # Measure the page: a copy of the report that writes its own height into the DOM.
        probe = html_path.with_name(f".{html_path.stem}.probe.html")
        text = html_path.read_text(encoding="utf-8")
        marker = ("<script>window.addEventListener('load',function(){setTimeout(function(){"
                  "document.body.setAttribute('data-height',document.documentElement.scrollHeight)},300)})</script>")
        probe.write_text(text.replace("</body>", marker + "</body>", 1), encoding="utf-8")
        try:
            dom = _run(chromium, ["--dump-dom", probe.as_uri()], width, 1000).stdout
        finally:
            probe.unlink(missing_ok=True)
        m = re.search(r'data-height="(\d+)"', dom)
        height = int(m.group(1)) if m else 4000
    png_path = Path(png_path).resolve()
    res = _run(chromium, [f"--screenshot={png_path}", html_path.as_uri()], width, height)
    if not png_path.exists():
        sys.exit(f"chromium wrote no screenshot:\n{res.stderr[-2000:]}")
    return png_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scored-dir", help="output folder of `toxlink score` (links.csv, domains.csv, disavow-diff.csv)")
    ap.add_argument("--links", help="scored links CSV (with host, domain, risk, band, reasons)")
    ap.add_argument("--domains", help="per-domain roll-up CSV")
    ap.add_argument("--disavow-diff", help='JSON {"added": [...], "already_present": [...], "whitelisted": [...], "existing_entries": N}')
    ap.add_argument("--n", type=int, default=5000, help="demo profile size (without --links)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="report.png", help="PNG to write")
    ap.add_argument("--html", help="also keep the HTML report here")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, help="fixed viewport height (default: whole page)")
    args = ap.parse_args(argv)

    if args.scored_dir:
        with tempfile.TemporaryDirectory(prefix="toxlink-report-") as tmp:
            html_path = Path(args.html) if args.html else Path(tmp) / "report.html"
            report.report_from_dir(args.scored_dir, html_path)
            png = screenshot(html_path, Path(args.out), width=args.width, height=args.height)
        print(f"wrote {png} ({os.path.getsize(png):,} bytes)")
        return
    if args.links or args.domains:
        if not (args.links and args.domains):
            ap.error("--links and --domains go together")
        scored = pd.read_csv(args.links, dtype={c: "string" for c in S.STRING + (S.DUPLICATE_OF, S.ROW_ISSUE, S.BAND, S.REASONS, S.HOST, S.DOMAIN)},
                             parse_dates=[c for c in S.DATE])
        domains = pd.read_csv(args.domains)
        diff = json.loads(Path(args.disavow_diff).read_text()) if args.disavow_diff else None
        title = None
    else:
        scored, domains, diff = demo_inputs(args.n, args.seed)
        title = f"DEMO report — synthetic profile, fake scores ({args.n:,} links)"

    with tempfile.TemporaryDirectory(prefix="toxlink-report-") as tmp:
        html_path = Path(args.html) if args.html else Path(tmp) / "report.html"
        report.write_report(html_path, scored, domains, diff=diff, title=title)
        png = screenshot(html_path, Path(args.out), width=args.width, height=args.height)
    print(f"wrote {png} ({os.path.getsize(png):,} bytes)" + (f" and {args.html}" if args.html else ""))


if __name__ == "__main__":
    main()
