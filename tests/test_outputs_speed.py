"""Fast paths of disavow file assembly give what the simple paths give."""

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toxlink import disavow as D
from toxlink.disavow import lines as DL
from toxlink.disavow import DisavowFile
from toxlink.policy import Whitelist

_host = st.sampled_from(["spam.com", "www.spam.com", "a.b.spam.co.uk", "Spam.COM", "bücher.de", "xn--bcher-kva.de",
                         "co.uk", "com", "x.blogspot.com", "bad_host.org", "1.2.3.4", "a..b.com", "trail.com."])
_line = st.one_of(
    st.builds(lambda h: "domain:" + h, _host),
    st.builds(lambda s, h, p: f"{s}://{h}{p}", st.sampled_from(["http", "https", "HTTP", "ftp"]), _host,
              st.sampled_from(["/", "/x?a=1", "", "/a b", "/ü"])),
    st.sampled_from(["", "  ", "# note", "  # indented", "Domain:spam.com", "domain: spam.com", "spam.com",
                     "domain:*.spam.com", "domain:spam.com:80", "domain:spam.com # x", "http://x.com/ #c",
                     "\ufeffdomain:x.com", "domain:", "domain:[::1]"]),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, min_size=DL._VECTOR_MIN, max_size=48))
def test_vectorised_line_facts_match_line_by_line(lines):
    kinds, values, notes = DL.line_facts(lines)
    one = [DL.line_facts([ln]) for ln in lines]  # below _VECTOR_MIN: every check line by line
    assert kinds == [k[0] for k, _, _ in one]
    assert values == [v[0] for _, v, _ in one]
    assert notes == {i: n[0] for i, (_, _, n) in enumerate(one) if n}


def _recs(n: int) -> pd.DataFrame:
    from toxlink import policy as P

    rows = []
    for i in range(n):
        if i % 3:
            entries = [f"domain:site{i}.com"] if i % 5 else [f"domain:Bücher{i}.de"]
        else:
            entries = [f"https://site{i}.org/p{k}" for k in range(2)] + [f"HTTP://Site{i}.org/Q"]
        rows.append({P.ROLLUP_DOMAIN: f"site{i}.com", P.ACTION: P.DISAVOW_DOMAIN if i % 3 else P.DISAVOW_URL,
                     P.N_LINKS: 4, P.N_TOXIC: 3, P.N_REVIEW: 0, P.TOXIC_SHARE: 0.75, P.MAX_RISK: 0.9,
                     P.MEAN_RISK: 0.8, P.TOP_REASONS: f"reason {i}", P.WHITELISTED: False, P.PROTECTED: False,
                     P.FREE_HOST: False, P.DISAVOW_ENTRIES: entries})
    return pd.DataFrame(rows)


def test_assembled_and_merged_files_have_the_facts_of_a_fresh_parse():
    recs = _recs(60)
    old = DisavowFile.parse("# mine\ndomain:site1.com\nhttps://site3.org/p0\n", "old.txt")
    wl = Whitelist.from_entries(["site4.com", "https://site6.org/p1"])
    for reasons in (True, False):
        new = DisavowFile.from_recommendations(recs, reasons=reasons, date="2026-01-01")
        merged, diff = old.merge(new, whitelist=wl, date="2026-01-02", reasons=reasons)
        for f in (new, merged, diff.added_file()):
            fresh = DisavowFile(f.lines, f.name, strict=False)
            assert (f.facts.kinds, f.facts.values, f.errors, f.warnings) == (fresh.facts.kinds, fresh.facts.values, fresh.errors,
                                                                  fresh.warnings)
        statuses = {r.entry: r.status for r in diff.rows}
        assert statuses["domain:site1.com"] == D.ALREADY_PRESENT
        assert statuses["domain:site4.com"] == D.WHITELISTED
        assert statuses["https://site6.org/p1"] == D.WHITELISTED
        idn = [e for e in statuses if e.startswith("domain:xn--")]  # written in Unicode, added as punycode
        assert idn and all(statuses[e] == D.ADDED for e in idn)


