"""Canonical column names of the links table, named once for the whole package.

Every vendor export is normalised into one table with these columns (see
:mod:`toxlink.exports`). A column a vendor does not provide is present but
missing (``NA``), never invented. Other modules import the names from here
rather than spelling string literals.

Dtypes
------
- ``STRING`` columns: pandas ``string`` dtype.
- ``BOOL`` columns: pandas nullable ``boolean`` (``True``/``False``/``<NA>``).
- ``FLOAT`` columns: ``float64`` with ``NaN`` for missing.
- ``DATE`` columns: ``datetime64[ns]`` (naive, UTC) with ``NaT`` for missing.
"""

from __future__ import annotations

# --- provenance --------------------------------------------------------------
SOURCE_FILE = "source_file"  # path of the export the row was read from
SOURCE_ROW = "source_row"  # 1-based line number of the row in that file (header = line 1)
VENDOR = "vendor"  # detected export format, one of exports.FORMATS
ROW_ISSUE = "row_issue"  # why a row cannot be scored (e.g. unparseable URL); NA when fine
DUPLICATE_OF = "duplicate_of"  # "file:line" of the first occurrence of the same link; NA if first

# --- the link ----------------------------------------------------------------
SOURCE_URL = "source_url"  # referring page URL (required)
TARGET_URL = "target_url"  # URL on the audited site the link points to
ANCHOR = "anchor"  # anchor text ("" for an empty anchor, NA when the vendor has no anchor)

# --- link attributes (nullable booleans) --------------------------------------
NOFOLLOW = "nofollow"
UGC = "ugc"
SPONSORED = "sponsored"
IMAGE = "image"  # image link (anchor is alt text or empty)
SITEWIDE = "sitewide"  # vendor says the link appears site-wide (footer, blogroll)
REDIRECT = "redirect"  # the link reaches the target through a redirect
FRAME = "frame"  # link found in a frame / iframe
FORM = "form"  # link found in a form action
TEXT_LINK = "text_link"  # plain text link (Semrush "Text")
CONTENT_LINK = "content_link"  # link inside the main content (Ahrefs is_content)
LOST = "lost"  # vendor reports the link as lost / deleted
NEW_LINK = "new_link"  # vendor reports the link as new
VENDOR_SPAM = "vendor_spam"  # vendor's own spam flag (Ahrefs "Is spam")

# --- dates ----------------------------------------------------------------------
FIRST_SEEN = "first_seen"
LAST_SEEN = "last_seen"

# --- referring page text ----------------------------------------------------------
PAGE_TITLE = "page_title"
LANGUAGE = "language"  # language code(s) of the referring page as the vendor gives them
SURROUNDING_TEXT = "surrounding_text"  # text around the link where the vendor gives it
LINK_TYPE = "link_type"  # vendor's raw link type / page type label, kept for reference

# --- vendor metrics (floats) ---------------------------------------------------------
DOMAIN_RATING = "domain_rating"  # referring domain authority 0-100 (Ahrefs DR, Moz DA)
PAGE_RATING = "page_rating"  # referring page authority 0-100 (Ahrefs UR, Moz PA, Semrush Page ascore)
TRUST_FLOW = "trust_flow"  # Majestic Trust Flow of the referring page
CITATION_FLOW = "citation_flow"  # Majestic Citation Flow of the referring page
SPAM_SCORE = "spam_score"  # vendor spam/toxicity score 0-100 (Moz Spam Score, Semrush Toxicity Score)
EXTERNAL_LINKS = "external_links"  # outbound external links on the referring page
INTERNAL_LINKS = "internal_links"  # internal links on the referring page
DOMAIN_TRAFFIC = "domain_traffic"  # estimated organic traffic of the referring domain
PAGE_TRAFFIC = "page_traffic"  # estimated organic traffic of the referring page
HTTP_CODE = "http_code"  # HTTP status of the referring page
SOURCE_IP = "source_ip"  # IP address of the referring host (string)

