"""The scoring engine: what ``toxlink score`` runs, one plain stage after another.

::

    export files ─► read_exports ──► spool: canonical links + host, domain + profile keys   (pass 1)
    spool ───────► profile_of ─────► ProfileStats (DuckDB group-bys over the spool)
    policy ──────► run_policy ─────► the run's Policy: the audited site's own domains whitelisted
    spool batches ─► score_batches ─► links.csv rows; Tally (roll-up, report, counts)       (pass 2)
    Tally ───────► write_outputs ──► domains.csv, disavow.txt, disavow-new.txt,
                                      disavow-diff.csv, report.html

Each stage is a function of its inputs; none changes what it is handed (the caller's
``Predictor`` and ``Policy`` included). The Dask engine (:mod:`toxlink.scale`) runs the same
stages, with pass 2's batches split among the workers. The outputs are written in a staging
folder and moved into place together at the end (:func:`staged_outputs`): the output folder
holds one run's files, never a mix; the spool is removed when the run ends, whatever happens.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.spool import Spool
from toxlink.timings import Timings

#: Columns the scoring adds (toxlink.predictor.Predictor.score).
SCORING_COLUMNS = (S.RISK, S.TOXICITY, S.BAND, S.REASONS, S.ANCHOR_CATEGORY)
#: Columns of links.csv, in order.
LINK_OUTPUT_COLUMNS = list(S.COLUMNS) + [S.HOST, S.DOMAIN, *SCORING_COLUMNS]

#: ``on_chunk(stage, amount, total)``: *amount* more done in *stage*, of *total* when known.
#: Pass 1 reports ``read`` (rows, no total) and ``read bytes`` (bytes of the exports, of their
#: size); pass 2 ``score`` (rows, of the rows pass 1 read). Every other stage (:data:`STAGES`)
#: is reported once, as ``(stage, 0, None)``, when it starts.
OnChunk = Callable[[str, int, "int | None"], None]
#: The stages reported when they start, in order (``changes`` and ``report`` only when run).
STAGES = ("profile", "model", "domains", "changes", "report")


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
    disavow_overflow: int = 0  # new entries that Google's limits left out of disavow.txt
    disavow_present: int = 0
    disavow_whitelisted: int = 0
    files: dict = field(default_factory=dict)
    stage_seconds: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    tasks: list = field(default_factory=list)  # the Dask engine's: one dict per task (worker, rows, seconds)


def prefetched(items: Iterable) -> Iterator:
    """The items of *items*, each produced in a worker thread while the caller works on the
    one before.

    Reading, Arrow compute, LightGBM and numpy release the GIL for most of their work, so on
    a second core the next chunk is read while the caller works on this one. Together with
    :func:`in_order` in pass 2, ``benchmarks/threads.py`` measured the 1M-link
    ``toxlink score`` at 16.6 s with the threads and 19.1 s without (1.15x, best of 2, 2
    cores): short of the 1.5x a hand-written fast path must show, but these are the
    standard library's thread pools, not a replacement for a library's work, and without
    them the run is further behind the code it replaced. At most two items are alive at
    once. An error in the producer is raised here, unchanged.
    """
    end = object()
    it = iter(items)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="toxlink-prefetch") as pool:
        pending = pool.submit(next, it, end)
        while True:
            item = pending.result()
            if item is end:
                return
            pending = pool.submit(next, it, end)
            yield item
            del item


#: Chunks scored at once in pass 2, each in a thread of its own.
SCORING_THREADS = 2


def in_order(fn: Callable, items: Iterable, workers: int) -> Iterator:
    """``fn(item)`` for each of *items*, up to *workers* of them at once in threads, the
    results in the items' order. At most *workers* + 1 results are alive at once. An
    error in *fn* is raised here, unchanged."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="toxlink-score") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _timed(items: Iterable, timings: Timings, stage: str) -> Iterator:
    """The items of *items*, the time spent producing each charged to *stage*."""
    it, end = iter(items), object()
    while True:
        with timings.stage(stage):
            item = next(it, end)
        if item is end:
            return
        yield item


# -- pass 1 ---------------------------------------------------------------------------------------

