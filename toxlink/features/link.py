"""Link-attribute family: rel flags, placement, dates and the vendor's metrics.

Vendor flags are nullable booleans: ``True`` -> 1, ``False`` -> 0, unknown -> NaN. Ages are
counted in days back from the export's *reference date* — the latest first/last-seen
date of the whole export (from :class:`~toxlink.features.profile.ProfileStats` when
scoring chunks), never today's date, so the same export always gives the same numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.features._base import Context, FeatureSet, above, below, bool_float, flag, never, num_float

FEATURES = FeatureSet("link")
FEATURES.add("lnk_nofollow", "1 if the link is rel=nofollow", never)
FEATURES.add("lnk_ugc", "1 if the link is rel=ugc (user-generated content)", never)
FEATURES.add("lnk_sponsored", "1 if the link is rel=sponsored (declared paid link)", never)
FEATURES.add("lnk_followed", "1 if the link passes PageRank (none of nofollow/ugc/sponsored); NaN if nofollow unknown", never)
FEATURES.add("lnk_image", "1 if the link is an image link", never)
FEATURES.add("lnk_sitewide", "1 if the vendor reports the link site-wide (footer, sidebar, blogroll)", flag("the link is site-wide (footer or sidebar)"))
FEATURES.add("lnk_frame", "1 if the link is inside a frame/iframe", flag("the link sits in a frame"))
FEATURES.add("lnk_form", "1 if the link is a form action", flag("the link is a form action"))
FEATURES.add("lnk_redirect", "1 if the link reaches the target through a redirect", flag("the link reaches you through a redirect"))
FEATURES.add("lnk_text", "1 if the vendor marks it a plain text link", never)
FEATURES.add("lnk_content", "1 if the link is inside the page's main content", never)
FEATURES.add("lnk_lost", "1 if the vendor reports the link lost", never)
FEATURES.add("lnk_new", "1 if the vendor reports the link new", never)
FEATURES.add("lnk_vendor_spam", "1 if the vendor's own spam flag is set (Ahrefs 'Is spam')", flag("the backlink tool itself flags the page as spam"))
FEATURES.add("lnk_first_seen_days", "days from first seen to the export's reference date (latest date in the export)", below(30, "the link is new (first seen {:,.0f} days before the latest date in the export)"))
FEATURES.add("lnk_last_seen_days", "days from last seen to the export's reference date", never)
FEATURES.add("lnk_lifetime_days", "days between first and last seen", never)
FEATURES.add("lnk_domain_rating", "referring domain authority 0-100 (Ahrefs DR, Moz DA)", below(5, "the site has almost no authority (rated {:,.0f}/100)"))
FEATURES.add("lnk_page_rating", "referring page authority 0-100 (Ahrefs UR, Moz PA, Semrush page score)", never)
FEATURES.add("lnk_trust_flow", "Majestic Trust Flow", never)
FEATURES.add("lnk_citation_flow", "Majestic Citation Flow", never)
FEATURES.add("lnk_trust_ratio", "Trust Flow / Citation Flow (low = many links, little trust)", below(0.3, "the page has many links but little trust (Trust/Citation Flow {:.2f})"))
FEATURES.add("lnk_vendor_spam_score", "vendor spam/toxicity score 0-100 (Moz Spam Score, Semrush Toxicity Score)", above(50, "the backlink tool rates the site {:,.0f}/100 for spam"))
FEATURES.add("lnk_external_links", "outbound external links on the referring page", above(300, "the page links out to {:,.0f} other sites"))
FEATURES.add("lnk_internal_links", "internal links on the referring page", never)
FEATURES.add("lnk_external_ratio", "external / (external + internal) links on the page", above(0.8, "{:.0%} of the page's links go to other sites"))
FEATURES.add("lnk_domain_traffic", "estimated organic traffic of the referring domain", below(10, "the site gets almost no visitors from search ({:,.0f} a month, the tool estimates)"))
FEATURES.add("lnk_page_traffic", "estimated organic traffic of the referring page", never)
FEATURES.add("lnk_authority_no_traffic", "1 if domain rating >= 30 but domain traffic < 100 (authority without visitors: link-seller signal)", flag("the site has high authority but almost no visitors (typical of link sellers)"))
FEATURES.add("lnk_http_error", "1 if the referring page answered HTTP >= 400", flag("the referring page no longer loads (HTTP error)"))


def compute(ctx: Context) -> dict[str, np.ndarray]:
    n = ctx.n
    b = {c: bool_float(ctx.col(c), n) for c in S.BOOL}
    num = {c: num_float(ctx.col(c), n) for c in S.FLOAT}
    nofollow, ugc, sponsored = b[S.NOFOLLOW], b[S.UGC], b[S.SPONSORED]
    # Unknown ugc/sponsored count as "not set" once nofollow itself is known.
    any_rel = np.fmax(np.fmax(nofollow, np.nan_to_num(ugc)), np.nan_to_num(sponsored))
    followed = np.where(np.isnan(nofollow), np.nan, 1.0 - any_rel)

    ref = ctx.reference_date

    def days_before_ref(col):
        s = ctx.col(col)
        if s is None or ref is None or ref != ref:
            return np.full(n, np.nan)
        if s.dtype == "datetime64[ns]" and isinstance(ref, pd.Timestamp) and ref.unit == "ns":
            # What (ref - s).dt.total_seconds() / 86400 computes (int64 nanoseconds / 1e9,
            # NaT -> NaN), on the int64 values: no Timedelta column in between.
            ns = s.to_numpy().view(np.int64)
            nat = ns == np.iinfo(np.int64).min
            valid = ns[~nat]
            # pandas raises on an int64 overflow of the difference; numpy would wrap
            if not len(valid) or -(2**63) <= ref.value - int(valid.max()) <= ref.value - int(valid.min()) < 2**63:
                days = (ref.value - ns) / 1e9 / 86400.0
                days[nat] = np.nan
                return days
        return ((ref - s).dt.total_seconds() / 86400.0).to_numpy(dtype=float, na_value=np.nan)

    first, last = days_before_ref(S.FIRST_SEEN), days_before_ref(S.LAST_SEEN)
    tf, cf = num[S.TRUST_FLOW], num[S.CITATION_FLOW]
    ext, internal = num[S.EXTERNAL_LINKS], num[S.INTERNAL_LINKS]
    dr, traffic = num[S.DOMAIN_RATING], num[S.DOMAIN_TRAFFIC]
    with np.errstate(invalid="ignore", divide="ignore"):
        trust_ratio = np.where(cf > 0, tf / cf, np.nan)
        total = ext + internal
        ext_ratio = np.where(total > 0, ext / total, np.where(total == 0, 0.0, np.nan))
    no_traffic = ((dr >= 30) & (traffic < 100)).astype(float)
    no_traffic[np.isnan(dr) | np.isnan(traffic)] = np.nan
    http = num[S.HTTP_CODE]
    http_error = np.where(np.isnan(http), np.nan, (http >= 400).astype(float))
    out = {
        "lnk_nofollow": nofollow,
        "lnk_ugc": ugc,
        "lnk_sponsored": sponsored,
        "lnk_followed": followed,
        "lnk_image": b[S.IMAGE],
        "lnk_sitewide": b[S.SITEWIDE],
        "lnk_frame": b[S.FRAME],
        "lnk_form": b[S.FORM],
        "lnk_redirect": b[S.REDIRECT],
        "lnk_text": b[S.TEXT_LINK],
        "lnk_content": b[S.CONTENT_LINK],
        "lnk_lost": b[S.LOST],
        "lnk_new": b[S.NEW_LINK],
        "lnk_vendor_spam": b[S.VENDOR_SPAM],
        "lnk_first_seen_days": first,
        "lnk_last_seen_days": last,
        "lnk_lifetime_days": first - last,
        "lnk_domain_rating": dr,
        "lnk_page_rating": num[S.PAGE_RATING],
        "lnk_trust_flow": tf,
        "lnk_citation_flow": cf,
        "lnk_trust_ratio": trust_ratio,
        "lnk_vendor_spam_score": num[S.SPAM_SCORE],
        "lnk_external_links": ext,
        "lnk_internal_links": internal,
        "lnk_external_ratio": ext_ratio,
        "lnk_domain_traffic": traffic,
        "lnk_page_traffic": num[S.PAGE_TRAFFIC],
        "lnk_authority_no_traffic": no_traffic,
        "lnk_http_error": http_error,
    }
    return out