PROVENANCE = (SOURCE_FILE, SOURCE_ROW, VENDOR, ROW_ISSUE, DUPLICATE_OF)
STRING = (
    SOURCE_URL,
    TARGET_URL,
    ANCHOR,
    PAGE_TITLE,
    LANGUAGE,
    SURROUNDING_TEXT,
    LINK_TYPE,
    SOURCE_IP,
)
BOOL = (
    NOFOLLOW,
    UGC,
    SPONSORED,
    IMAGE,
    SITEWIDE,
    REDIRECT,
    FRAME,
    FORM,
    TEXT_LINK,
    CONTENT_LINK,
    LOST,
    NEW_LINK,
    VENDOR_SPAM,
)
DATE = (FIRST_SEEN, LAST_SEEN)
FLOAT = (
    DOMAIN_RATING,
    PAGE_RATING,
    TRUST_FLOW,
    CITATION_FLOW,
    SPAM_SCORE,
    EXTERNAL_LINKS,
    INTERNAL_LINKS,
    DOMAIN_TRAFFIC,
    PAGE_TRAFFIC,
    HTTP_CODE,
)

#: Every column of the canonical links table, in output order.
COLUMNS = PROVENANCE + STRING + BOOL + DATE + FLOAT

DTYPES: dict[str, str] = {
    SOURCE_FILE: "string",
    SOURCE_ROW: "int64",
    VENDOR: "string",
    ROW_ISSUE: "string",
    DUPLICATE_OF: "string",
    **{c: "string" for c in STRING},
    **{c: "boolean" for c in BOOL},
    **{c: "datetime64[ns]" for c in DATE},
    **{c: "float64" for c in FLOAT},
}

# --- columns added by scoring (toxlink.predictor) ---------------------------------------
RISK = "risk"  # calibrated probability that the link is spam or manipulation
# The risk rescaled to a whole number 0-100 (round(100 * risk); max_risk for a site): the
# scale SEO tools' toxicity and spam scores use. A rescaling, not another model.
TOXICITY = "toxicity"
BAND = "band"  # "toxic" | "review" | "ok" | "rejected" (row could not be scored)
REASONS = "reasons"  # plain-language reasons, "; "-joined, strongest first
# The link's anchor text, categorised (toxlink.anchors): branded, naked_url, generic,
# exact_match, partial_match, other or empty; blank when the export has no anchor text.
ANCHOR_CATEGORY = "anchor_category"
HOST = "host"  # normalised referring host (lower-case, punycode, no port/userinfo/trailing dot)
DOMAIN = "domain"  # registrable domain of the host (eTLD+1), or the host for IPs

BANDS = ("toxic", "review", "ok", "rejected")


# --- columns of the per-site roll-up (domains.csv; toxlink.policy) -------------------------
# ("domain" there is the referring site: the registrable domain, or the exact host on a free
# hosting platform.)
ACTION = "action"  # DISAVOW_DOMAIN | DISAVOW_URL | REVIEW | KEEP
N_LINKS = "n_links"  # scored links (duplicates and rejected rows excluded)
N_TOXIC = "n_toxic"  # links in the toxic band with risk >= Policy.min_risk
N_REVIEW = "n_review"  # links in the review band (and toxic-band links under min_risk)
TOXIC_SHARE = "toxic_share"  # n_toxic / n_links
MAX_RISK = "max_risk"
MEAN_RISK = "mean_risk"

#: Columns written to the CSV outputs with :data:`RISK_DECIMALS` decimals: a spreadsheet
#: user compares 0.731 with 0.7, not 0.7309582370519638.
ROUNDED = (RISK, TOXIC_SHARE, MAX_RISK, MEAN_RISK)
RISK_DECIMALS = 3
#: What separates the items of a list-valued cell in the CSV outputs (``disavow_entries``).
LIST_SEPARATOR = "; "
TOP_REASONS = "top_reasons"  # the 3 most frequent reasons among toxic/review links, "; "-joined
WHITELISTED = "whitelisted"  # the site is covered by the whitelist (action is keep)
PROTECTED = "protected"  # .gov/.edu/... site protected by Policy.protect_gov_edu
FREE_HOST = "free_host"  # the site is on a free hosting platform (data/free_hosts.txt)
DISAVOW_ENTRIES = "disavow_entries"  # list of disavow lines the site contributes