def read_exports(paths: Sequence[str | os.PathLike], spool: Spool, *, export_format: str | None = None,
                 chunksize: int = 100_000, timings: Timings, on_chunk: OnChunk | None = None,
                 notes: list[str] | None = None) -> set[str]:
    """Pass 1: read the exports into *spool*, one record batch per chunk.

    Input: export files (:func:`toxlink.exports.iter_export`). Output: batches with the
    canonical columns (``schema.COLUMNS``, every input row once), ``host`` and ``domain``
    (:func:`toxlink.urls.with_hosts`) and the profile keys of
    :data:`toxlink.features.profile.DERIVED_KEYS`. Returns the registrable domains of the
    target URLs: the audited site's own. *notes* receives how each file was read
    (encoding, rows with undecodable bytes, ...).
    """
    from toxlink.exports import iter_export
    from toxlink.features.profile import profile_keys
    from toxlink.policy import own_sites
    from toxlink.urls import with_hosts

    own: set[str] = set()
    reached = [(0, 0)]  # (bytes read, of total): the latest the reader reported, from its thread
    shown = 0

    def bytes_read(done: int, total: int) -> None:
        reached[0] = (done, total)  # one store of a tuple: the other thread sees all of it or none

    if on_chunk:  # the pass's clock starts now, not with its first chunk
        on_chunk("read", 0, None)
    chunks = _timed(iter_export(paths, format=export_format, chunksize=chunksize,
                                on_bytes=bytes_read if on_chunk else None, notes=notes), timings, "read")
    for chunk in prefetched(chunks):
        with timings.stage("hosts"):
            chunk = with_hosts(chunk)
            own |= own_sites(chunk[S.TARGET_URL])
        with timings.stage("profile keys"):
            keys = profile_keys(chunk)
        with timings.stage("spool"):
            spool.append(chunk, keys)
        if on_chunk:  # called here, in the caller's thread, not in the reader's
            done, total = reached[0]
            on_chunk("read bytes", done - shown, total)
            shown = done
            on_chunk("read", len(chunk), None)
    if on_chunk and reached[0][0] > shown:  # the end of the last file, after its last chunk
        on_chunk("read bytes", reached[0][0] - shown, reached[0][1])
    with timings.stage("spool"):
        spool.finish()
    return own


def profile_of(spool: Spool, timings: Timings):
    """The whole-export profile aggregates (:class:`toxlink.features.ProfileStats`) of the
    spool's rows: DuckDB group-bys over its Arrow file."""
    from toxlink.features.profile import KEYS_SCHEMA, profile_stats

    with timings.stage("profile"):
        return profile_stats(spool.dataset() if spool.batch_rows else KEYS_SCHEMA.empty_table())


def run_policy(policy, own: set[str]) -> tuple[object, list[str]]:
    """The run's policy: *policy* with the audited site's domains *own* whitelisted (a new
    value; *policy* is unchanged), and the note that says so."""
    notes = []
    if own:
        shown = ", ".join(sorted(own)[:5]) + (f" and {len(own) - 5} more" if len(own) > 5 else "")
        notes.append(f"links from your own site ({shown}, from the target URLs) are never disavowed")
    return policy.with_own_sites(own), notes


# -- pass 2 ---------------------------------------------------------------------------------------

class Tally:
    """What the outputs after ``links.csv`` need, aggregated chunk by chunk (update / merge).

    The domain roll-up (``RollupAccumulator``), the report's aggregates
    (``ReportAccumulator``, with *report*) and the summary's counts. They grow with the
    referring sites, days and TLDs of the export, not with its links. Tallies of parts of
    the export (Dask workers) merge, in input order, into the tally of the whole.
    """

    def __init__(self, policy, report: bool = False):
        from toxlink.policy import RollupAccumulator

        self.rollup = RollupAccumulator(policy)
        self.report = None
        if report:
            from toxlink.report import ReportAccumulator

            self.report = ReportAccumulator()
        self.rows = 0
        self.duplicates = 0
        self.bands = dict.fromkeys(S.BANDS, 0)

    def update(self, scored: pd.DataFrame) -> "Tally":
        self.rollup.update(scored)
        if self.report is not None:
            self.report.update(scored)
        dup = scored[S.DUPLICATE_OF].notna().to_numpy()
        self.rows += len(scored)
        self.duplicates += int(dup.sum())
        for band, n in scored[S.BAND][~dup].value_counts().items():
            self.bands[band] = self.bands.get(band, 0) + int(n)
        return self

    def merge(self, other: "Tally") -> "Tally":
        self.rollup.merge(other.rollup)
        if self.report is not None:
            self.report.merge(other.report)
        self.rows += other.rows
        self.duplicates += other.duplicates
        for band, n in other.bands.items():
            self.bands[band] = self.bands.get(band, 0) + n
        return self


