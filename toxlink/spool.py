"""The spool: the canonical chunks of pass 1 in one Arrow file, read back by pass 2.

``toxlink score`` reads the exports once: decoding a UTF-16 CSV and splitting its URLs
costs far more than reading Arrow back. Pass 1 appends each chunk (with its hosts and
profile keys) as one record batch of an Arrow IPC file in a hidden temporary folder inside
the output folder; DuckDB aggregates the whole export from it (the profile), and pass 2
reads it back a batch at a time, in this process or on Dask workers that see the same
folder. The folder is removed when the run ends, whatever happens.

Arrow IPC rather than Parquet: for 1M links, writing and reading back cost 0.3 s of CPU
against 1.6 s for Parquet with lz4 (0.8 s of that to write), for a file of ~470 MB against
~60 MB, and reading a batch back through a memory map copies nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.ipc as ipc


class Spool:
    """An Arrow IPC file of chunks in a fresh hidden folder inside *folder*; a context
    manager that removes the folder on exit.

    Attributes
    ----------
    path : Path — the Arrow file (complete once :meth:`finish` returned).
    batch_rows : list of int — rows of each record batch, in order (one per non-empty chunk).
    """

    def __init__(self, folder: str | Path):
        self.dir = Path(tempfile.mkdtemp(prefix=".toxlink-spool-", dir=folder))
        self.path = self.dir / "links.arrow"
        self.batch_rows: list[int] = []
        self._writer: ipc.RecordBatchFileWriter | None = None
        self._schema: pa.Schema | None = None

    def append(self, chunk: pd.DataFrame, extra: pa.Table | None = None) -> None:
        """Write *chunk* (and the columns of *extra*, same rows) as the next record batch."""
        if not len(chunk):
            return
        table = pa.Table.from_pandas(chunk, preserve_index=False, nthreads=1)
        for name, column in zip(extra.column_names, extra.columns) if extra is not None else ():
            table = table.append_column(name, column)
        if self._writer is None:
            # The first chunk's schema (its pandas metadata restores the dtypes when read back).
            self._schema = table.schema
            self._writer = ipc.new_file(self.path, self._schema)
        elif not table.schema.equals(self._schema, check_metadata=False):
            table = table.cast(self._schema)  # e.g. a column of nulls only in this chunk
        [batch] = table.combine_chunks().to_batches()
        self._writer.write_batch(batch)
        self.batch_rows.append(len(table))

    def finish(self) -> None:
        """Close the file: it can be read from now on."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def dataset(self) -> ds.Dataset:
        """Every batch, as a dataset DuckDB can scan (the file once :meth:`finish` returned)."""
        return ds.dataset(self.path, format="ipc")

    def remove(self) -> None:
        self.finish()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def read_batch(path: str | Path, i: int, columns: list[str] | None = None) -> pd.DataFrame:
    """Batch *i* of a spool file as the chunk that was appended (its columns or *columns*, same dtypes)."""
    # A memory map per batch: the batch is read without a copy through the page cache, and
    # the mapping lives only as long as the chunk, so the file's pages do not pile up in
    # the run's memory.
    with pa.memory_map(str(path), "r") as source:
        batch = ipc.open_file(source).get_batch(i)
        return (batch.select(columns) if columns is not None else batch).to_pandas()
