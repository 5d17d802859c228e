"""Feature extraction: canonical links table -> float32 feature matrix.

Eight families, one module each (``domain``, ``tld``, ``url``, ``anchor``, ``link``,
``content``, ``profile``, ``hostname``); :mod:`toxlink.features.registry` lists every feature with its
meaning and a ``reason(value)`` sentence for explanations. See ``docs/features.md``.

>>> X = compute(links)                          # whole table, profile from itself
>>> acc = ProfileAccumulator()                  # or streaming over chunks:
>>> for chunk in chunks: acc.update(chunk)
>>> stats = acc.finish()
>>> X = compute(chunk, profile=stats)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from concurrent.futures import ThreadPoolExecutor

from toxlink.features import anchor, content, domain, hostname, link, tld, url
from toxlink.features._base import Context, Feature
from toxlink.features.profile import ProfileAccumulator, ProfileStats
from toxlink.features.registry import FAMILY_MODULES, FEATURES, families, feature_names

# Families that never touch the per-host table; they run while it is built and used by
# the families of _WITH_HOST_INFO (the profile family runs last: it may need the anchors).
_WITHOUT_HOST_INFO = (url, anchor, link, content)
_WITH_HOST_INFO = (domain, tld, hostname)

__all__ = ["compute", "feature_names", "FEATURES", "Feature", "families", "ProfileAccumulator", "ProfileStats"]


def compute(links: pd.DataFrame, profile: ProfileStats | None = None) -> pd.DataFrame:
    """Feature matrix of a links table (or one chunk of it).

    Parameters
    ----------
    links : DataFrame, shape (n, k)
        Canonical links table (:mod:`toxlink.schema`); any subset of the columns works,
        absent columns give NaN features. ``links[HOST]``/``links[DOMAIN]`` are used when
        present, else derived from ``source_url``.
    profile : ProfileStats, optional
        Whole-export aggregates from :class:`ProfileAccumulator`. ``None`` computes them
        from *links* itself (the whole table). Also supplies the reference date of the
        age features, so chunks scored against one ``ProfileStats`` get exactly the
        features of the whole table.

    Returns
    -------
    DataFrame of float32, shape (n, len(feature_names())), columns in registry order,
    same index as *links*.
    """
    ctx = Context(links, profile=profile)
    n = len(links)
    out = np.empty((len(FEATURES), n), dtype=np.float32)
    row = {name: i for i, name in enumerate(feature_names())}

    def run(module) -> None:
        # Write each family straight into the float32 matrix: no 113 float64 columns alive.
        for name, v in module.compute(ctx).items():
            v = np.asarray(v)
            if v.shape != (n,):  # pragma: no cover - a family bug, fail loudly
                raise ValueError(f"feature {name} has shape {v.shape}, expected ({n},)")
            out[row[name]] = v

    ctx.host_codes  # split URLs and normalise hosts once, for every family

    def host_families() -> None:
        ctx.host_info
        for module in _WITH_HOST_INFO:
            run(module)

    # The per-host families (host table, then domain, tld and hostname) overlap with the families
    # that do not need them; their pyarrow/numpy kernels release the GIL, so on a free
    # second core the two halves run side by side.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(host_families)
        for module in _WITHOUT_HOST_INFO:
            run(module)
        pending.result()
    for module in FAMILY_MODULES:
        if module not in _WITHOUT_HOST_INFO and module not in _WITH_HOST_INFO:
            run(module)
    return pd.DataFrame(out.T, index=links.index, columns=feature_names(), copy=False)
