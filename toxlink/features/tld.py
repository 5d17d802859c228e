"""TLD family: the referring host's public suffix as numbers, not as a category.

A raw suffix categorical would let the model memorise the TLDs of its training sources, so
the suffix is described by its *kind* (one-hot: generic / country / new gTLD /
institutional), its shape, and a published abuse prior: the phishing domain score per
TLD from Interisle Consulting Group's Phishing Landscape 2025 (Cybercrime Information
Center, May 2024 - April 2025, ``data/tld_risk.csv``). TLDs absent from that table get NaN,
never 0 ("not measured" is not "clean"). All TLD features are NaN for IP hosts and rows
without a host.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from toxlink.features._base import Context, FeatureSet, _ok, arrow_codes, categorised, flag, never, take_rows, tld_risk

_SOURCE = "Interisle Phishing Landscape 2025"


def _risk_reason(v) -> str | None:
    if not _ok(v) or v <= 100:
        return None
    # The source's scores are distinct, so the value identifies its TLD.
    risk = tld_risk()["phishing_domain_score"]
    match = risk.index[np.isclose(risk.to_numpy(), v, rtol=1e-4)]
    name = f"TLD .{match[0]}" if len(match) else "the TLD"
    return f"{name} has a high abuse rate ({v / 100:.1f}% of its domains reported for phishing per {_SOURCE})"


FEATURES = FeatureSet("tld")
FEATURES.add("tld_generic", "1 if the TLD is a legacy generic TLD (com, net, org, info, biz, ...)", never)
FEATURES.add("tld_country", "1 if the suffix is a country-code TLD or a commercial/general space under one (de, co.uk, com.au)", never)
FEATURES.add("tld_new_gtld", "1 if the TLD is a new (post-2012) generic TLD (xyz, top, online, ...)", flag("the site uses a new generic TLD"))
FEATURES.add("tld_institutional", "1 if the suffix is restricted to government/education/military (gov, edu, mil, int, gov.uk, ac.uk, edu.au, go.jp, ...)", never)
FEATURES.add("tld_second_level", "1 if the public suffix has two or more labels (co.uk, com.br)", never)
FEATURES.add("tld_unlisted", "1 if the host has no suffix in the Public Suffix List (invalid or internal TLD)", flag("the host's TLD is not a real public suffix"))
FEATURES.add("tld_length", "characters in the top-level label", never)
FEATURES.add("tld_phish_score", f"phishing domains per 10,000 registered domains of the TLD ({_SOURCE}, data/tld_risk.csv); NaN when the TLD is not in the source", _risk_reason)


def compute(ctx: Context) -> dict[str, np.ndarray]:
    codes, uniq = ctx.host_codes
    info = ctx.host_info
    kinds = categorised("tld_kinds.txt")
    generic, institutional, inst_label = (set(kinds[k]) for k in ("generic", "institutional", "institutional_label"))
    risk = tld_risk()["phishing_domain_score"].to_dict()
    suffixes = pc.if_else(pa.array(info["is_ip"]), pa.scalar(None, pa.large_string()), info["suffix"])
    # Few distinct suffixes per export: classify each once, then two gathers.
    scodes, suniq = arrow_codes(suffixes)
    suniq = suniq.to_pylist()
    table = np.full((len(suniq), len(FEATURES)), np.nan)
    for i, s in enumerate(suniq):
        labels = s.split(".") if s else []
        top = labels[-1] if labels else ""
        if not s:
            table[i] = (0, 0, 0, 0, 0, 1, np.nan, np.nan)
            continue
        inst = s in institutional or (len(labels) > 1 and labels[0] in inst_label and len(top) == 2)
        gen = not inst and s in generic
        country = not inst and len(top) == 2
        new = not (inst or gen or country)
        table[i] = (gen, country, new, inst, len(labels) > 1, 0, len(top), risk.get(top, np.nan))
    rows = np.append(scodes, -1)[codes]  # suffix code of each row (-1: no host / suffix)
    return dict(zip(FEATURES.names, take_rows(table.T, rows)))
