"""A run's outputs as one unit: written in a staging folder, moved into place together.

:class:`Staging` gives a run a folder ``.toxlink-staging-*`` inside its output folder. The
run writes every output there; :meth:`Staging.commit` first records which files the run
wrote (the manifest, written atomically), then moves them over the previous run's and
removes the previous run's files this run did not write. A failure before the manifest
leaves the output folder as it was; a kill after it is finished by the next run
(:func:`recover`), which moves the rest into place. The folder so never holds a mix of
two runs' files once a run has started in it. Moving within one folder is a rename: no
file is copied.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

#: Name prefix of staging folders: a later run knows them as toxlink's.
STAGING_PREFIX = ".toxlink-staging-"
#: The manifest: the names of the files the run wrote, present once they are all complete.
MANIFEST = "complete.json"


class Staging:
    """The staging folder of one run into *out_dir*, whose outputs may be any of *names*.

    Use as a context manager: leaving it by an exception (or without :meth:`commit`)
    removes the staging folder and everything in it; the output folder is untouched.
    """

    def __init__(self, out_dir: str | os.PathLike, names: Sequence[str]):
        self.out_dir = Path(out_dir)
        self.names = tuple(names)
        self.dir = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out_dir))

    def commit(self, written: Iterable[str]) -> list[str]:
        """Move the files *written* (names in the staging folder) into the output folder,
        replacing the previous run's, and remove the previous run's outputs not among them.

        Returns the names removed, in :attr:`names` order."""
        written = [name for name in self.names if name in set(written)]
        missing = [name for name in written if not (self.dir / name).is_file()]
        if missing:
            raise FileNotFoundError(f"staged outputs missing: {', '.join(missing)}")
        tmp = self.dir / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(written), encoding="utf-8")
        os.replace(tmp, self.dir / MANIFEST)  # from here on the run counts as complete
        return finish(self.dir, self.out_dir, self.names)

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def finish(staging_dir: Path, out_dir: Path, names: Sequence[str]) -> list[str]:
    """Move a complete staging folder's files (its manifest) into *out_dir* and remove the
    outputs among *names* it does not list; then remove the staging folder. Safe to run
    again after an interruption: a file already moved is not looked for twice.

    Returns the names of the outputs removed."""
    written = set(json.loads((staging_dir / MANIFEST).read_text(encoding="utf-8")))
    removed = []
    for name in names:
        if name in written:
            if (staging_dir / name).exists():
                os.replace(staging_dir / name, out_dir / name)
        elif (out_dir / name).exists():
            (out_dir / name).unlink()
            removed.append(name)
    shutil.rmtree(staging_dir, ignore_errors=True)
    return removed


def recover(out_dir: Path, names: Sequence[str]) -> None:
    """What killed runs left in *out_dir*: a staging folder whose manifest was written is
    finished (its outputs moved into place), any other is removed."""
    for staging_dir in out_dir.glob(STAGING_PREFIX + "*"):
        try:
            if (staging_dir / MANIFEST).is_file():
                finish(staging_dir, out_dir, names)
                continue
        except (OSError, ValueError):  # an unreadable manifest: the run is not complete
            pass
        shutil.rmtree(staging_dir, ignore_errors=True)
