"""Google disavow files: grammar, limits, IDN, errors naming the line, merge and diff."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toxlink import disavow as D
from toxlink import schema as S
from toxlink.disavow import DisavowError, DisavowFile, normalise_urls, split
from toxlink.disavow.merge import plan_merge
from toxlink import policy as P
from toxlink.policy import Whitelist

EXISTING = """# Disavow file for acmetools.com
# updated by hand 2025-03-01

domain:spam-directory.com
domain:casino.example.net
http://blog.example.org/comments/123
https://www.linkfarm.io/page?id=7

# old network
domain:seo-links.xyz
"""


def test_parse_round_trip_is_exact():
    f = DisavowFile.parse(EXISTING)
    assert f.to_text() == EXISTING
    assert f.entries == {
        ("domain", "spam-directory.com"),
        ("domain", "casino.example.net"),
        ("domain", "seo-links.xyz"),
        ("url", "http://blog.example.org/comments/123"),
        ("url", "https://www.linkfarm.io/page?id=7"),
    }
    assert f.errors == [] and f.warnings == []


@pytest.mark.parametrize(
    "text",
    ["domain:a.com\r\n# c\r\n\r\nhttp://b.com/x\r\n", "\ufeffdomain:a.com\n", "domain:a.com\n# no newline at end", ""],
)
def test_round_trip_keeps_line_endings_bom_and_missing_final_newline(text):
    assert DisavowFile.parse(text).to_text() == text


def test_read_and_write_files(tmp_path):
    src = tmp_path / "disavow.txt"
    src.write_bytes(EXISTING.replace("\n", "\r\n").encode())
    f = DisavowFile.read(src)
    out = f.write(tmp_path / "out" / "copy.txt")
    assert out.read_bytes() == src.read_bytes()
    assert [p.name for p in out.parent.iterdir()] == ["copy.txt"]  # no temporary file left


def test_normalised_entries():
    f = DisavowFile.parse("domain:Example.COM.\nHTTPS://WWW.Example.com\nhttp://example.com:80/A?b=1#frag\n")
    assert f.entries == {
        ("domain", "example.com"),
        ("url", "https://www.example.com/"),
        ("url", "http://example.com/A?b=1"),
    }


def test_www_and_bare_and_schemes_are_different_urls():
    urls = pd.Series(["http://x.com/a", "http://www.x.com/a", "https://x.com/a", "http://x.com/a/"])
    assert normalise_urls(urls).nunique() == 4


# --- IDN -------------------------------------------------------------------------------------
def test_idn_written_as_punycode():
    f = DisavowFile.from_entries(["domain:bücher.de", "http://bücher.de/seite"], date="2026-01-01")
    assert "domain:xn--bcher-kva.de" in f.lines
    assert "http://xn--bcher-kva.de/seite" in f.lines
    assert f.to_text().isascii()


def test_idn_in_users_file_is_read_with_a_warning():
    f = DisavowFile.parse("domain:bücher.de\n")
    assert f.entries == {("domain", "xn--bcher-kva.de")}
    assert f.lines == ("domain:bücher.de",)  # kept verbatim
    assert "xn--bcher-kva.de" in str(f.warnings[0])


# --- errors name the file and line ------------------------------------------------------------
@pytest.mark.parametrize(
    "line, expected",
    [
        ("domain:", "'domain:' has no host"),
        ("domain:http://x.com/", "write 'domain:x.com'"),
        ("domain:https://www.x.com/page", "write 'domain:www.x.com'"),
        ("domain:*.x.com", "no wildcard syntax: write 'domain:x.com'"),
        ("domain:x.com/en/", "sub-path cannot be disavowed"),
        ("domain:x.com # spam", "comment must be on its own line"),
        ("http://x.com/page # bought", "comment must be on its own line"),
        ("domain:com", "public suffix"),
        ("domain:co.uk", "public suffix"),
        ("domain:x.com:8080", "without a port"),
        ("domain:exa mple.com", "space"),
        ("mailto:me@x.com", "scheme mailto is not http(s)"),
        ("ftp://x.com/file", "scheme ftp is not http(s)"),
        ("http://x.com/" + "a" * 2100, "over Google's limit of 2,048"),
    ],
)
def test_invalid_lines_raise_naming_file_and_line(line, expected):
    text = "# header\n\n" + line + "\n"
    with pytest.raises(DisavowError) as info:
        DisavowFile.parse(text, name="disavow.txt")
    assert str(info.value).startswith("disavow.txt, line 3: ")
    assert expected in str(info.value)
    assert info.value.line == 3


def test_url_at_the_length_limit_is_fine():
    url = "http://x.com/" + "a" * (2048 - len("http://x.com/"))
    assert len(url) == 2048
    assert DisavowFile.parse(url + "\n").urls == {url}


def test_read_reports_every_bad_line_and_the_first_in_the_message(tmp_path):
    p = tmp_path / "disavow.txt"
    p.write_text("domain:ok.com\ndomain:\ndomain:*.x.com\n", encoding="utf-8")
    with pytest.raises(DisavowError) as info:
        DisavowFile.read(p)
    assert str(info.value).startswith(f"{p}, line 2: 'domain:' has no host")
    assert "1 more invalid line: 3" in str(info.value)
    assert [i.line for i in info.value.issues] == [2, 3]


def test_not_utf8_names_the_line(tmp_path):
    p = tmp_path / "disavow.txt"
    p.write_bytes(b"domain:a.com\nhttp://b.com/caf\xe9\n")
    with pytest.raises(DisavowError, match=r"line 2: not UTF-8"):
        DisavowFile.read(p)


def test_lenient_read_keeps_invalid_lines_verbatim():
    f = DisavowFile.parse("domain:a.com\ndomain:http://b.com/\n", strict=False)
    assert f.lines == ("domain:a.com", "domain:http://b.com/")
    assert f.entries == {("domain", "a.com")}
    assert [e.line for e in f.errors] == [2]
    merged, _ = f.merge(DisavowFile.from_entries(["domain:c.com"]), date="2026-01-01")
    assert merged.lines[:2] == f.lines


def test_warnings_for_common_mistakes():
    f = DisavowFile.parse("example.org\nDomain:a.com\ndomain:www.b.com\ndomain:a.com\ndomain:sub.a.com\nb.com/page\n")
    msgs = [(w.line, w.message) for w in f.warnings]
    assert (1, "a bare host is read as the URL http://example.org/ (its home page only): write 'domain:example.org' to disavow the whole site") in msgs
    assert any(ln == 2 and "lower case" in m for ln, m in msgs)
    assert any(ln == 3 and "does not cover 'b.com'" in m for ln, m in msgs)
    assert any(ln == 4 and "duplicate of line 2" in m for ln, m in msgs)
    assert any(ln == 5 and "already covered by 'domain:a.com'" in m for ln, m in msgs)
    assert any(ln == 6 and "no scheme: read as http://b.com/page" in m for ln, m in msgs)
    assert ("url", "http://example.org/") in f.entries


# --- limits ----------------------------------------------------------------------------------
def test_too_many_lines_is_refused_with_the_excess(tmp_path):
    # comment and blank lines count towards the limit like entries do
    lines = ["domain:spam.com"] + ["# reason", ""] * (D.MAX_LINES // 2) + ["# c"]
    f = DisavowFile(lines, strict=False)
    target = tmp_path / "disavow.txt"
    with pytest.raises(DisavowError, match=r"100,002 lines, 2 over Google's limit of 100,000"):
        f.write(target)
    assert not target.exists() and list(tmp_path.iterdir()) == []
    DisavowFile(lines[: D.MAX_LINES], strict=False).write(target)  # exactly at the limit: fine
    assert target.read_text().count("\n") == D.MAX_LINES


def test_too_many_bytes_is_refused(tmp_path):
    url = "http://x.com/" + "p" * 1900
    lines = [f"{url}{i}" for i in range(1100)]  # ~2.1 MB in far fewer than 100,000 lines
    f = DisavowFile(lines, strict=False)
    size = len(f.to_bytes())
    with pytest.raises(DisavowError, match=rf"{size:,} bytes, {size - D.MAX_BYTES:,} over Google's limit of 2,000,000"):
        f.write(tmp_path / "disavow.txt")


def test_write_refuses_a_name_not_ending_in_txt(tmp_path):
    with pytest.raises(DisavowError, match=r"\.txt"):
        DisavowFile.from_entries(["domain:a.com"]).write(tmp_path / "disavow.csv")


def test_failed_write_leaves_the_old_file_untouched(tmp_path):
    target = tmp_path / "disavow.txt"
    target.write_text(EXISTING)
    big = DisavowFile(["domain:a.com"] + ["#"] * D.MAX_LINES)
    with pytest.raises(DisavowError):
        big.write(target)
    assert target.read_text() == EXISTING


def test_split_fits_the_limits_and_keeps_every_line_once():
    new = DisavowFile.from_recommendations(_recs(40), date="2026-01-01")
    parts = split(new, max_lines=25)
    assert len(parts) > 1
    assert all(len(p) <= 25 for p in parts)
    assert [ln for p in parts for ln in p.lines] == list(new.lines)
    assert [p.name for p in parts][:2] == ["disavow-1.txt", "disavow-2.txt"]
    # a reason comment is never separated from its entry
    for p in parts:
        assert not p.lines[-1].startswith("#") or p is parts[-1]


# --- from recommendations ---------------------------------------------------------------------
def _recs(n_domains: int = 3) -> pd.DataFrame:
    from toxlink import policy as P

    rows = []
    for i in range(n_domains):
        rows.append({P.ROLLUP_DOMAIN: f"spam{i}.com", P.ACTION: P.DISAVOW_DOMAIN, P.N_LINKS: 4, P.N_TOXIC: 4,
                     P.MAX_RISK: 0.95, P.TOP_REASONS: "link-selling phrase in the title",
                     P.DISAVOW_ENTRIES: [f"domain:spam{i}.com"]})
    rows.append({P.ROLLUP_DOMAIN: "mixed.org", P.ACTION: P.DISAVOW_URL, P.N_LINKS: 5, P.N_TOXIC: 2, P.MAX_RISK: 0.9,
                 P.TOP_REASONS: "casino anchor", P.DISAVOW_ENTRIES: ["http://mixed.org/a", "http://mixed.org/b"]})
    rows.append({P.ROLLUP_DOMAIN: "fine.net", P.ACTION: P.KEEP, P.N_LINKS: 9, P.N_TOXIC: 0, P.MAX_RISK: 0.1,
                 P.TOP_REASONS: "", P.DISAVOW_ENTRIES: []})
    rows.append({P.ROLLUP_DOMAIN: "maybe.net", P.ACTION: P.REVIEW, P.N_LINKS: 2, P.N_TOXIC: 0, P.MAX_RISK: 0.5,
                 P.TOP_REASONS: "thin page", P.DISAVOW_ENTRIES: []})
    return pd.DataFrame(rows)


def test_from_recommendations_writes_dated_header_reasons_and_entries():
    f = DisavowFile.from_recommendations(_recs(1), date="2026-02-03")
    assert f.lines == (
        "# toxlink 2026-02-03: 1 domain, 2 URLs",
        "",
        "# spam0.com: 4 of 4 links toxic, max risk 0.95; link-selling phrase in the title",
        "domain:spam0.com",
        "",
        "# mixed.org: 2 of 5 links toxic, max risk 0.90; casino anchor",
        "http://mixed.org/a",
        "http://mixed.org/b",
    )
    bare = DisavowFile.from_recommendations(_recs(1), date="2026-02-03", reasons=False)
    assert [ln for ln in bare.lines if ln.startswith("#")] == ["# toxlink 2026-02-03: 1 domain, 2 URLs"]


def test_from_recommendations_rejects_an_invalid_entry():
    from toxlink import policy as P

    bad = _recs(1)
    bad.at[0, P.DISAVOW_ENTRIES] = ["domain:*.spam0.com"]
    with pytest.raises(DisavowError, match="wildcard"):
        DisavowFile.from_recommendations(bad)


# --- merge -----------------------------------------------------------------------------------
def test_merge_keeps_every_existing_line_and_appends_a_dated_block():
    old = DisavowFile.parse(EXISTING)
    new = DisavowFile.from_entries(
        [
            "domain:spam-directory.com",  # already there
            "domain:sub.casino.example.net",  # covered by its parent
            "http://casino.example.net/x",  # covered by a domain entry
            "http://blog.example.org/comments/123",  # identical URL
            "http://www.blog.example.org/comments/123",  # www. is a different URL
            "https://blog.example.org/comments/123",  # so is https
            "domain:new-spam.com",
            "http://new-spam.com/page",  # covered by the new domain entry
            "domain:partner.com",  # whitelisted
            "http://press.example.com/story",  # whitelisted by URL
        ]
    )
    wl = Whitelist.from_entries(["partner.com", "http://press.example.com/story"])
    merged, diff = old.merge(new, whitelist=wl, date="2026-05-06")
    assert merged.lines[: len(old.lines)] == old.lines
    assert merged.lines[len(old.lines):] == (
        "",
        "# toxlink 2026-05-06: 1 domain, 2 URLs",
        "http://www.blog.example.org/comments/123",
        "https://blog.example.org/comments/123",
        "domain:new-spam.com",
    )
    assert {r.entry for r in diff.added} == {
        "http://www.blog.example.org/comments/123", "https://blog.example.org/comments/123", "domain:new-spam.com"}
    present = {r.entry: r.detail for r in diff.already_present}
    assert present["domain:spam-directory.com"] == "covered by domain:spam-directory.com (line 4)"
    assert present["domain:sub.casino.example.net"] == "covered by domain:casino.example.net (line 5)"
    assert present["http://casino.example.net/x"] == "covered by domain:casino.example.net (line 5)"
    assert present["http://blog.example.org/comments/123"].startswith("covered by http://blog.example.org/comments/123")
    assert present["http://new-spam.com/page"] == "covered by new entry domain:new-spam.com"
    assert {r.entry for r in diff.whitelisted} == {"domain:partner.com", "http://press.example.com/story"}
    text = diff.to_text()
    assert "added:            3 entries (1 domain, 2 URLs)" in text and "kept:             10 existing lines" in text
    csv = diff.to_csv()
    assert csv.splitlines()[0] == "kind,entry,status,detail"
    assert "domain,domain:partner.com,\"whitelisted, skipped\",whitelisted domain partner.com" in csv


def test_merge_twice_adds_nothing_the_second_time():
    old = DisavowFile.parse(EXISTING)
    new = DisavowFile.from_recommendations(_recs(3), date="2026-01-01")
    once, d1 = old.merge(new, date="2026-01-02")
    twice, d2 = once.merge(new, date="2026-01-03")
    assert len(d1.added) == 5 and d2.added == []
    assert twice.lines == once.lines


def test_merge_carries_reason_comments_but_not_headers():
    old = DisavowFile.parse("domain:spam1.com\n")
    new = DisavowFile.from_recommendations(_recs(2), date="2026-01-01")
    merged, diff = old.merge(new, date="2026-01-02")
    assert merged.lines == (
        "domain:spam1.com",
        "",
        "# toxlink 2026-01-02: 1 domain, 2 URLs",
        "# spam0.com: 4 of 4 links toxic, max risk 0.95; link-selling phrase in the title",
        "domain:spam0.com",
        "# mixed.org: 2 of 5 links toxic, max risk 0.90; casino anchor",
        "http://mixed.org/a",
        "http://mixed.org/b",
    )
    assert diff.added_file().lines[0] == "# toxlink 2026-01-02: 1 domain, 2 URLs"
    assert diff.added_file().entries == merged.entries - old.entries
    no_reasons, _ = old.merge(new, date="2026-01-02", reasons=False)
    assert sum(ln.startswith("#") for ln in no_reasons.lines) == 1


def test_merge_never_sweeps_up_a_whitelisted_subdomain():
    wl = Whitelist.from_entries(["blog.mixed.org"])
    new = DisavowFile.from_entries(["domain:mixed.org", "http://mixed.org/a", "http://blog.mixed.org/b"])
    merged, diff = DisavowFile().merge(new, whitelist=wl, date="2026-01-01")
    assert merged.entries == {("url", "http://mixed.org/a")}
    assert {r.entry: r.detail for r in diff.whitelisted} == {
        "domain:mixed.org": "would also disavow whitelisted blog.mixed.org",
        "http://blog.mixed.org/b": "whitelisted domain blog.mixed.org",
    }


def test_merge_reports_existing_entries_that_cover_the_whitelist_but_keeps_them():
    old = DisavowFile.parse("domain:partner.com\n")
    merged, diff = old.merge(DisavowFile(), whitelist=Whitelist.from_entries(["partner.com"]), date="2026-01-01")
    assert merged.lines == old.lines
    assert [r.entry for r in diff.existing_whitelisted] == ["domain:partner.com"]


def test_merge_without_new_entries_returns_the_file_unchanged():
    old = DisavowFile.parse("domain:a.com\n# no newline", name="mine.txt")
    merged, diff = old.merge(DisavowFile.from_entries(["http://a.com/x"]), date="2026-01-01")
    assert merged.to_text() == old.to_text() and merged.name == "mine.txt"
    assert len(diff.already_present) == 1



def test_files_built_from_validated_lines_report_what_reading_them_reports():
    # merge and the builders reuse each line's validation; the whole-file warnings (an old
    # URL now covered by a new domain:, duplicates) and IDN/www warnings must still match.
    old = DisavowFile.parse("http://a.spam.com/x\nDomain:b.com\n# note\ndomain:b.com\nhttp://x .com/\n", strict=False)
    new = DisavowFile.parse("domain:spam.com\ndomain:www.c.com\nDomain:D.com\nhttp://bücher.de/seite\n"
                            "domain:e.com\ndomain:e.com\n")
    merged, diff = old.merge(new, date="2026-01-01")
    assert "domain:d.com" in merged.lines and "http://xn--bcher-kva.de/seite" in merged.lines
    built = [merged, diff.added_file(), DisavowFile.from_entries(["domain:bücher.de", "domain:www.x.com"])]
    for f in built:
        fresh = DisavowFile(f.lines, f.name, strict=False)
        assert (f.errors, f.warnings, f.entries) == (fresh.errors, fresh.warnings, fresh.entries)
    assert any("already covered by 'domain:spam.com'" in w.message for w in merged.warnings)
    assert len(merged.errors) == 1  # the old invalid line, still listed


def test_merge_without_reasons_does_not_depend_on_the_comments_of_the_new_file():
    # toxlink score retries without comments from the same merge decisions (merge_within_limits relies on it)
    old = DisavowFile.parse("domain:spam1.com\n")
    wl = Whitelist.from_entries(["http://mixed.org/b"])
    commented = DisavowFile.from_recommendations(_recs(2), date="2026-01-01")
    plain = DisavowFile.from_recommendations(_recs(2), date="2026-01-01", reasons=False)
    m1, d1 = old.merge(plain, whitelist=wl, date="2026-01-02", reasons=False)
    plan = plan_merge(old, commented, wl)
    with_comments, _ = plan.build("2026-01-02")
    assert any(ln.startswith("# spam0.com") for ln in with_comments.lines)
    for m2, d2 in (old.merge(commented, whitelist=wl, date="2026-01-02", reasons=False),
                   plan.build("2026-01-02", reasons=False)):
        assert m2.lines == m1.lines and d2.rows == d1.rows
        assert d2.added_file().lines == d1.added_file().lines

# --- property: merging never drops or alters an existing line ---------------------------------
_labels = st.sampled_from(["a", "b", "spam", "www", "blog", "xn--bcher-kva"])
_tlds = st.sampled_from(["com", "org", "co.uk", "de"])
_hosts = st.builds(lambda parts, tld: ".".join(parts + [tld]), st.lists(_labels, min_size=1, max_size=3), _tlds)
_paths = st.sampled_from(["/", "/x", "/x/", "/p?id=1", "/a/b"])
_schemes = st.sampled_from(["http", "https"])
_entry = st.one_of(
    st.builds(lambda h: "domain:" + h, _hosts),
    st.builds(lambda s, h, p: f"{s}://{h}{p}", _schemes, _hosts, _paths),
)
_line = st.one_of(_entry, _entry, st.just(""), st.builds(lambda t: "# " + t, st.text("abc xyz:#", max_size=12)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    old_lines=st.lists(_line, max_size=12),
    new_entries=st.lists(_entry, max_size=12),
    wl=st.lists(_hosts, max_size=2),
    crlf=st.booleans(),
)
def test_property_merge_keeps_old_lines_and_covers_both_inputs(old_lines, new_entries, wl, crlf):
    nl = "\r\n" if crlf else "\n"
    old = DisavowFile.parse(nl.join(old_lines) + (nl if old_lines else ""))
    new = DisavowFile.from_entries(new_entries, date="2026-01-01") if new_entries else DisavowFile()
    whitelist = Whitelist.from_entries(wl)
    merged, diff = old.merge(new, whitelist=whitelist, date="2026-01-02")

    # every existing line, byte for byte and in order, at the top of the merged file
    assert merged.lines[: len(old.lines)] == old.lines
    assert merged.to_text().startswith(old.to_text())
    # the merged file is valid and re-reads to the same entries
    again = DisavowFile.parse(merged.to_text())
    assert again.entries == merged.entries and again.errors == []
    assert merged.entries >= old.entries
    # each new entry is in the result, covered by it, or whitelisted
    for kind, value in new.entries:
        covered = merged.covers(kind, value) is not None
        if kind == "domain":
            skipped = whitelist.rule_for_host(value) is not None or bool(whitelist.hosts_under(value))
        else:
            skipped = whitelist.rule_for_url(value) is not None
        assert covered or skipped
    # nothing whitelisted is added, and the diff accounts for every new entry
    for r in diff.added:
        assert (whitelist.rule_for_url(r.entry) if r.kind == "url" else whitelist.rule_for_host(r.entry[7:])) is None
    assert len(diff.added) + len(diff.already_present) + len(diff.whitelisted) == sum(
        1 for _ in new.iter_entries())
    assert merged.entries - old.entries == {(r.kind, r.entry[7:] if r.kind == "domain" else r.entry) for r in diff.added}


# --- within Google's limits ----------------------------------------------------------------------
def _sizes(f: DisavowFile) -> tuple[int, int]:
    return len(f.lines), len(f.to_bytes())


def test_merge_within_limits_keeps_everything_when_it_fits():
    old = DisavowFile.parse(EXISTING)
    merged, diff, overflow, notes = D.merge_within_limits(old, _recs(3), Whitelist.from_entries(["spam1.com"]))
    assert overflow is None and notes == []
    assert merged.lines[: len(old.lines)] == old.lines
    assert any(ln.startswith("# spam0.com: 4 of 4 links toxic") for ln in merged.lines)  # reasons kept
    assert {r.entry: r.status for r in diff.rows}["domain:spam1.com"] == D.WHITELISTED
    assert merged == old.merge(DisavowFile.from_recommendations(_recs(3)), whitelist=Whitelist.from_entries(["spam1.com"]))[0]


def test_merge_within_limits_drops_the_reasons_first_then_overflows_the_least_risky_sites():
    old = DisavowFile.parse("# mine\ndomain:old.com\n")
    recs = _recs(30)  # 30 domains, then mixed.org's 2 URLs: sorted by action, then risk
    full, _ = old.merge(DisavowFile.from_recommendations(recs))
    bare, _ = old.merge(DisavowFile.from_recommendations(recs, reasons=False), reasons=False)
    assert _sizes(bare)[0] < _sizes(full)[0]

    merged, diff, overflow, notes = D.merge_within_limits(old, recs, max_lines=_sizes(bare)[0])
    assert merged == bare and overflow is None
    assert len(notes) == 1 and "reason comments were left out" in notes[0]

    merged, diff, overflow, notes = D.merge_within_limits(old, recs, max_lines=20)
    assert len(merged) <= 20 and merged.lines[:2] == old.lines  # nothing of the user's file dropped
    kept = [r.entry for r in diff.added]
    left = [ln for ln in overflow.lines if ln and not ln.startswith("#")]
    assert kept == [f"domain:spam{i}.com" for i in range(len(kept))]  # the riskiest sites first
    assert kept + left == list(recs[P.DISAVOW_ENTRIES].explode().dropna())  # every entry somewhere, once
    assert overflow.name == "disavow-overflow.txt"
    assert "disavow-overflow.txt" in notes[-1]


def test_an_existing_file_at_the_limit_stays_as_it_is_and_new_entries_overflow():
    old = DisavowFile.parse("\n".join(f"domain:old{i}.com" for i in range(10)) + "\n")
    recs = _recs(3)
    for limit in (10, 11):  # exactly at the limit, and one line under it
        merged, diff, overflow, notes = D.merge_within_limits(old, recs, max_lines=limit)
        assert merged.lines == old.lines and not diff.added
        wanted = [e for entries in recs[S.DISAVOW_ENTRIES] for e in entries]
        assert [ln for ln in overflow.lines if not ln.startswith("#") and ln] == wanted
        assert any("leaves no room" in n and "disavow-overflow.txt" in n for n in notes)


def test_a_disavow_file_with_lone_cr_line_ends_is_read_line_by_line(tmp_path):
    """Old Mac files end lines with a lone CR: read as one comment line, the entries were
    invisible and added again."""
    path = tmp_path / "mac.txt"
    path.write_bytes(b"# my file\rdomain:spam.com\rhttps://x.example.com/p\r")
    f = DisavowFile.read(path)
    assert f.lines == ("# my file", "domain:spam.com", "https://x.example.com/p")
    assert list(f.facts.kinds) == ["comment", "domain", "url"]
    f.write(tmp_path / "again.txt")
    assert (tmp_path / "again.txt").read_bytes() == path.read_bytes()  # written back as it came
