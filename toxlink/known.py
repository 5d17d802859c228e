"""Lists of referring sites the user already knows: spam from past audits, sites known to be fine.

An agency keeps the sites it disavowed for past clients (``--known-spam``) and the ones it
checked and kept (``--known-clean``). A referring host at or under an entry of such a list
is evidence the model cannot have: its risk moves by a fixed amount of log-odds per list
that names it, and the list is shown as a reason ("listed as spam on your list
'agency-2025'").

The amounts are measured, not guessed: training measures, under leave-one-source-out
evaluation, how far a host named by *other* independent lists should move, and stores it in
the model metadata (``extra["list_evidence"]``, ``{"spam": +a, "clean": -b}`` log-odds per
list). A model without it uses :data:`DEFAULT_LOG_ODDS`. A list file has one host, domain,
``domain:`` entry or URL per line, ``#`` comments (the whitelist's format: a URL names its
host).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from toxlink.sites import as_strings, covering_domains

#: Log-odds added per matching list when the model metadata gives none: a host at risk 0.5
#: goes to 0.88 on one spam list, to 0.12 on one clean list.
DEFAULT_LOG_ODDS = {"spam": 2.0, "clean": -2.0}


@dataclass(frozen=True)
class KnownList:
    """One list of referring sites: *name* (shown in reasons), whether it lists *spam* (else
    sites known to be fine), and its *domains* (normalised hosts; each covers its
    subdomains)."""

    name: str
    spam: bool
    domains: frozenset[str]

    @classmethod
    def read(cls, path: str | os.PathLike, *, spam: bool, name: str | None = None) -> "KnownList":
        """Read a list file; *name* defaults to the file name without its extension.

        Raises
        ------
        toxlink.disavow.DisavowError
            Naming the file and line of an entry that is not a host, domain or URL.
        """
        from toxlink.whitelist import Whitelist

        return cls(name or Path(path).stem, spam, Whitelist.read(path).hosts)

    @property
    def kind(self) -> str:
        return "spam" if self.spam else "clean"


def list_evidence(hosts, lists: Sequence[KnownList], log_odds: Mapping[str, float] | None = None
                  ) -> tuple[np.ndarray, pa.Array]:
    """What the known lists say about each referring host.

    Parameters
    ----------
    hosts : Series or Arrow array of str, shape (n,)
        Normalised referring hosts (missing: no list can name them).
    lists : sequence of KnownList
    log_odds : mapping, optional
        ``{"spam": a, "clean": b}``, log-odds per matching list (model metadata), else
        :data:`DEFAULT_LOG_ODDS`.

    Returns
    -------
    shift : ndarray of float, shape (n,)
        Log-odds to add to each host's raw risk (0 where no list names it).
    sentences : pyarrow large_string array, shape (n,)
        One reason per row naming the lists, ``"; "``-joined, null where none does.
    """
    amounts = {**DEFAULT_LOG_ODDS, **(log_odds or {})}
    hosts = as_strings(hosts)
    shift = np.zeros(len(hosts))
    sentences = pa.nulls(len(hosts), pa.large_string())
    for known in lists:
        hit = np.asarray(covering_domains(hosts, known.domains).is_valid())
        if not hit.any():
            continue
        shift[hit] += float(amounts[known.kind])
        said = f"listed as {'spam' if known.spam else 'a site known to be fine'} on your list '{known.name}'"
        text = pa.scalar(said, pa.large_string())
        joined = pc.coalesce(pc.binary_join_element_wise(sentences, text, pa.scalar("; ", pa.large_string())), text)
        sentences = pc.if_else(pa.array(hit), joined, sentences)
    return shift, sentences
