"""Google disavow files: parse, validate, write, merge with the user's file, diff, split.

- :mod:`toxlink.disavow.lines` - what each line of a file is, against Google's rules;
- :mod:`toxlink.disavow.file` - :class:`DisavowFile`: read, write, limits;
- :mod:`toxlink.disavow.merge` - merging recommendations into the user's file, the :class:`Diff`;
- :mod:`toxlink.disavow.split` - fitting Google's limits (:func:`merge_within_limits`, :func:`split`).

What toxlink guarantees
-----------------------
- :meth:`DisavowFile.merge` never removes or rewrites a line of the existing file:
  the merged file is the existing file's lines, byte for byte and in order, followed by
  one dated block of new entries.
- Files toxlink writes hold only valid entries, IDN hosts as punycode, and are checked
  against Google's limits before anything touches the disk (:meth:`DisavowFile.write`
  refuses with a :class:`DisavowError` saying by how much a limit is exceeded; see
  :func:`merge_within_limits`, :func:`split` and ``reasons=False`` for ways out). Writes
  are atomic.
"""

from toxlink.disavow.file import DisavowFile
from toxlink.disavow.lines import (DOMAIN, HEADER_PREFIX, MAX_BYTES, MAX_LINES, MAX_URL_LENGTH, URL, DisavowError,
                                   DisavowIssue, normalise_urls, read_utf8)
from toxlink.disavow.merge import ADDED, ALREADY_PRESENT, EXISTING_WHITELISTED, WHITELISTED, Diff, DiffRow
from toxlink.disavow.split import merge_within_limits, split

__all__ = ["ADDED", "ALREADY_PRESENT", "DOMAIN", "Diff", "DiffRow", "DisavowError", "DisavowFile", "DisavowIssue",
           "EXISTING_WHITELISTED", "HEADER_PREFIX", "MAX_BYTES", "MAX_LINES", "MAX_URL_LENGTH", "URL", "WHITELISTED",
           "merge_within_limits", "normalise_urls", "read_utf8", "split"]
