"""The report's anchor-text categories: :mod:`toxlink.anchors`' seven, and ``unknown``.

The rules live in :func:`toxlink.anchors.anchor_categories` (one place for the report,
``links.csv`` and the API); the report only adds ``unknown`` for links without anchor text
(an export without an anchor column), which the report still counts.
"""

from __future__ import annotations

import pandas as pd

from toxlink import schema as S
from toxlink.anchors import ANCHOR_CATEGORIES as LINK_CATEGORIES
from toxlink.anchors import anchor_categories, brand_tokens  # noqa: F401 - re-exported for the report's callers

UNKNOWN = "unknown"
#: The categories the report shows, in its order.
ANCHOR_CATEGORIES = (*LINK_CATEGORIES, UNKNOWN)


def report_categories(rows: pd.DataFrame) -> pd.Series:
    """The anchor category of each row of a scored table (shape (n,), on its index): its
    ``anchor_category`` column when it has one (what ``toxlink score`` decided with the
    run's ``--brand`` and ``--money-keywords``, also when the report is rebuilt from
    ``links.csv``), else :func:`toxlink.anchors.anchor_categories` of its anchors and
    targets; ``unknown`` where the link has no anchor text."""
    if S.ANCHOR_CATEGORY in rows.columns:
        category = rows[S.ANCHOR_CATEGORY].astype("string")
    elif S.ANCHOR in rows.columns:
        targets = rows[S.TARGET_URL] if S.TARGET_URL in rows.columns else None
        category = anchor_categories(rows[S.ANCHOR], targets)
    else:
        category = pd.Series(pd.NA, index=rows.index, dtype="string")
    return category.fillna(UNKNOWN)
