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

import errno
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
        # Once the manifest is written the staging folder is the only copy of the run's
        # remaining outputs: it must outlive a failed move so the next run can finish it.
        self._complete = False

    def commit(self, written: Iterable[str]) -> list[str]:
        """Move the files *written* (names in the staging folder) into the output folder,
        replacing the previous run's, and remove the previous run's outputs not among them.

        Returns the names removed, in :attr:`names` order."""
        written = [name for name in self.names if name in set(written)]
        missing = [name for name in written if not (self.dir / name).is_file()]
        if missing:
            raise FileNotFoundError(f"staged outputs missing: {', '.join(missing)}")
        check_replaceable(self.out_dir, written)
        tmp = self.dir / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(written), encoding="utf-8")
        os.replace(tmp, self.dir / MANIFEST)  # from here on the run counts as complete
        self._complete = True
        return finish(self.dir, self.out_dir, self.names)

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, *exc) -> None:
        if not self._complete:
            shutil.rmtree(self.dir, ignore_errors=True)


def check_replaceable(out_dir: Path, written: Iterable[str]) -> None:
    """Raise :class:`IsADirectoryError` naming the first of *out_dir*'s paths *written*
    (output names) that a file cannot be moved over: a folder (a symlink is replaced
    itself, whatever it points to). Checked before the manifest, so that a run which
    cannot finish leaves the previous run's files as they were."""
    for name in written:
        dest = out_dir / name
        if dest.is_dir() and not dest.is_symlink():
            raise IsADirectoryError(errno.EISDIR, "is a folder where toxlink writes an output; move or rename it "
                                                  "and run again (the previous outputs were left as they were)",
                                    str(dest))


def finish(staging_dir: Path, out_dir: Path, names: Sequence[str]) -> list[str]:
    """Move a complete staging folder's files (its manifest) into *out_dir* and remove the
    outputs among *names* it does not list; then remove the staging folder. Safe to run
    again after an interruption: a file already moved is not looked for twice.

    A move or removal that fails raises :class:`OSError` naming the path in *out_dir*
    and keeps the staging folder, so that the next run finishes the move.

    Returns the names of the outputs removed."""
    written = set(json.loads((staging_dir / MANIFEST).read_text(encoding="utf-8")))
    removed = []
    for name in names:
        dest = out_dir / name
        try:
            if name in written:
                if (staging_dir / name).exists():
                    os.replace(staging_dir / name, dest)
            elif dest.is_file() or dest.is_symlink():  # a folder is not an earlier run's output
                dest.unlink()
                removed.append(name)
        except OSError as exc:
            # The error names the staging path, which the user never sees and cannot act on.
            raise OSError(exc.errno, f"{exc.strerror}; this run's outputs are complete in {staging_dir.name} "
                                     "and the next toxlink run into this folder moves the rest into place "
                                     "once this path is fixed", str(dest)) from exc
    shutil.rmtree(staging_dir, ignore_errors=True)
    return removed


def recover(out_dir: Path, names: Sequence[str]) -> None:
    """What killed or failed runs left in *out_dir*: a staging folder whose manifest was
    written is finished by the next run (its outputs moved into place), any other is removed. A complete
    one whose move fails again raises (:func:`finish`) and is kept."""
    for staging_dir in out_dir.glob(STAGING_PREFIX + "*"):
        try:
            complete = isinstance(json.loads((staging_dir / MANIFEST).read_text(encoding="utf-8")), list)
        except (OSError, ValueError):  # no manifest, or an unreadable one: the run is not complete
            complete = False
        if complete:
            finish(staging_dir, out_dir, names)
        else:
            shutil.rmtree(staging_dir, ignore_errors=True)
