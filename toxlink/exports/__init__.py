"""Read backlink exports from any supported tool into the canonical links table.

Supported formats (:data:`FORMATS`): Ahrefs (Site Explorer export, usually UTF-16 LE +
tabs, and the API v3 field names), Semrush Backlink Analytics, Semrush Backlink Audit,
Moz Link Explorer, Majestic, Google Search Console ("Latest links" / sample links), a
generic CSV with recognisable URL / anchor columns, a plain list of URLs, and a canonical
links table saved by toxlink (CSV or Parquet).

The modules, in the order a file goes through them:

- :mod:`~toxlink.exports.vendors`: which tool wrote the file, its encoding, delimiter and
  header, and how its columns map to :mod:`toxlink.schema` (:func:`detect`);
- :mod:`~toxlink.exports.records`: the file's records and the line each starts on;
- :mod:`~toxlink.exports.convert`: vendor fields to canonical columns and dtypes;
- :mod:`~toxlink.exports.duplicates`: links read before, across all files;
- :mod:`~toxlink.exports.reader`: :func:`iter_export`, :func:`read_export`, :func:`inspect`.
"""

from toxlink.exports.duplicates import SEEN_IN, collapse_duplicates
from toxlink.exports.errors import ExportError
from toxlink.exports.reader import inspect, iter_export, read_export
from toxlink.exports.vendors import FORMATS, ExportInfo, detect

__all__ = ["FORMATS", "ExportError", "ExportInfo", "detect", "iter_export", "read_export", "inspect",
           "collapse_duplicates", "SEEN_IN"]
