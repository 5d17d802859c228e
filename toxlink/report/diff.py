"""What the new disavow file changes, as the report shows it: :class:`DisavowDiff`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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

    @property
    def total_after(self) -> int:
        """Entries in the merged file: everything already there plus what is added."""
        return int(self.existing_entries) + len(self.added)
