"""Batch scoring of export files into an output folder (what ``toxlink score`` runs).

Two passes over the exports keep memory bounded whatever their size:

1. read every chunk and aggregate the per-domain profile (links per domain, anchors,
   subnets, titles, first-seen histogram);
2. read again, score each chunk against those whole-export aggregates, append it to
   ``links.csv`` and keep only the slim columns the domain roll-up needs.

Outputs (each written atomically: complete or absent):
``links.csv`` (every input row, with risk, band, reasons), ``domains.csv``,
``disavow.txt`` (the existing file with new entries appended), ``disavow-new.txt``
(only the new entries), ``disavow-diff.csv`` and optionally ``report.html``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from toxlink import schema as S

#: Columns of links.csv, in order.
LINK_OUTPUT_COLUMNS = list(S.COLUMNS) + [S.HOST, S.DOMAIN, S.RISK, S.BAND, S.REASONS]
#: What the roll-up needs of each scored link (kept in memory across chunks).
ROLLUP_COLUMNS = [S.SOURCE_URL, S.TARGET_URL, S.ANCHOR, S.FIRST_SEEN, S.HOST, S.DOMAIN, S.RISK, S.BAND,
                   S.REASONS, S.DUPLICATE_OF, S.ROW_ISSUE]


@dataclass
class ScoreSummary:
    """What a scoring run did, for the CLI's summary table and for tests."""

    out_dir: Path
    rows: int = 0
    bands: dict = field(default_factory=dict)
    duplicates: int = 0
    domains: int = 0
    actions: dict = field(default_factory=dict)
    disavow_added: int = 0
    disavow_present: int = 0
    disavow_whitelisted: int = 0
    files: dict = field(default_factory=dict)
    stage_seconds: dict = field(default_factory=dict)


def score_exports(
    paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    predictor=None,
    model: str | None = None,
    policy=None,
    export_format: str | None = None,
    existing_disavow: str | os.PathLike | None = None,
    chunksize: int = 100_000,
    report: bool = False,
    on_chunk: Callable[[str, int], None] | None = None,
) -> ScoreSummary:
    """Score *paths* into *out_dir*; see the module docstring for the outputs.

    *on_chunk(stage, rows)* is called after each chunk of each pass (progress bars).
    """
    import time

    from toxlink import exports
    from toxlink.features import ProfileAccumulator
    from toxlink.outputs import CsvSink
    from toxlink.predictor import Predictor, with_hosts

    out_dir = Path(out_dir)
    predictor = predictor or Predictor.load(model, policy=policy)
    summary = ScoreSummary(out_dir=out_dir)
    existing = read_existing(existing_disavow)

    t0 = time.perf_counter()
    acc = ProfileAccumulator()
    for chunk in exports.iter_export(paths, format=export_format, chunksize=chunksize):
        acc.update(with_hosts(chunk))
        if on_chunk:
            on_chunk("profile", len(chunk))
    profile = acc.finish()
    t1 = time.perf_counter()

    slim = []
    with CsvSink(out_dir / "links.csv", LINK_OUTPUT_COLUMNS) as sink:
        for chunk in exports.iter_export(paths, format=export_format, chunksize=chunksize):
            scored = predictor.score(with_hosts(chunk), profile=profile)
            sink.write(scored)
            slim.append(scored[ROLLUP_COLUMNS])
            if on_chunk:
                on_chunk("score", len(chunk))
    t2 = time.perf_counter()

    summary.stage_seconds = {"profile pass": t1 - t0, "score pass": t2 - t1}
    return finish_outputs(slim, predictor, existing, out_dir, summary, report=report)


def finish_outputs(slim: list[pd.DataFrame], predictor, existing, out_dir: Path, summary: ScoreSummary,
                   report: bool = False) -> ScoreSummary:
    """Roll the scored links (slim columns, in input order) up to domains and write every output
    but ``links.csv``: ``domains.csv``, the merged and new disavow files, the diff, the report."""
    import time

    from toxlink.disavow import DisavowFile
    from toxlink.outputs import write_csv

    t2 = time.perf_counter()
    links = pd.concat(slim, ignore_index=True) if slim else _empty_slim()
    domains = predictor.recommend(links)
    write_csv(domains, out_dir / "domains.csv")
    new = DisavowFile.from_recommendations(domains)
    merged, diff = existing.merge(new, whitelist=predictor.policy.whitelist)
    merged.write(out_dir / "disavow.txt")
    diff.added_file().write(out_dir / "disavow-new.txt")
    write_csv(diff.to_frame(), out_dir / "disavow-diff.csv")
    names = ["links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv"]
    if report:
        from toxlink.report import write_report

        write_report(out_dir / "report.html", links, domains, diff=diff)
        names.append("report.html")
    summary.files = {name: out_dir / name for name in names}
    counted = links[links[S.DUPLICATE_OF].isna()]
    summary.rows = len(links)
    summary.duplicates = int(links[S.DUPLICATE_OF].notna().sum())
    summary.bands = {b: int((counted[S.BAND] == b).sum()) for b in S.BANDS}
    summary.domains = len(domains)
    summary.actions = domains["action"].value_counts().to_dict() if len(domains) else {}
    summary.disavow_added = len(diff.added)
    summary.disavow_present = len(diff.already_present)
    summary.disavow_whitelisted = len(diff.whitelisted)
    summary.stage_seconds["roll-up and outputs"] = time.perf_counter() - t2
    return summary


def read_existing(path):
    """The user's existing disavow file (empty when none). Read first, so that a parse error
    stops the run before any work is done."""
    from toxlink.disavow import DisavowFile

    return DisavowFile.read(path) if path else DisavowFile()


def _empty_slim() -> pd.DataFrame:
    from toxlink.predictor import with_hosts

    frame = with_hosts(S.empty_links())
    frame[S.RISK] = pd.Series(dtype="float64")
    frame[S.BAND] = pd.Series(dtype="object")
    frame[S.REASONS] = pd.Series(dtype="string")
    return frame[ROLLUP_COLUMNS]