def score_batches(spool_path: str | os.PathLike, batches: Iterable[int], predictor, profile, policy, csv, *,
                  report: bool = False, timings: Timings, on_chunk: OnChunk | None = None,
                  total: int | None = None) -> Tally:
    """Pass 2: score the spool's record *batches* in order.

    Input: a spool file (:func:`read_exports`), the whole-export *profile*
    (:func:`profile_of`) and the run's *policy* (:func:`run_policy`). Output: each scored
    chunk's rows, columns :data:`LINK_OUTPUT_COLUMNS` (the links plus ``risk``, ``band``,
    ``reasons``), appended to *csv* (a :class:`toxlink.outputs.CsvWriter`), and the
    :class:`Tally` of the scored chunks. *on_chunk* hears of each chunk as one of *total* rows.
    """
    from toxlink.spool import read_batch

    columns = [name for name in LINK_OUTPUT_COLUMNS if name not in SCORING_COLUMNS]

    def scored(i: int) -> pd.DataFrame:
        with timings.stage("spool read"):
            chunk = read_batch(spool_path, i, columns)
        return predictor.score(chunk, profile=profile, timings=timings)

    tally = Tally(policy, report=report)
    for scored in in_order(scored, batches, workers=SCORING_THREADS):
        with timings.stage("links.csv"):
            csv.write(scored)
        with timings.stage("roll-up and report"):
            tally.update(scored)
        if on_chunk:
            on_chunk("score", len(scored), total)
    return tally


# -- the other outputs ------------------------------------------------------------------------------

def write_outputs(tally: Tally, policy, existing, out_dir: Path, notes: list[str], timings: Timings, *,
                  bom: bool = False, previous: str | os.PathLike | None = None,
                  on_chunk: OnChunk | None = None, model=None, branding=None, label_rows: int = 100) -> ScoreSummary:
    """Every output but ``links.csv``, from the *tally* of the scored links.

    Writes ``domains.csv`` (the roll-up, columns ``schema.ROLLUP_COLUMNS``), ``disavow.txt``
    (*existing* with the new entries appended), ``disavow-new.txt``, ``disavow-diff.csv``,
    ``disavow-overflow.txt`` when Google's limits leave no room, and ``report.html`` when
    the tally has a report (with a section on the changes since the audit in the folder
    *previous*, when given, and with *branding*, a :class:`toxlink.report.Branding`),
    ``run-info.json`` with *model* (:class:`toxlink.report.ModelFacts`: what the report's
    methodology quotes) and *branding*, kept so that ``toxlink report`` rebuilds the same
    page, and
    ``label-next.csv`` (the *label_rows* sites to label next, :mod:`toxlink.labelnext`; none
    when 0). Returns the run's :class:`ScoreSummary`: counts, files, and *notes* followed by
    the notes of this stage.
    """
    from toxlink.disavow import merge_within_limits
    from toxlink.outputs import atomic_write, write_csv

    summary = ScoreSummary(out_dir=out_dir, notes=list(notes))
    if on_chunk:
        on_chunk("domains", 0, None)
    with timings.stage("domain roll-up"):
        domains = tally.rollup.finish()
    with timings.stage("domains.csv and disavow files"):
        write_csv(domains, out_dir / "domains.csv", bom=bom)
        merged, diff, overflow, limit_notes = merge_within_limits(existing, domains, policy.whitelist)
        merged.write(out_dir / "disavow.txt")
        diff.added_file().write(out_dir / "disavow-new.txt")
        write_csv(diff.to_frame(), out_dir / "disavow-diff.csv", bom=bom)
        summary.notes.extend(limit_notes)
        if overflow is not None:
            with atomic_write(out_dir / "disavow-overflow.txt") as fh:  # not for upload: no limit check
                fh.write(overflow.to_text())
            summary.files["disavow-overflow.txt"] = out_dir / "disavow-overflow.txt"
            summary.disavow_overflow = len(overflow.entries)
    names = ["links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv"]
    if model is not None or branding is not None:  # `toxlink report` rebuilds the page from both
        from toxlink.report import write_run_info

        write_run_info(out_dir / "run-info.json", model, branding)
        names.append("run-info.json")
    if label_rows > 0:
        from toxlink.labelnext import LABEL_NEXT_FILE, label_next

        with timings.stage("label-next.csv"):
            decided = [value for kind, value in existing.entries if kind == "domain"]
            ask = label_next(domains, policy.thresholds(), rows=label_rows,
                             labelled=decided)
            write_csv(ask, out_dir / LABEL_NEXT_FILE, bom=bom)
        names.append(LABEL_NEXT_FILE)
    if tally.report is not None:
        from toxlink.report import write_report_from

        changes_html = ""
        if previous is not None:  # links.csv and domains.csv of this run are complete by now
            from toxlink.report.changes import previous_audit_section

            if on_chunk:
                on_chunk("changes", 0, None)
            with timings.stage("changes since the previous audit"):
                changes_html = previous_audit_section(previous, out_dir)
        if on_chunk:
            on_chunk("report", 0, None)
        with timings.stage("report"):
            write_report_from(tally.report, out_dir / "report.html", domains, diff=diff, changes_html=changes_html,
                              model=model, branding=branding)
        names.append("report.html")
    summary.files = {**{name: out_dir / name for name in names}, **summary.files}
    summary.rows = tally.rows
    summary.duplicates = tally.duplicates
    summary.bands = {b: tally.bands.get(b, 0) for b in S.BANDS}
    summary.domains = len(domains)
    summary.actions = domains[S.ACTION].value_counts().to_dict() if len(domains) else {}
    summary.disavow_added = len(diff.added)
    summary.disavow_present = len(diff.already_present)
    summary.disavow_whitelisted = len(diff.whitelisted)
    summary.stage_seconds = dict(timings.seconds)
    return summary


