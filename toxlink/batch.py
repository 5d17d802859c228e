"""Batch scoring of export files into an output folder (what ``toxlink score`` runs).

Two passes over the exports keep memory bounded whatever their size:

1. read every chunk and aggregate the per-domain profile (links per domain, anchors,
   subnets, titles, first-seen histogram);
2. read pass 1's chunks back from an Arrow cache, score each against those whole-export
   aggregates, append it to ``links.csv`` and add it to the :class:`Tally` (domain roll-up,
   report and summary aggregates), so the scored links are never all held in memory.

Outputs (each written atomically: complete or absent):
``links.csv`` (every input row, with risk, band, reasons), ``domains.csv``,
``disavow.txt`` (the existing file with new entries appended), ``disavow-new.txt``
(only the new entries), ``disavow-diff.csv`` and optionally ``report.html``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.memory import release_free_memory

#: Columns of links.csv, in order.
LINK_OUTPUT_COLUMNS = list(S.COLUMNS) + [S.HOST, S.DOMAIN, S.RISK, S.BAND, S.REASONS]

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
    notes: list = field(default_factory=list)


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
    workers: int | None = None,
) -> ScoreSummary:
    """Score *paths* into *out_dir*; see the module docstring for the outputs.

    *on_chunk(stage, rows)* is called after each chunk of each pass (progress bars).
    *workers* > 1 processes score pass 2's chunks in parallel: faster, but each worker holds
    its own model, profile and chunk, so memory grows with them (default 1: in this process,
    bounded memory). The outputs do not depend on it.
    """
    from toxlink import exports
    from toxlink.features import ProfileAccumulator
    from toxlink.outputs import CsvSink
    from toxlink.policy import own_sites
    from toxlink.predictor import Predictor, _Clock, with_hosts

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        import errno

        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder; choose another output folder",
                                 str(out_dir))
    # Worker processes load the model themselves, so they need its name, not an object.
    parallel = predictor is None
    summary = ScoreSummary(out_dir=out_dir)
    existing = read_existing(existing_disavow)
    # The model loads (mostly importing LightGBM) while pass 1 reads; a load error is
    # raised as soon as it is known, after the chunk being read.
    loading = _Background(lambda: Predictor.load(model, policy=policy)) if predictor is None else None

    workers = int(workers) if workers else 1
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = _ChunkCache(out_dir)
    try:
        acc = ProfileAccumulator()
        own: set[str] = set()

        def read_chunks():
            reader_clock = _Clock(timings)
            for chunk in exports.iter_export(paths, format=export_format, chunksize=chunksize):
                reader_clock("pass 1: read (reader thread)")
                yield chunk
                reader_clock.reset()

        def pass1_parts():
            # Hosts, the chunk's own part of the profile and its cache copy are made in a
            # thread of their own (reading alone keeps the reader busy); the main thread only
            # merges the parts into the whole-export aggregates.
            hosts_clock = _Clock(timings)
            for chunk in _ahead(read_chunks):
                hosts_clock.reset()
                chunk = with_hosts(chunk)  # rebound, not kept beside its copy
                hosts_clock("pass 1: hosts (hosts thread)")
                part = ProfileAccumulator().update(chunk)
                hosts_clock("pass 1: profile of the chunk (hosts thread)")
                cache.append(chunk)
                hosts_clock("pass 1: cache chunk (hosts thread)")
                yield len(chunk), own_sites(chunk[S.TARGET_URL]), part
                del chunk, part
            cache.finish_writing()  # here, beside the main thread's last merge
            hosts_clock("pass 1: cache chunk (hosts thread)")

        for rows, sites, part in _timed_chunks(_ahead(pass1_parts), clock, "pass 1: waiting for the reader"):
            if loading is not None:
                loading.raise_if_failed()
            own |= sites
            acc.merge(part)
            del part
            clock("pass 1: profile aggregates")
            if on_chunk:
                on_chunk("profile", rows)
        profile = acc.finish()
        del acc  # pass 2 needs only the finished aggregates
        release_free_memory()  # pass 1's temporaries, sets and duplicate keys are gone
        clock("pass 1: profile aggregates")
        if loading is not None:
            predictor = loading.result()
            clock("waiting for the model")
        protect_own_sites(predictor, own, summary)

        # the roll-up's per-chunk reason counts and toxic URLs wait for the end in a file beside the outputs
        tally = Tally(predictor.policy, report=report, spill_dir=out_dir)
        sink = CsvSink(out_dir / "links.csv", LINK_OUTPUT_COLUMNS)
        try:
            # (the hosts thread finished writing the cache after pass 1's last chunk)
            if parallel and workers > 1 and cache.n_chunks >= 2 * workers:
                clock.reset()
                for rows, data, part, stages in _score_in_processes(cache, model, predictor.policy, profile,
                                                                    report, workers):
                    clock("pass 2: scoring in worker processes (wall)")
                    sink.write_encoded(data, rows)
                    tally.merge(part)
                    for stage, sec in stages.items():  # worker seconds, summed over workers
                        timings[f"{stage} (workers)"] = timings.get(f"{stage} (workers)", 0.0) + sec
                    clock("pass 2: write links.csv and merge tallies")
                    if on_chunk:
                        on_chunk("score", rows)
            else:
                def scored_chunks():
                    scorer_timings: dict[str, float] = {}
                    try:
                        for chunk in cache.chunks():
                            chunk = predictor.score(chunk, profile=profile, timings=scorer_timings)
                            yield chunk
                    finally:
                        for stage, sec in scorer_timings.items():
                            timings[f"pass 2: {stage} (scoring thread)"] = sec

                for scored in _timed_chunks(_ahead(scored_chunks), clock, "pass 2: waiting for scored chunks"):
                    sink.write(scored)
                    clock("pass 2: write links.csv")
                    tally.update(scored)
                    rows = len(scored)
                    del scored
                    clock("pass 2: roll-up and report aggregates")
                    if on_chunk:
                        on_chunk("score", rows)
        except BaseException as exc:
            sink.abort(exc)
            raise
        # links.csv is complete: it is synced to disk and moved into place, and the pass-1
        # cache removed (each a fraction of a second for a large export, outside the GIL),
        # while the other outputs are built.
        def close_files() -> None:
            try:
                sink.close()
            finally:
                cache.close()

        closing = _Background(close_files)
        clock("pass 2: write links.csv")
    except BaseException:
        cache.close()
        raise
    finally:
        if loading is not None:
            loading.join()
    summary.stage_seconds = timings
    profile = None  # (pass 2's; the outputs are built from the tally alone)
    release_free_memory()  # pass 2's chunks are gone; the outputs are built from the tally
    try:
        summary = finish_outputs(tally, predictor, existing, out_dir, summary)
    finally:
        closing.join()
    closing.raise_if_failed()
    return summary


class Tally:
    """Everything the outputs after ``links.csv`` need, aggregated chunk by chunk.

    The domain roll-up (:class:`toxlink.policy.RollupAccumulator`), the report's aggregates
    (:class:`toxlink.report.ReportAccumulator`) and the summary's counts: their size grows
    with the referring sites, days and TLDs of the export, not with its links, so a scoring
    run never holds the scored links in memory. Partition tallies (Dask workers) merge in
    input order into the same result. With *spill_dir*, the roll-up parks each chunk's
    (site, reason) counts and toxic URLs in an unnamed temporary file there until the end.
    """

    def __init__(self, policy, report: bool = False, spill_dir: str | os.PathLike | None = None):
        from toxlink.policy import RollupAccumulator

        self.rollup = RollupAccumulator(policy, spill_dir=spill_dir)
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
        for band, n in scored[S.BAND][~dup].value_counts().items():  # in Arrow: no object copy
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


def finish_outputs(tally: Tally, predictor, existing, out_dir: Path, summary: ScoreSummary) -> ScoreSummary:
    """Write every output but ``links.csv`` from the tally of the scored links:
    ``domains.csv``, the merged and new disavow files, the diff and the report."""
    from toxlink.outputs import write_csv
    from toxlink.predictor import _Clock

    clock = _Clock(summary.stage_seconds)
    domains = tally.rollup.finish()
    clock("domain roll-up")
    # domains.csv is formatted (mostly in Arrow, outside the GIL) while the disavow files are merged.
    writing = _Background(lambda: write_csv(domains, out_dir / "domains.csv"))
    try:
        merged, diff = _merge_within_limits(existing, domains, predictor.policy.whitelist, out_dir, summary)
        merged.write(out_dir / "disavow.txt")
        diff.added_file().write(out_dir / "disavow-new.txt")
        write_csv(diff.to_frame(), out_dir / "disavow-diff.csv")
    finally:
        writing.join()
    writing.raise_if_failed()
    clock("domains.csv and disavow files")
    names = ["links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv"]
    if tally.report is not None:
        from toxlink.report import write_report_from

        write_report_from(tally.report, out_dir / "report.html", domains, diff=diff)
        names.append("report.html")
        clock("report")
    summary.files = {**{name: out_dir / name for name in names}, **summary.files}
    summary.rows = tally.rows
    summary.duplicates = tally.duplicates
    summary.bands = {b: tally.bands.get(b, 0) for b in S.BANDS}
    summary.domains = len(domains)
    summary.actions = domains["action"].value_counts().to_dict() if len(domains) else {}
    summary.disavow_added = len(diff.added)
    summary.disavow_present = len(diff.already_present)
    summary.disavow_whitelisted = len(diff.whitelisted)
    return summary


def _merge_within_limits(existing, domains: pd.DataFrame, whitelist, out_dir: Path, summary: ScoreSummary):
    """Merge the recommendations into *existing*, keeping the result uploadable.

    Google takes at most 100,000 lines and 2 MB. First the per-site reason comments go
    (domains.csv has every reason); if the new entries still do not fit, the riskiest
    sites' entries that fit go into ``disavow.txt`` (``domains`` is sorted by action,
    then risk) and the rest into ``disavow-overflow.txt``, with a note in the summary.
    Nothing of the existing file is ever dropped.
    """
    from toxlink import disavow as D
    from toxlink import policy as P
    from toxlink.outputs import atomic_write

    act = np.flatnonzero(domains[P.ACTION].isin([P.DISAVOW_DOMAIN, P.DISAVOW_URL]).to_numpy())
    lines = np.zeros(len(domains), dtype=np.int64)
    size = np.zeros(len(domains), dtype=np.int64)
    if len(act):  # entries per site and their UTF-8 bytes with a line break each, in Arrow
        import pyarrow as pa
        import pyarrow.compute as pc

        listed = pa.array(domains[P.DISAVOW_ENTRIES].to_numpy()[act].tolist(), type=pa.list_(pa.large_string()))
        lines[act] = np.asarray(pc.list_value_length(listed))
        size[act] = np.bincount(np.asarray(pc.list_parent_indices(listed)), minlength=len(act),
                                weights=np.asarray(pc.binary_length(pc.list_flatten(listed))) + 1)
    # Room left after the existing file, a blank line and the dated header (with margin).
    room_lines = D.MAX_LINES - len(existing.lines) - 2
    room_bytes = D.MAX_BYTES - len(existing.to_bytes()) - 200
    # Sizes are estimated before any file is built: the variant with a reason comment per
    # site (~2 more lines and ~150 bytes each) is only tried when it may fit; then without
    # comments; then trimmed.
    sites = int((lines > 0).sum())
    plan = None

    def fits(size: tuple[int, int]) -> bool:  # DisavowFile.limit_problems() of the built file
        return size[0] <= D.MAX_LINES and size[1] <= D.MAX_BYTES

    if lines.sum() + 2 * sites <= room_lines and size.sum() + 150 * sites <= room_bytes:
        # What becomes of each entry does not depend on the comments, so it is decided once
        # (existing.merge() in two steps) and the files are rebuilt without them if needed.
        plan = existing._merge_plan(D.DisavowFile.from_recommendations(domains), whitelist)
        if fits(plan.size()):  # exact, so the files are only built in the variant that fits
            merged, diff = plan.build()
            if not merged.limit_problems():
                return merged, diff
    summary.notes.append("reason comments were left out of disavow.txt to stay within Google's limits "
                         "(2 MB, 100,000 lines); domains.csv has every reason")
    if lines.sum() <= room_lines and size.sum() <= room_bytes:
        if plan is None:
            plan = existing._merge_plan(D.DisavowFile.from_recommendations(domains, reasons=False), whitelist)
        if fits(plan.size(reasons=False)):
            merged, diff = plan.build(reasons=False)
            if not merged.limit_problems():
                return merged, diff
    fits = (lines.cumsum() <= room_lines) & (size.cumsum() <= room_bytes)
    k = int(fits.sum()) if fits.all() else int(np.argmin(fits))
    if k == 0:
        raise D.DisavowError(f"{existing.name}: your existing disavow file leaves no room under Google's limits "
                             "(100,000 lines, 2 MB) for new entries; consolidate URL entries into domain: entries")
    merged, diff = existing.merge(D.DisavowFile.from_recommendations(domains.iloc[:k], reasons=False),
                                  whitelist=whitelist, reasons=False)
    overflow = D.DisavowFile.from_recommendations(domains.iloc[k:], reasons=False, name="disavow-overflow.txt")
    with atomic_write(out_dir / "disavow-overflow.txt") as fh:  # not for upload: no limit check
        fh.write(overflow.to_text())
    summary.files["disavow-overflow.txt"] = out_dir / "disavow-overflow.txt"
    n_over = int(lines[k:].sum())
    summary.notes.append(f"Google's limits leave room for the {int(lines[:k].sum()):,} entries of the riskiest "
                         f"{k:,} sites; {n_over:,} more entries are in disavow-overflow.txt: review them, "
                         "then replace URL entries by domain: entries or drop low-risk sites to make room")
    return merged, diff


def _ahead(make_items: Callable[[], "Iterator"]):
    """Iterate ``make_items()``, producing the next item in a background thread.

    Reading, Arrow compute, LightGBM and numpy release the GIL for much of their work, so
    producing the next chunk overlaps with consuming this one: the second core does real
    work without a second copy of the model, profile and tallies. At most two items are
    alive at once (the one being consumed and the next), so memory stays bounded. An error
    in the producer is raised here, in the consumer, unchanged; if the consumer stops early
    the producer stops before its next item.
    """
    import queue
    import threading

    items: queue.SimpleQueue = queue.SimpleQueue()
    # One permit: the producer may make the next item only once the consumer has let go
    # of the one before the item it is consuming.
    permit = threading.Semaphore(1)
    stop = threading.Event()
    done = object()

    def wait_permit() -> bool:
        while not stop.is_set():
            if permit.acquire(timeout=0.1):
                return not stop.is_set()
        return False

    def produce() -> None:
        try:
            it = iter(make_items())
            while wait_permit():
                item = next(it, done)
                items.put((None, item))
                if item is done:
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            items.put((exc, None))

    thread = threading.Thread(target=produce, name="toxlink-ahead", daemon=True)
    thread.start()
    try:
        while True:
            exc, item = items.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            permit.release()  # the previous item is gone: the one after this may start
            yield item
            del item
    finally:
        stop.set()
        thread.join()


class _Background:
    """Run *fn* in a thread; ``result()`` joins it and returns its value or raises its error."""

    def __init__(self, fn: Callable[[], object]):
        import threading

        self._value = self._error = None

        def run() -> None:
            try:
                self._value = fn()
            except BaseException as exc:  # raised in the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="toxlink-background", daemon=True)
        self._thread.start()

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def join(self) -> None:
        self._thread.join()

    def result(self):
        self._thread.join()
        self.raise_if_failed()
        return self._value


def _timed_chunks(chunks, clock, stage: str):
    """Iterate *chunks*, charging the time spent producing each one to *stage*."""
    clock.reset()
    for chunk in chunks:
        clock(stage)
        yield chunk
        # Let go of it before asking for the next: _ahead starts producing the chunk after
        # next as soon as this one is taken, and only two may be alive at once.
        del chunk
        clock.reset()


class _ChunkCache:
    """Pass 1's canonical chunks (hosts included) in an Arrow IPC file beside the outputs.

    Pass 2 reads them back instead of parsing the exports again: decoding a UTF-16 CSV
    and parsing its URLs costs ~100x more than reading Arrow. The file is removed when the
    run ends, whatever happens.
    """

    def __init__(self, out_dir: Path):
        import tempfile

        fd, name = tempfile.mkstemp(prefix=".toxlink-pass1-", suffix=".arrow", dir=out_dir)
        os.close(fd)
        self.path = Path(name)
        self._sink = None
        self._writer = None
        self.n_chunks = 0

    def append(self, chunk: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.ipc as ipc

        if self._writer is None:
            # The schema (with the pandas metadata that restores the dtypes on reading) from
            # the first chunk's first row; canonical dtypes make it every chunk's schema.
            self._schema = pa.Schema.from_pandas(chunk.head(1), preserve_index=False)
            self._sink = pa.OSFile(str(self.path), "wb")
            self._writer = ipc.new_file(self._sink, self._schema)
        try:
            # Column by column: the string columns are Arrow already (no conversion, no
            # copy), the others convert as Table.from_pandas would, without its thread pool.
            batch = pa.RecordBatch.from_arrays([_arrow_column(chunk[f.name], f.type) for f in self._schema],
                                               schema=self._schema)
        except (pa.ArrowException, KeyError, TypeError, ValueError):  # not canonical: the general path
            table = pa.Table.from_pandas(chunk, schema=self._schema, preserve_index=False)
            batch = table.combine_chunks().to_batches()[0] if table.num_rows else \
                pa.RecordBatch.from_pylist([], schema=self._schema)
        self._writer.write_batch(batch)
        self.n_chunks += 1

    def finish_writing(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = self._sink = None

    def chunks(self):
        self.finish_writing()
        for i in range(self.n_chunks):
            yield read_cached_chunk(self.path, i)

    def close(self) -> None:
        for closer in (self._writer, self._sink):
            with contextlib.suppress(Exception):
                closer.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


_WORKER: dict = {}


def _worker_start(model, policy, profile, cache_path: str, report: bool) -> None:
    from toxlink.predictor import Predictor

    _WORKER.update(predictor=Predictor.load(model, policy=policy), profile=profile, cache=Path(cache_path),
                   report=report)


def _worker_score(i: int):
    """Score cached chunk *i*: its links.csv bytes and its tally, for the parent to append
    and merge in input order."""
    import io

    from toxlink.outputs import write_csv_chunk

    w = _WORKER
    stages: dict[str, float] = {}
    scored = w["predictor"].score(read_cached_chunk(w["cache"], i), profile=w["profile"], timings=stages)
    buf = io.BytesIO()
    write_csv_chunk(scored.reindex(columns=LINK_OUTPUT_COLUMNS), buf, header=False)
    part = Tally(w["predictor"].policy, report=w["report"]).update(scored)
    return len(scored), buf.getvalue(), part, stages


def _score_in_processes(cache, model, policy, profile, report: bool, workers: int):
    """Pass 2 on *workers* processes; results come back in chunk order."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the parent's pyarrow and OpenMP threads do not survive a fork.
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_worker_start,
                             initargs=(model, policy, profile, str(cache.path), report)) as pool:
        yield from pool.map(_worker_score, range(cache.n_chunks))


