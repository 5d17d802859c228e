"""Scoring partitioned exports on a Dask cluster (``toxlink score --engine dask``).

Needs the optional extra: ``pip install toxlink[scale]``.

Each input file is one partition (a directory stands for the files in it, sorted by name),
so a 10 GB export split into parts (``split -l``, or Parquet files of canonical columns)
scores in parallel across workers. The results equal the embedded engine's row for row:

1. **keys**: every worker reads its partition and returns the 64-bit key hash and line of
   each row, plus the partition's profile aggregates. The client finds each link's first
   occurrence across *all* partitions in input order (exactly as the embedded reader does),
   so ``duplicate_of`` does not depend on how the export was split.
2. **profile**: partitions that hold a duplicate of an earlier partition re-aggregate with
   the global duplicate marks; the client merges every partition's aggregates into the
   whole-export :class:`~toxlink.features.ProfileStats`.
3. **score**: every worker scores its partition against the whole-export profile, writes
   its part of ``links.csv`` beside the output and returns its :class:`~toxlink.batch.Tally`
   (roll-up and report aggregates); the client concatenates the parts and merges the
   tallies in input order, then writes the domain roll-up and disavow files as the
   embedded engine does.

Workers and client must see the same file system (the exports and the output folder), as
they do on a local cluster or a cluster with shared storage.
"""

from __future__ import annotations

import os
import shutil
import time
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from toxlink import schema as S

_REF_BITS = 40


