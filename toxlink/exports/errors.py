"""The one error the export reader raises: :class:`ExportError`, naming file, line and column."""

from __future__ import annotations


class ExportError(Exception):
    """An export cannot be read; ``str()`` names the file, line and column where known.

    Attributes
    ----------
    path : str
    line : int or None
        1-based physical line number in the file.
    column : int or None
        1-based field number.
    reason : str
    """

    def __init__(self, path, reason: str, line: int | None = None, column: int | None = None):
        self.path = str(path)
        self.line = line
        self.column = column
        self.reason = reason
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {reason}")