def read_cached_chunk(path: Path, i: int) -> pd.DataFrame:
    """Chunk *i* of a pass-1 cache (one Arrow record batch per chunk)."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    # A memory map opened per chunk: the batch is read without a copy through the page
    # cache, and its string columns stay views of the mapped file. The mapping lives only as
    # long as this chunk's frame, so the cache's pages do not accumulate in the run's memory.
    with pa.memory_map(str(path), "r") as source:
        return ipc.open_file(source).get_batch(i).to_pandas()  # schema keeps the pandas dtypes


def _arrow_column(values: pd.Series, type_):
    """One column of a cache batch: what ``pa.Table.from_pandas`` makes of *values*."""
    import pyarrow as pa

    arr = values.array
    if isinstance(arr, pd.arrays.ArrowStringArray):
        data = arr._pa_array
        data = data.chunk(0) if data.num_chunks == 1 else data.combine_chunks()
        return data if data.type == type_ else data.cast(type_)
    return pa.array(arr if isinstance(arr, pd.api.extensions.ExtensionArray) else values.to_numpy(),
                    type=type_, from_pandas=True)


def protect_own_sites(predictor, own: set[str], summary: ScoreSummary) -> None:
    """Whitelist the audited site's own domains (from the target URLs) for this run."""
    predictor.policy = predictor.policy.with_own_sites(own)
    if own:
        shown = ", ".join(sorted(own)[:5]) + (f" and {len(own) - 5} more" if len(own) > 5 else "")
        summary.notes.append(f"links from your own site ({shown}, from the target URLs) are never disavowed")


def read_existing(path):
    """The user's existing disavow file (empty when none). Read first, so that a parse error
    stops the run before any work is done."""
    from toxlink.disavow import DisavowFile

    return DisavowFile.read(path) if path else DisavowFile()