# --- per-site facts a reviewer decides with (domains.csv; toxlink.rollup), blank where the
# exports lack them. Lists are plain text: "text (count)" items, LIST_SEPARATOR-joined,
# most frequent first (ties in code point order). DOMAIN_RATING, TRUST_FLOW, DOMAIN_TRAFFIC,
# FIRST_SEEN and LAST_SEEN (above) are the site's highest, earliest and latest values.
DOMAIN_AUTHORITY = "domain_authority"  # highest Moz Domain Authority (domain_rating: Ahrefs DR)
N_DOFOLLOW = "n_dofollow"  # links the export marks followed (not nofollow, ugc or sponsored)
N_NOFOLLOW = "n_nofollow"  # links marked nofollow, ugc or sponsored
N_LOST = "n_lost"  # links the export reports as lost
TOP_ANCHORS = "top_anchors"  # the 5 most frequent anchor texts with counts: "buy pills (12); click here (3)"
EXAMPLE_URL = "example_url"  # the referring URL of the site's riskiest link (ties: first in code point order)
N_TARGET_PAGES = "n_target_pages"  # distinct target URLs the site links to
TARGET_PAGES = "target_pages"  # the 5 most linked of them, with counts
LANGUAGES = "languages"  # the 3 most frequent page languages the export gives, with counts
#: The facts, in the order domains.csv gives them.
FACT_COLUMNS = (DOMAIN_RATING, DOMAIN_AUTHORITY, TRUST_FLOW, DOMAIN_TRAFFIC, N_DOFOLLOW, N_NOFOLLOW, FIRST_SEEN,
                LAST_SEEN, N_LOST, TOP_ANCHORS, EXAMPLE_URL, N_TARGET_PAGES, TARGET_PAGES, LANGUAGES)

ROLLUP_COLUMNS = (DOMAIN, ACTION, N_LINKS, N_TOXIC, N_REVIEW, TOXIC_SHARE, MAX_RISK, TOXICITY, MEAN_RISK,
                  TOP_REASONS, WHITELISTED, PROTECTED, FREE_HOST, *FACT_COLUMNS, DISAVOW_ENTRIES)

# --- per-site facts the policy decides on (toxlink.rollup.SiteStatistics), besides the above ------
N_DISAVOWABLE = "n_disavowable"  # toxic links whose URL the whitelist does not cover
WHITELISTED_BELOW = "whitelisted_below"  # a whitelisted domain, URL or link is at or below the site
PLATFORM = "platform"  # some link came from a free hosting platform itself (wordpress.com)
N_URL_ENTRIES = "n_url_entries"  # distinct disavowable URLs of the site that can be written as entries

# --- actions of the roll-up, from most to least severe -------------------------------------
DISAVOW_DOMAIN = "disavow-domain"
DISAVOW_URL = "disavow-url"
REVIEW = "review"
KEEP = "keep"
ACTIONS = (DISAVOW_DOMAIN, DISAVOW_URL, REVIEW, KEEP)


def empty_links():
    """An empty canonical links table with the right dtypes (shape ``(0, len(COLUMNS))``)."""
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype=DTYPES[c]) for c in COLUMNS})


def conform(frame):
    """Return *frame* with exactly :data:`COLUMNS`, in order and with canonical dtypes.

    Columns missing from *frame* are added as all-missing; extra columns are dropped.
    """
    import pandas as pd

    n = len(frame)
    out = {}
    for c in COLUMNS:
        dtype = DTYPES[c]
        if c in frame.columns:
            out[c] = frame[c].astype(dtype) if str(frame[c].dtype) != dtype else frame[c]
        else:
            out[c] = pd.Series(pd.NA if dtype in ("string", "boolean") else None, index=frame.index, dtype=dtype) if n else pd.Series(dtype=dtype)
    return pd.DataFrame(out, index=frame.index)
