"""What the new disavow file changes, as the report shows it: :class:`DisavowDiff`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DisavowDiff:
    """What a new disavow file changes relative to the existing one.

    Parameters
    ----------
    added : list of str
        Entries (``domain:x`` or URLs) in the new file that the existing file lacks.
    already_present : list of str
        Recommended entries the existing file already had (kept as they are).
    whitelisted : list of str
        Recommended entries skipped because they match the whitelist.
    existing_entries : int
        Size of the existing file (0 when there is none), counted in *unit*.
    unit : {"entries", "lines"}
        What *existing_entries* counts (a merge result knows lines, comments included).
    """

    added: Sequence[str] = ()
    already_present: Sequence[str] = ()
    whitelisted: Sequence[str] = ()
    existing_entries: int = 0
    unit: str = "entries"

    @classmethod
    def coerce(cls, diff) -> "DisavowDiff | None":
        """A :class:`DisavowDiff` from itself, a mapping with the same keys, a
        :class:`toxlink.disavow.Diff` (whose existing size is in lines), or ``None``."""
        if diff is None or isinstance(diff, cls):
            return diff
        if hasattr(diff, "rows") and hasattr(diff, "existing_lines"):
            return cls(
                added=[r.entry for r in diff.added],
                already_present=[r.entry for r in diff.already_present],
                whitelisted=[r.entry for r in diff.whitelisted],
                existing_entries=int(diff.existing_lines),
                unit="lines",
            )
        if isinstance(diff, Mapping):
            return cls(
                added=list(diff.get("added", ())),
                already_present=list(diff.get("already_present", ())),
                whitelisted=list(diff.get("whitelisted", ())),
                existing_entries=int(diff.get("existing_entries", 0)),
            )
        raise TypeError(f"diff must be a DisavowDiff or a mapping, not {type(diff).__name__}")

    @classmethod
    def from_run(cls, run_dir: str | Path) -> "DisavowDiff | None":
        """The diff of a ``toxlink score`` run, from its ``disavow-diff.csv`` (entries and
        their status) and merged ``disavow.txt`` (the existing file's size), or ``None``
        when the run compared no disavow file."""
        import pandas as pd

        from toxlink.disavow import ADDED, ALREADY_PRESENT, WHITELISTED

        d = Path(run_dir)
        if not (d / "disavow-diff.csv").is_file():
            return None
        rows = pd.read_csv(d / "disavow-diff.csv", dtype="string", keep_default_na=False)
        added = rows.loc[rows["status"] == ADDED, "entry"].tolist()
        existing = 0
        if (d / "disavow.txt").is_file():
            merged = (d / "disavow.txt").read_text(encoding="utf-8-sig").splitlines()
            # A merge that added nothing appended no block; an older toxlink block is the user's.
            existing = len(merged) - (len(_added_block(merged)) if added else 0)
        return cls(
            added=added,
            already_present=rows.loc[rows["status"] == ALREADY_PRESENT, "entry"].tolist(),
            whitelisted=rows.loc[rows["status"] == WHITELISTED, "entry"].tolist(),
            existing_entries=existing,
            unit="lines",
        )

    @property
    def total_after(self) -> int:
        """Entries in the merged file: everything already there plus what is added."""
        return int(self.existing_entries) + len(self.added)


def _added_block(lines: list[str]) -> list[str]:
    """The trailing block a toxlink merge appended (from its dated comment to the end)."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("# toxlink "):
            return lines[i:]
    return []