def expand_partitions(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Files of *paths*, a directory standing for its (non-hidden) files sorted by name."""
    out: list[str] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(str(f) for f in sorted(p.iterdir()) if f.is_file() and not f.name.startswith("."))
        else:
            out.append(str(p))
    return out


# -- worker tasks (module-level so that they pickle by reference) ---------------------------

@lru_cache(maxsize=4)
def _bundle(model):
    # Loaded once per worker process, not once per partition.
    from toxlink.model import ModelBundle

    return ModelBundle.load(model)


def _chunks(path: str, export_format, chunksize: int, dup_of: dict | None):
    """Canonical chunks of one partition; with *dup_of* ({line: "file:line"}), the global
    duplicate marks replace the partition-local ones."""
    from toxlink import exports
    from toxlink.predictor import with_hosts

    for chunk in exports.iter_export([path], format=export_format, chunksize=chunksize):
        if dup_of is not None:
            chunk[S.DUPLICATE_OF] = chunk[S.SOURCE_ROW].map(dup_of).astype("string")
        yield with_hosts(chunk)


def _keys_task(path: str, *, export_format, chunksize: int):
    from toxlink.exports.duplicates import LinkKeys
    from toxlink.features import ProfileAccumulator

    from toxlink.policy import own_sites

    acc = ProfileAccumulator()
    link_keys = LinkKeys()
    hashes, lines, own = [], [], set()
    for chunk in _chunks(path, export_format, chunksize, None):
        hashes.append(link_keys(chunk))
        lines.append(chunk[S.SOURCE_ROW].to_numpy(np.int64))
        own |= own_sites(chunk[S.TARGET_URL])
        acc.update(chunk)
    cat = lambda a, dt: np.concatenate(a) if a else np.zeros(0, dt)  # noqa: E731
    return cat(hashes, np.uint64), cat(lines, np.int64), acc, own


def _profile_task(path: str, dup_of: dict, *, export_format, chunksize: int):
    from toxlink.features import ProfileAccumulator

    acc = ProfileAccumulator()
    for chunk in _chunks(path, export_format, chunksize, dup_of):
        acc.update(chunk)
    return acc


def _score_task(path: str, dup_of: dict, part_file: str, *, export_format, chunksize: int, profile, model, policy,
                report: bool):
    from toxlink.batch import LINK_OUTPUT_COLUMNS, Tally
    from toxlink.outputs import write_csv_chunk
    from toxlink.predictor import Predictor

    predictor = Predictor(_bundle(model), policy=policy)
    tally = Tally(predictor.policy, report=report)
    with open(part_file, "wb") as fh:
        for chunk in _chunks(path, export_format, chunksize, dup_of):
            scored = predictor.score(chunk, profile=profile)
            write_csv_chunk(scored.reindex(columns=LINK_OUTPUT_COLUMNS), fh, header=False)
            tally.update(scored)
    return tally


# -- the client side --------------------------------------------------------------------------

def global_duplicates(keys: list[tuple[np.ndarray, np.ndarray]], names: list[str]) -> list[dict[int, str]]:
    """Per partition, ``{line: "file:line"}`` of rows whose link appeared earlier in input order."""
    from toxlink.exports.duplicates import FirstSeen

    seen = FirstSeen()
    out = []
    for fidx, (h, lines) in enumerate(keys):
        refs = (np.int64(fidx) << np.int64(_REF_BITS)) | lines
        first = seen.first_of(h, refs)
        dup = np.flatnonzero(first >= 0)
        f = first[dup]
        out.append({int(lines[i]): f"{names[ff >> _REF_BITS]}:{ff & ((1 << _REF_BITS) - 1)}" for i, ff in zip(dup, f)})
    return out


def score_exports_dask(
    paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    scheduler: str | None = None,
    client=None,
    model: str | None = None,
    policy=None,
    export_format: str | None = None,
    existing_disavow: str | os.PathLike | None = None,
    chunksize: int = 100_000,
    report: bool = False,
    n_workers: int = 2,
):
    """Score partitioned exports on a Dask cluster; same outputs as :func:`toxlink.batch.score_exports`.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); by default a local cluster of
        *n_workers* single-threaded worker processes is started and closed again.
    client : dask.distributed.Client, optional
        Use this client instead (tests, notebooks).
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the install
        raise ImportError("the dask engine needs the optional extra: pip install 'toxlink[scale]'") from None
    from toxlink import exports
    from toxlink.batch import (LINK_OUTPUT_COLUMNS, ScoreSummary, Tally, finish_outputs, protect_own_sites,
                               read_existing)
    from toxlink.features import ProfileAccumulator
    from toxlink.outputs import atomic_write
    from toxlink.predictor import Predictor

    out_dir = Path(out_dir)
    files = expand_partitions(paths)
    for f in files:  # fail fast, on the client, with the reader's own messages
        exports.detect(f, format=export_format)
    predictor = Predictor.load(model, policy=policy)
    policy = predictor.policy  # thresholds resolved from the model once, shipped to workers
    existing = read_existing(existing_disavow)
    summary = ScoreSummary(out_dir=out_dir)

    own_cluster = None
    if client is None:
        if scheduler:
            client = Client(scheduler)
        else:
            own_cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
            client = Client(own_cluster)
    parts_dir = out_dir / ".toxlink-parts"
    try:
        t0 = time.perf_counter()
        keyed = client.gather(client.map(_keys_task, files, export_format=export_format, chunksize=chunksize, pure=False))
        dups = global_duplicates([(h, lines) for h, lines, _, _ in keyed], files)
        accs = [acc for _, _, acc, _ in keyed]
        protect_own_sites(predictor, set().union(*(own for *_, own in keyed)), summary)
        policy = predictor.policy
        # A partition's local duplicate marks are the global ones unless it repeats a link of
        # an earlier partition; only those partitions are aggregated again.
        redo = [i for i, d in enumerate(dups) if any(not v.startswith(files[i] + ":") for v in d.values())]
        if redo:
            again = client.gather(client.map(_profile_task, [files[i] for i in redo], [dups[i] for i in redo],
                                             export_format=export_format, chunksize=chunksize, pure=False))
            for i, acc in zip(redo, again):
                accs[i] = acc
        merged = ProfileAccumulator()
        for acc in accs:
            merged.merge(acc)
        profile = merged.finish()
        t1 = time.perf_counter()

        parts_dir.mkdir(parents=True, exist_ok=True)
        part_files = [str(parts_dir / f"part-{i:05d}.csv") for i in range(len(files))]
        profile_f = client.scatter(profile, broadcast=True)
        tallies = client.gather(client.map(_score_task, files, dups, part_files, export_format=export_format,
                                           chunksize=chunksize, profile=profile_f, model=model, policy=policy,
                                           report=report, pure=False))
        with atomic_write(out_dir / "links.csv", "wb") as fh:
            fh.write((",".join(f'"{c}"' for c in LINK_OUTPUT_COLUMNS) + "\n").encode())
            for part in part_files:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, fh, 1 << 20)
        t2 = time.perf_counter()
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
        if own_cluster is not None:
            client.close()
            own_cluster.close()
    summary.stage_seconds = {"keys and profile": t1 - t0, "score": t2 - t1}
    tally = Tally(policy, report=report)
    for part in tallies:  # in input order: the roll-up keeps first-seen order of sites
        tally.merge(part)
    return finish_outputs(tally, predictor, existing, out_dir, summary)