def read_existing(path):
    """The user's existing disavow file (empty when none). Read first, so that a parse error
    stops the run before any work is done."""
    from toxlink.disavow import DisavowFile

    return DisavowFile.read(path) if path else DisavowFile()


#: What a run may write into its output folder.
OUTPUT_FILES = ("links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv",
                "disavow-overflow.txt", "report.html", "run-info.json", "label-next.csv")


def check_previous(previous: str | os.PathLike | None, out_dir: Path) -> None:
    """Refuse a previous audit (``--previous``) that is not a run folder, or that is
    *out_dir* itself (the run would replace the audit it is compared with)."""
    if previous is None:
        return
    from toxlink.compare import check_run

    if Path(previous).resolve() == out_dir.resolve():
        raise FileExistsError(errno.EEXIST, "is the output folder of this run, which would replace the audit it "
                                            "compares with; choose another output folder (-o)", str(previous))
    check_run(previous)


def check_output_folder(out_dir: Path, inputs: Sequence[str | os.PathLike] = ()) -> None:
    """Refuse an output folder that is a file, or whose outputs would replace one of the
    *inputs* (scoring ``audit/links.csv`` into ``audit`` would overwrite the export read)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder; choose another output folder",
                                 str(out_dir))
    outputs = {(out_dir / name).resolve() for name in OUTPUT_FILES}
    for path in inputs:
        if Path(path).resolve() in outputs:
            raise FileExistsError(errno.EEXIST, f"is an input of this run and toxlink score would write over it in "
                                                f"{out_dir}; choose another output folder (-o)", str(path))


@contextmanager
def claimed(out_dir: Path) -> Iterator[None]:
    """Hold *out_dir* for one run.

    A second run into the same folder while this one is writing stops with a message
    (an advisory lock on ``.toxlink.lock``, where the platform has ``fcntl``). Once the
    folder is held, what an interrupted run left behind -- its spool folder, the
    temporaries of its atomic writes, its staging folder -- is no one's and is removed
    (a staging folder whose outputs were all written is moved into place instead:
    :func:`toxlink.staging.recover`).
    """
    from toxlink.staging import recover

    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the run still cleans up after itself
        fcntl = None
    lock_path = out_dir / ".toxlink.lock"
    with open(lock_path, "w") as lock:
        if fcntl is not None:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FileExistsError(errno.EBUSY, "another toxlink run is writing into this folder; wait for it "
                                                   "or choose another output folder (-o)", str(out_dir)) from None
        try:
            for stale in out_dir.glob(".toxlink-spool-*"):
                shutil.rmtree(stale, ignore_errors=True)
            for name in OUTPUT_FILES:
                for stale in out_dir.glob(f".{name}.*.tmp"):
                    stale.unlink(missing_ok=True)
            recover(out_dir, OUTPUT_FILES)
            yield
        finally:
            lock_path.unlink(missing_ok=True)


def staged_outputs(out_dir: Path):
    """A :class:`toxlink.staging.Staging` folder inside *out_dir* for a run's outputs.

    The run writes its outputs into its ``dir``, then calls :func:`publish`. Leaving the
    context without publishing (an error, an interrupt) removes the staging folder and
    leaves *out_dir*'s files as they were.
    """
    from toxlink.staging import Staging

    return Staging(out_dir, OUTPUT_FILES)


def publish(staging, summary: ScoreSummary) -> ScoreSummary:
    """Move the outputs of *summary* (written in *staging*'s folder) into place together,
    removing those of an earlier run this one did not write (a ``report.html`` or
    ``disavow-overflow.txt`` that no longer belongs to the folder's ``links.csv``).

    Returns *summary* with the final folder and paths, and a note per file removed."""
    removed = staging.commit(summary.files)
    summary.out_dir = staging.out_dir
    summary.files = {name: staging.out_dir / name for name in summary.files}
    summary.notes.extend(f"removed {name} of an earlier run: this run did not write one" for name in removed)
    return summary


# -- the whole run ----------------------------------------------------------------------------------

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
    on_chunk: OnChunk | None = None,
    excel_bom: bool = False,
    previous: str | os.PathLike | None = None,
    branding=None,
    label_rows: int = 100,
) -> ScoreSummary:
    """Score the export files *paths* into the folder *out_dir*.

    Writes ``links.csv`` (every input row once, with ``risk``, ``band`` and ``reasons``),
    ``domains.csv``, ``disavow.txt`` (*existing_disavow* with the new entries appended),
    ``disavow-new.txt``, ``disavow-diff.csv`` and, with *report*, ``report.html``.

    Parameters
    ----------
    predictor : Predictor, optional
        Loaded from *model* and *policy* when not given; never changed by the run.
    on_chunk : callable ``(stage, rows, total)``, optional
        Called after each chunk of each pass (progress bars): :data:`OnChunk`.
    excel_bom : bool
        Start the CSV files with a UTF-8 byte order mark (Excel on Windows).
    previous : path, optional
        The output folder of an earlier audit: the report gets a section on what changed.
    branding : toxlink.report.Branding, optional
        The client's name and logo on the report's first page.
    label_rows : int
        Rows of ``label-next.csv`` (the sites to label next); 0 writes none.
    """
    out_dir = Path(out_dir)
    check_output_folder(out_dir, paths)
    check_previous(previous, out_dir)
    existing = read_existing(existing_disavow)
    timings = Timings()
    out_dir.mkdir(parents=True, exist_ok=True)
    with claimed(out_dir), staged_outputs(out_dir) as staging:
        summary = _score_into(paths, staging.dir, existing, timings, predictor=predictor, model=model, policy=policy,
                              export_format=export_format, chunksize=chunksize, report=report, on_chunk=on_chunk,
                              bom=excel_bom, previous=previous, branding=branding, label_rows=label_rows)
        summary = publish(staging, summary)
    summary.notes[:0] = [f"your disavow file: {w}" for w in existing.warnings]
    return summary


def _score_into(paths, out_dir: Path, existing, timings: Timings, *, predictor, model, policy, export_format,
                chunksize: int, report: bool, on_chunk: OnChunk | None, bom: bool, previous,
                branding=None, label_rows: int = 100) -> ScoreSummary:
    """The stages of :func:`score_exports`, in order, writing into *out_dir* (the run's
    staging folder)."""
    from toxlink.outputs import CsvWriter
    from toxlink.predictor import Predictor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="toxlink-model") as loader:
        # The model loads (mostly importing LightGBM, which imports scikit-learn and scipy:
        # 1-2 s) while pass 1 reads; a load error stops the run after the chunk being read.
        loading = loader.submit(Predictor.load, model, policy=policy) if predictor is None else None

        def progress(stage: str, rows: int, total: int | None = None) -> None:
            if loading is not None and loading.done():
                loading.result()  # raises the load error, if any
            if on_chunk:
                on_chunk(stage, rows, total)

        with Spool(out_dir) as spool:
            read_notes: list[str] = []
            own = read_exports(paths, spool, export_format=export_format, chunksize=chunksize, timings=timings,
                               on_chunk=progress, notes=read_notes)
            if on_chunk:
                on_chunk("profile", 0, None)
            profile = profile_of(spool, timings)
            if on_chunk and loading is not None and not loading.done():
                on_chunk("model", 0, None)
            with timings.stage("waiting for the model"):
                predictor = predictor if loading is None else loading.result()
            policy, notes = run_policy(predictor.policy, own)
            notes = read_notes + notes
            with CsvWriter(out_dir / "links.csv", LINK_OUTPUT_COLUMNS, bom=bom) as csv:
                rows = sum(spool.batch_rows)
                if on_chunk:  # the bar's clock starts with the pass, not with its first chunk
                    on_chunk("score", 0, rows)
                tally = score_batches(spool.path, range(len(spool.batch_rows)), predictor, profile, policy, csv,
                                      report=report, timings=timings, on_chunk=on_chunk, total=rows)
    from toxlink.report import ModelFacts

    return write_outputs(tally, policy, existing, out_dir, notes, timings, bom=bom, previous=previous,
                         on_chunk=on_chunk, model=ModelFacts.of(predictor, policy), branding=branding,
                         label_rows=label_rows)
