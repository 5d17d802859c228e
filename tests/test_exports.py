"""Tests for toxlink.exports: detection, normalisation, merging, streaming and bad input.

Fixtures in tests/fixtures/exports/ are hand-made; their header lines are the real ones
listed in ../shared/fixtures/EXPORT_HEADERS.md, and for the vendors marked "to confirm"
there, the header source is recorded in a comment on the test that uses the fixture.
Values in every fixture are made up.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toxlink import exports as E
from toxlink import schema as S
from toxlink.exports import records as R
from toxlink.exports import vendors as V
from toxlink.exports.duplicates import FirstSeen

FIX = Path(__file__).parent / "fixtures" / "exports"


def read(name, **kw):
    return E.read_export(FIX / name, **kw)


def check_canonical(df):
    assert list(df.columns) == list(S.COLUMNS)
    for c in S.COLUMNS:
        assert str(df[c].dtype) == S.DTYPES[c], c


# --- vendors --------------------------------------------------------------------------


def test_ahrefs_utf8_csv_export():
    # Header: Ahrefs Site Explorer > Backlinks > Export, EXPORT_HEADERS.md ("Seen columns").
    df = read("ahrefs_backlinks.csv")
    check_canonical(df)
    info = E.detect(FIX / "ahrefs_backlinks.csv")
    assert (info.vendor, info.encoding, info.delimiter, info.header_line) == ("ahrefs", "utf-8", ",", 1)
    assert info.mapping[S.SOURCE_URL] == "Referring page URL"
    assert info.mapping[S.PAGE_RATING] == "URL rating"
    assert info.unmapped == ["Page category"]
    assert df[S.SOURCE_ROW].tolist() == [2, 3, 4]
    assert df[S.SOURCE_URL].tolist()[1] == "https://casino-bonus.xyz/all/13.html"
    assert df[S.DOMAIN_TRAFFIC].tolist() == [12500.0, 0.0, 1234567.0]  # thousands separators
    assert df[S.FIRST_SEEN].tolist()[0] == pd.Timestamp("2024-01-31 12:00:00")
    assert df[S.LOST].tolist() == [False, True, False]  # "lost" / ""
    assert df[S.VENDOR_SPAM].tolist() == [False, True, False]
    assert df[S.PAGE_TITLE].tolist()[2] == "Tools review, 2024"
    # Attributes Ahrefs' export lacks stay missing, never invented.
    assert df[S.NOFOLLOW].isna().all() and df[S.TRUST_FLOW].isna().all() and df[S.LAST_SEEN].isna().all()
    assert (df[S.VENDOR] == "ahrefs").all() and df[S.ROW_ISSUE].isna().all()


def test_ahrefs_utf16_tab_separated_matches_utf8(tmp_path):
    # Ahrefs' default export: UTF-16 LE with BOM, tab-separated (EXPORT_HEADERS.md).
    src = pd.read_csv(FIX / "ahrefs_backlinks.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "ahrefs.csv"
    text = src.to_csv(sep="\t", index=False, lineterminator="\r\n")
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    info = E.detect(path)
    assert (info.vendor, info.encoding, info.delimiter) == ("ahrefs", "utf-16-le", "\t")
    got = E.read_export(path).drop(columns=[S.SOURCE_FILE])
    want = read("ahrefs_backlinks.csv").drop(columns=[S.SOURCE_FILE])
    pd.testing.assert_frame_equal(got, want)


def test_ahrefs_api_v3_field_names():
    # Field names: Ahrefs API v3 select list, EXPORT_HEADERS.md (github.com/allcookiesaccept/Ahrefs).
    df = read("ahrefs_api.csv")
    assert E.detect(FIX / "ahrefs_api.csv").vendor == "ahrefs"
    assert df[S.SURROUNDING_TEXT].tolist()[0] == "I bought mine at and it works"  # snippet_left + right
    assert pd.isna(df[S.SURROUNDING_TEXT].iloc[1])
    assert df[S.NOFOLLOW].tolist() == [True, False]
    assert df[S.UGC].tolist() == [True, False]
    assert df[S.CONTENT_LINK].tolist() == [False, True]
    assert df[S.REDIRECT].tolist() == [False, True]  # redirect_code "" / 301
    assert df[S.LOST].tolist() == [False, True]
    assert df[S.FIRST_SEEN].iloc[0] == pd.Timestamp("2024-02-01 10:00:00")  # "Z" -> naive UTC
    assert df[S.DOMAIN_RATING].tolist() == [38.0, 5.0] and df[S.PAGE_TRAFFIC].tolist() == [120.0, 0.0]
    assert df[S.LINK_TYPE].iloc[0] == "forum"


def test_semrush_backlinks():
    # Header: Semrush Backlink Analytics export, EXPORT_HEADERS.md
    # (github.com/scottwb333/disavow-tool docs/ARCHITECTURE.md). File written with CRLF.
    df = read("semrush_backlinks.csv")
    check_canonical(df)
    assert E.detect(FIX / "semrush_backlinks.csv").vendor == "semrush"
    assert df[S.SOURCE_URL].iloc[0] == "https://www.gardenblog.com/tips/soil"  # trailing space trimmed
    assert df[S.PAGE_RATING].tolist() == [23.0, 4.0, 12.0]
    assert df[S.EXTERNAL_LINKS].tolist() == [18.0, 1203.0, 3.0]
    assert df[S.INTERNAL_LINKS].tolist() == [40.0, 2.0, 12.0]
    assert df[S.NOFOLLOW].tolist() == [False, True, False]
    assert df[S.SITEWIDE].tolist() == [False, True, False]
    assert df[S.IMAGE].tolist() == [False, False, True]
    assert df[S.TEXT_LINK].tolist() == [True, True, False]
    assert df[S.NEW_LINK].tolist() == [False, True, False]
    assert df[S.LOST].tolist() == [False, False, True]
    assert df[S.ANCHOR].iloc[2] == ""  # an empty anchor is "", not missing
    assert df[S.LAST_SEEN].iloc[2] == pd.Timestamp("2024-01-15")


def test_semrush_backlink_audit():
    # Columns "Source title,Source url,Target url,Anchor,Toxicity Score,Toxic markers,First
    # seen,Last seen,Nofollow": seen in a public test of a Semrush Backlink Audit importer
    # (GitHub file found with find_string "Toxic markers", index id 70668105322). NOT
    # confirmed from Semrush's own documentation; the audit export may carry more columns.
    df = read("semrush_audit.csv")
    assert E.detect(FIX / "semrush_audit.csv").vendor == "semrush-audit"
    assert df[S.SPAM_SCORE].tolist() == [87.0, 0.0]  # Toxicity Score -> spam_score
    assert df[S.LINK_TYPE].iloc[0] == "Link Network, Spam in title"  # toxic markers kept raw
    assert df[S.ANCHOR].iloc[0] == "casino, bonus"
    assert df[S.NOFOLLOW].tolist() == [False, True]  # FALSE / TRUE


def test_moz_open_site_explorer_with_preamble():
    # Header "URL,Title,Anchor Text,Spam Score,Page Authority,Domain Authority,Number of
    # Domains Linking to this Page,Number of Domains Linking to Domain,Origin,Target URL,Link
    # Equity,No Link Equity,Only rel=nofollow,Only follow,301": a public PHP importer of Moz
    # CSVs (find_string "Anchor Text,Spam Score", index id 17570237609), which skips the first
    # lines of the file (a report preamble). The preamble text here is made up. This is the
    # Open Site Explorer layout; the current Link Explorer column names are NOT confirmed
    # (aliases such as "Domain Authority", "Page Authority", "Spam Score" cover likely ones).
    info = E.detect(FIX / "moz_ose.csv")
    assert (info.vendor, info.header_line) == ("moz", 6)
    df = read("moz_ose.csv")
    assert df[S.SOURCE_ROW].tolist() == [7, 8, 9]
    assert df[S.SPAM_SCORE].tolist() == [8.0, 1.0, 30.0]  # "30%" -> 30
    assert df[S.DOMAIN_RATING].tolist() == [17.0, 88.0, 12.0]
    assert df[S.PAGE_RATING].tolist() == [21.0, 55.0, 10.0]
    assert df[S.NOFOLLOW].tolist() == [False, True, False]  # Only rel=nofollow Yes/No
    assert df[S.REDIRECT].tolist() == [False, False, True]  # 301
    assert E.inspect(FIX / "moz_ose.csv")[0]["preamble_lines"] == 5


def test_majestic():
    # Header from the same public PHP importer (index id 17570237609), which cites
    # http://developer-support.majestic.com/api/commands/download-backlinks.shtml; the API
    # field names (SourceURL, AnchorText, SourceTrustFlow, FlagNoFollow, ...) appear in
    # several public Majestic clients (find_string "SourceTrustFlow"). Flag columns are
    # blank when off (the importer tests `== ''`); the "+" used for "on" is NOT confirmed.
    df = read("majestic.csv")
    assert E.detect(FIX / "majestic.csv").vendor == "majestic"
    assert df[S.TRUST_FLOW].tolist() == [18.0, 0.0, 3.0]
    assert df[S.CITATION_FLOW].tolist() == [25.0, 11.0, 5.0]
    assert df[S.NOFOLLOW].tolist() == [False, True, False]
    assert df[S.IMAGE].tolist() == [False, True, False]
    assert df[S.REDIRECT].tolist() == [False, False, True]
    assert df[S.FRAME].tolist() == [False, False, True]
    assert df[S.FIRST_SEEN].iloc[0] == pd.Timestamp("2023-01-15")
    assert df[S.LAST_SEEN].iloc[0] == pd.Timestamp("2024-04-02")
    assert df[S.ANCHOR].iloc[1] == ""


def test_gsc_latest_links():
    # "Latest links" = "Linking page,Last crawled", with dates like "Sep 15, 2026": seen in
    # several public importer tests (find_string "Linking page,Last crawled", e.g. index ids
    # 71214006284, 70925678671). Not confirmed from Google's documentation.
    df = read("gsc_latest_links.csv")
    assert E.detect(FIX / "gsc_latest_links.csv").vendor == "gsc"
    assert df[S.LAST_SEEN].tolist() == [pd.Timestamp("2026-08-01"), pd.Timestamp("2026-09-15")]
    assert df[S.TARGET_URL].isna().all() and df[S.ANCHOR].isna().all()  # GSC has neither


def test_gsc_more_sample_links_single_column(tmp_path):
    # "More sample links": a single "Linking page" column (same public test, id 71214006284).
    p = tmp_path / "sample.csv"
    p.write_text('Linking page\nhttps://a.example.com/x?a=1,2\n"https://b.example.org/2"\n')
    df = E.read_export(p)
    assert df[S.SOURCE_URL].tolist() == ["https://a.example.com/x?a=1,2", "https://b.example.org/2"]
    assert (df[S.VENDOR] == "gsc").all()


@pytest.mark.parametrize("header, sheet", [
    ("Site,Linking pages,Target pages", "Top linking sites"),
    ("Target page,Incoming links,Linking sites", "Top linked pages"),
])
def test_gsc_summary_sheets_are_refused_with_advice(tmp_path, header, sheet):
    # Headers of the Search Console summary sheets: public importer tests (find_string
    # "Linking pages,Target pages", index ids 71091790040, 71214006284).
    p = tmp_path / "gsc.csv"
    p.write_text(header + "\nexample.org,3,1\n")
    with pytest.raises(E.ExportError) as e:
        E.read_export(p)
    assert sheet in str(e.value) and "Latest links" in str(e.value)
    assert e.value.line == 1 and str(p) in str(e.value)
    with pytest.raises(E.ExportError, match="Top linking sites"):
        read("gsc_top_linking_sites.csv")


def test_generic_semicolon_csv_with_decimal_commas():
    df = read("generic_semicolon.csv")
    info = E.detect(FIX / "generic_semicolon.csv")
    assert (info.vendor, info.delimiter) == ("generic", ";")
    assert info.mapping == {S.SOURCE_URL: "Referring URL", S.TARGET_URL: "Target", S.ANCHOR: "Anchor text",
                            S.NOFOLLOW: "Nofollow", S.DOMAIN_RATING: "Domain authority"}
    assert df[S.DOMAIN_RATING].tolist() == [1234.5, 12.5]
    assert df[S.NOFOLLOW].tolist() == [False, True]  # "nein" / "yes"


@pytest.mark.parametrize("header", ["url,anchor text", "From,To,Anchor", "Source,Target,Anchor"])
def test_generic_recognises_url_columns(tmp_path, header):
    p = tmp_path / "g.csv"
    p.write_text(header + "\n" + ",".join(["https://x.example.com/", "https://acmetools.com/", "hi"][: header.count(",") + 1]) + "\n")
    df = E.read_export(p)
    assert df[S.SOURCE_URL].tolist() == ["https://x.example.com/"]
    assert (df[S.VENDOR] == "generic").all()


def test_url_list():
    df = read("urls.txt")
    assert E.detect(FIX / "urls.txt").vendor == "url-list"
    assert df[S.SOURCE_URL].tolist() == ["https://one.example.com/page", "http://two.example.org/a,b?x=1",
                                         "www.three.example.net/"]
    assert df[S.SOURCE_ROW].tolist() == [1, 2, 4]
    assert E.inspect(FIX / "urls.txt")[0]["skipped_blank"] == 1


def test_format_override(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("url,anchor text,spam score\nhttps://a.example.com/,hi,7\n")
    assert E.detect(p).vendor == "moz"
    # Forced to the generic reader, Moz' spam score is still read (generic knows the name)
    assert E.read_export(p, format="generic")[S.VENDOR].tolist() == ["generic"]
    # A URL list reads every line, the header too (flagged, not dropped).
    df = E.read_export(p, format="url-list")
    assert len(df) == 2 and df[S.ROW_ISSUE].iloc[0] == "invalid host"
    # The wrong vendor: its source URL column is absent.
    with pytest.raises(E.ExportError, match="missing required column") as e:
        E.read_export(p, format="ahrefs")
    assert e.value.line == 1
    with pytest.raises(E.ExportError, match="unknown format 'foo'"):
        E.read_export(p, format="foo")


def test_cp1252_fallback_is_reported(tmp_path):
    p = tmp_path / "w.csv"
    p.write_bytes("Source url,Target url,Anchor\nhttps://a.example.fr/,https://acmetools.com/,café crème\n".encode("cp1252"))
    info = E.detect(p)
    assert info.encoding == "cp1252" and "not valid UTF-8" in info.notes[0]
    assert E.read_export(p)[S.ANCHOR].iloc[0] == "café crème"


@pytest.mark.parametrize("encoding, bom", [("utf-8", codecs.BOM_UTF8), ("utf-16-be", codecs.BOM_UTF16_BE)])
def test_other_encodings_with_bom(tmp_path, encoding, bom):
    p = tmp_path / "b.csv"
    p.write_bytes(bom + "Source url,Target url,Anchor\nhttps://ü.example.de/,https://acmetools.com/,über\n".encode(encoding))
    df = E.read_export(p)
    assert df[S.ANCHOR].iloc[0] == "über" and df[S.SOURCE_URL].iloc[0] == "https://ü.example.de/"


# --- messy input: rows in = rows out ---------------------------------------------------


def test_messy_file_keeps_every_row():
    # messy.csv (CRLF): header, 2 blank lines, 8 data records of which 2 span two physical
    # lines (a quoted anchor with a line break), a short row, unusable URLs, a duplicate,
    # no final newline. Blank lines are skipped and counted; every other record comes out.
    df = read("messy.csv")
    assert df[S.SOURCE_ROW].tolist() == [3, 5, 6, 8, 9, 10, 12, 13]
    assert df[S.ROW_ISSUE].tolist()[:5] == [pd.NA, "missing URL", "scheme javascript is not http(s)",
                                            "scheme mailto is not http(s)", "invalid host"]
    assert df[S.ROW_ISSUE].iloc[5:].isna().all()
    assert df[S.DUPLICATE_OF].iloc[5] == f"{FIX / 'messy.csv'}:3"
    assert df[S.DUPLICATE_OF].drop(index=5).isna().all()
    assert df[S.SOURCE_URL].iloc[6] == "https://quoted.example.com/?q=a,b"
    assert df[S.ANCHOR].iloc[6] == 'say "hi"'
    assert df[S.TARGET_URL].iloc[4] == "https://acmetools.com/" and pd.isna(df[S.NOFOLLOW].iloc[4])  # short row
    assert pd.isna(df[S.NOFOLLOW].iloc[2]) and pd.isna(df[S.FIRST_SEEN].iloc[2])  # "maybe", "not a date"
    assert df[S.FIRST_SEEN].iloc[3] == pd.Timestamp("2024-01-02")  # 01/02/2024, month first
    info = E.inspect(FIX / "messy.csv")[0]
    assert info["rows"] == 8 and info["skipped_blank"] == 2 and info["duplicates"] == 1
    assert info["flagged"] == {"missing URL": 1, "scheme javascript is not http(s)": 1,
                               "scheme mailto is not http(s)": 1, "invalid host": 1}
    # rows in = rows out: every non-blank record of the file, counted independently.
    import csv
    with open(FIX / "messy.csv", newline="", encoding="utf-8") as fh:
        records = [r for r in csv.reader(fh) if r]
    assert len(records) - 1 == len(df)


def test_irregular_rows_far_into_a_file_keep_their_lines(tmp_path, monkeypatch):
    # Regular rows, then a blank line, a short row, a row of delimiters and quoted line
    # breaks (CRLF and LF) far into the file: rows in = rows out, each on its own line.
    import csv
    rows = [f'https://h{i}.example.com/p,https://acmetools.com/,"a\r\nb {i}",x' for i in range(300)]
    rows[150:150] = ["", "https://short.example.com/", ",,,", 'https://lf.example.com/,,"one\ntwo",']
    path = tmp_path / "late.csv"
    path.write_bytes(("Source url,Target url,Anchor,Nofollow\r\n" + "\r\n".join(rows) + "\r\n").encode())
    with open(path, newline="", encoding="utf-8") as fh:
        reader, want = csv.reader(fh), []
        next(reader)
        line = 2
        for record in reader:
            if record:
                want.append((line, record[2] if len(record) > 2 else ""))  # a short row is padded
            line = reader.line_num + 1
    for block_bytes in (R.BLOCK_BYTES, 2000):  # irregular rows in the first block, or after a few
        monkeypatch.setattr(R, "BLOCK_BYTES", block_bytes)
        df = E.read_export(path)
        assert list(zip(df[S.SOURCE_ROW], df[S.ANCHOR].astype(object).where(df[S.ANCHOR].notna(), None))) == want
    assert E.inspect(path)[0]["skipped_blank"] == 1


def test_quoted_crlf_at_a_block_end_keeps_both_bytes(tmp_path, monkeypatch):
    # pyarrow drops the "\n" of a quoted "\r\n" that one of its blocks ends in the middle
    # of (apache/arrow#51368): such a file is read by the csv module instead.
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"Source url,Target url,Anchor\r\n" + b'https://a.example.com/,https://t.com/,"x\r\ny"\r\n' * 40)
    for block_bytes in range(60, 80):
        monkeypatch.setattr(R, "BLOCK_BYTES", block_bytes)
        df = E.read_export(path)
        assert df[S.ANCHOR].eq("x\r\ny").all() and df[S.SOURCE_ROW].tolist() == list(range(2, 82, 2))


@pytest.mark.parametrize("text", ["plain ascii\tline\n" * 3, "ünïcødé\t€\n", "emoji 😀\tx\n", "a\tb\r\nc\td\r\n"])
def test_utf16_read_in_pieces_that_cut_characters(tmp_path, monkeypatch, text):
    path = tmp_path / "u.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + ("Referring page URL\tAnchor\n" + text * 5).encode("utf-16-le"))
    whole = E.read_export(path)
    monkeypatch.setattr(R, "READ_BYTES", 5)  # odd cuts: inside a character and a surrogate pair
    pd.testing.assert_frame_equal(E.read_export(path), whole)
    assert whole[S.ANCHOR].iloc[0] == text.split("\t")[1].split("\n")[0].rstrip("\r")


# --- several files, duplicates, streaming --------------------------------------------


def test_merge_marks_duplicates_across_files():
    a, s = FIX / "ahrefs_backlinks.csv", FIX / "semrush_backlinks.csv"
    df = E.read_export([a, s])
    assert len(df) == 6  # 3 + 3: nothing dropped
    assert df[S.SOURCE_FILE].tolist() == [str(a)] * 3 + [str(s)] * 3
    # Semrush row 2 is Ahrefs row 2: same URLs after trimming, anchor "Acme  Tools" vs "Acme Tools".
    assert df[S.DUPLICATE_OF].tolist()[3] == f"{a}:2"
    assert df[S.DUPLICATE_OF].drop(index=3).isna().all()
    stats = E.inspect([a, s])
    assert [x["duplicates"] for x in stats] == [0, 1]
    assert [x["vendor"] for x in stats] == ["ahrefs", "semrush"]
    # collapsed: one row per distinct link, remembering every file and line it came from
    one = E.collapse_duplicates(df)
    assert len(one) == 5
    assert one[E.SEEN_IN].tolist()[0] == f"{a}:2; {s}:2"
    assert one[E.SEEN_IN].drop(index=0).str.count(";").eq(0).all()


def test_chunked_equals_whole_and_blocks_are_seamless(tmp_path, monkeypatch):
    import sys
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from synth import synth_links, write_ahrefs_export

    path = write_ahrefs_export(synth_links(3000, seed=3), tmp_path / "big.csv")
    whole = E.read_export(path)
    assert len(whole) == 3000 and whole[S.SOURCE_ROW].tolist() == list(range(2, 3002))
    chunks = list(E.iter_export(path, chunksize=701))
    assert max(len(c) for c in chunks) == 701
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    # Tiny decode and parse blocks: records, UTF-16 code units and quoted line breaks
    # cross block boundaries.
    small = write_ahrefs_export(synth_links(300, seed=4), tmp_path / "small.csv")
    small_whole = E.read_export(small)
    monkeypatch.setattr(R, "READ_BYTES", 1001)
    monkeypatch.setattr(R, "BLOCK_BYTES", 6000)
    pd.testing.assert_frame_equal(pd.concat(E.iter_export(small, chunksize=50), ignore_index=True), small_whole)
    # Blocks smaller than a record: the csv module reads the rest of the file, the same way.
    monkeypatch.setattr(R, "BLOCK_BYTES", 150)
    monkeypatch.setattr(R, "CAREFUL_ROWS", 7)
    pd.testing.assert_frame_equal(pd.concat(E.iter_export(small, chunksize=50), ignore_index=True), small_whole)
    messy = E.read_export(FIX / "messy.csv")
    monkeypatch.setattr(R, "READ_BYTES", 7)
    monkeypatch.setattr(R, "BLOCK_BYTES", 7)
    pd.testing.assert_frame_equal(E.read_export(FIX / "messy.csv"), messy)
    monkeypatch.undo()
    # Duplicates are found across chunks too.
    both = pd.concat(E.iter_export([path, path], chunksize=999), ignore_index=True)
    assert both[S.DUPLICATE_OF].iloc[3000:].notna().all()


def test_first_seen_across_blocks():
    seen = FirstSeen()
    h1 = np.array([5, 7, 5, 9], dtype=np.uint64)
    assert seen.first_of(h1, np.array([10, 11, 12, 13])).tolist() == [-1, -1, 10, -1]
    h2 = np.array([9, 1, 1, 7], dtype=np.uint64)
    assert seen.first_of(h2, np.array([20, 21, 22, 23])).tolist() == [13, -1, 21, 11]


# --- bad input: one clear ExportError naming file and line ------------------------------


def _bad(tmp_path, content: bytes, name="backlinks.csv"):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(E.ExportError) as e:
        E.read_export(p)
    assert str(p) in str(e.value)
    return e.value


HEAD = b"Source url,Target url,Anchor\n"
ROW = b"https://a.example.com/,https://acmetools.com/,x\n"


def test_unreadable_file(tmp_path):
    err = _bad_path(tmp_path / "nope.csv")
    assert "cannot read the file" in err.reason
    assert "cannot read the file" in _bad_path(tmp_path).reason  # a directory


def _bad_path(p):
    with pytest.raises(E.ExportError) as e:
        E.read_export(p)
    assert str(p) in str(e.value)
    return e.value


def test_empty_and_unknown_and_missing_column(tmp_path):
    assert "empty" in _bad(tmp_path, b"").reason
    err = _bad(tmp_path, b"name,count\nfoo,1\n")
    assert "unknown format" in err.reason and err.line == 1
    err = _bad(tmp_path, b"Anchor,Target URL\nhi,https://acmetools.com/\n")
    assert "missing required column" in err.reason and "source URL" in err.reason


def test_unterminated_quote(tmp_path):
    err = _bad(tmp_path, HEAD + ROW * 12 + b'https://b.example.com/,https://acmetools.com/,"never closed\n' + ROW)
    assert (err.line, err.column) == (14, 3)
    assert str(err) == f"{tmp_path / 'backlinks.csv'}, line 14, column 3: {err.reason}"
    assert "unterminated quoted field" in err.reason


def test_too_many_fields(tmp_path):
    err = _bad(tmp_path, HEAD + ROW + b"https://b.example.com/,https://acmetools.com/,x,extra\n")
    assert (err.line, err.column) == (3, 4) and "4 fields" in err.reason


def test_nul_bytes(tmp_path):
    err = _bad(tmp_path, HEAD + ROW + b"https://b.example.com/,https://acme\x00tools.com/,x\n")
    assert err.line == 3 and err.column == 2 and "NUL" in err.reason


def _read_with_notes(path):
    notes = []
    frame = pd.concat(list(E.iter_export(path, notes=notes)), ignore_index=True)
    return frame, notes


def test_undecodable_bytes_are_replaced_and_their_rows_flagged(tmp_path):
    # UTF-16 LE with BOM, and a lone surrogate on line 3: the row stays, with U+FFFD.
    text = HEAD.decode() + ROW.decode()
    path = tmp_path / "u16.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le") + b"h\x00\x00\xdc"
                     + "ttp://x/,https://acmetools.com/,y\n".encode("utf-16-le"))
    frame, notes = _read_with_notes(path)
    assert frame[S.SOURCE_ROW].tolist() == [2, 3] and "\ufffd" in frame[S.SOURCE_URL].iloc[1]
    assert frame[S.ROW_ISSUE].tolist()[1] == "source URL has bytes that are not in the file's encoding"
    assert notes == [f"{path}: 1 row(s) had bytes that are not valid utf-16-le, read as U+FFFD (first on line 3); "
                     "those whose source URL has one are rejected"]


@pytest.mark.parametrize("read_bytes", [5, 7, 1 << 20])
def test_utf8_with_a_stray_byte_stays_utf8(tmp_path, monkeypatch, read_bytes):
    # One stray \xff near the top must not turn the whole file into cp1252 ("café" -> "cafÃ©");
    # small reads end inside "é" and "€" (2 and 3 bytes) on the way.
    monkeypatch.setattr(R, "READ_BYTES", read_bytes)
    path = tmp_path / "stray.csv"
    path.write_bytes(HEAD + b"https://a.example.com/,https://acmetools.com/,x\xffy\n"
                     + "https://b.example.com/,https://acmetools.com/,café 5€\n".encode()
                     + b'https://c.example.com/,https://acmetools.com/,"two\nlines \xe2\x82"\n')
    frame, notes = _read_with_notes(path)
    assert E.detect(path).encoding == "utf-8"
    assert frame[S.ANCHOR].tolist() == ["x\ufffdy", "café 5€", "two\nlines \ufffd"]
    assert frame[S.SOURCE_ROW].tolist() == [2, 3, 4] and frame[S.ROW_ISSUE].isna().all()
    assert len(notes) == 1 and "2 row(s)" in notes[0] and "(first on line 2)" in notes[0]


def test_cp1252_accent_beyond_the_sample_is_read_as_cp1252(tmp_path):
    # ASCII for the whole detection sample, then cp1252: read, not rejected, and said so.
    big = HEAD + ROW * (V.SAMPLE_BYTES // len(ROW) + 10)
    path = tmp_path / "late.csv"
    path.write_bytes(big + "https://c.example.com/,https://acmetools.com/,café\n".encode("cp1252"))
    frame, notes = _read_with_notes(path)
    last = big.count(b"\n") + 1
    assert frame[S.ANCHOR].iloc[-1] == "café" and frame[S.SOURCE_ROW].iloc[-1] == last
    assert frame[S.ROW_ISSUE].isna().all()
    assert notes == [f"{path}: read as cp1252 from line {last} on: the lines above are ASCII and "
                     "what follows is not UTF-8"]


@pytest.mark.parametrize("read_bytes", [64, 66, 1 << 20])
def test_utf16_damage_after_many_reads_names_the_line(tmp_path, monkeypatch, read_bytes):
    monkeypatch.setattr(R, "READ_BYTES", read_bytes)
    rows = "".join(f"http://a{i}.com/\tx\n" for i in range(30))
    body = (("Referring page URL\tAnchor\n" + rows).encode("utf-16-le") + "http://b.com/".encode("utf-16-le")
            + b"\x00\xdc" + "\tx\n".encode("utf-16-le") + rows.encode("utf-16-le"))
    path = tmp_path / "bad.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + body)
    frame, notes = _read_with_notes(path)
    assert len(frame) == 61 and frame[S.SOURCE_ROW].tolist() == list(range(2, 63))
    assert frame[S.SOURCE_URL].iloc[30] == "http://b.com/\ufffd" and frame[S.ROW_ISSUE].notna().sum() == 1
    assert "(first on line 32)" in notes[0]


def test_stray_quote_is_named(tmp_path):
    err = _bad(tmp_path, HEAD + b'https://a.example.com/,https://acmetools.com/,5" screen\n' + ROW)
    assert (err.line, err.column) == (2, 3) and "stray quote" in err.reason


def test_header_only_bom_less_utf16_and_odd_dates(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("Source url,Target url,Anchor\n")
    empty = E.read_export(p)
    assert len(empty) == 0 and list(empty.columns) == list(S.COLUMNS)
    q = tmp_path / "nobom.csv"
    q.write_bytes("Source url\tFirst seen\nhttps://a.example.com/\t9999-12-31\nhttps://b.example.com/\t15.09.2024\n"
                  .encode("utf-16-le"))
    info = E.detect(q)
    assert info.encoding == "utf-16-le" and "without BOM" in info.notes[0]
    df = E.read_export(q)
    assert pd.isna(df[S.FIRST_SEEN].iloc[0])  # out of datetime64[ns] range: missing, not an error
    assert df[S.FIRST_SEEN].iloc[1] == pd.Timestamp("2024-09-15")


def test_inspect_reports_what_the_cli_prints(tmp_path):
    src = pd.read_csv(FIX / "ahrefs_backlinks.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "ahrefs.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + src.to_csv(sep="\t", index=False).encode("utf-16-le"))
    (r,) = E.inspect([path])
    assert (r["vendor"], r["encoding"], r["delimiter"], r["rows"], r["duplicates"]) == (
        "ahrefs", "utf-16-le (BOM)", "tab", 3, 0)
    assert r["mapped"][S.SOURCE_URL] == "Referring page URL" and r["unmapped"] == ["Page category"]
    assert r["flagged"] == {} and r["skipped_blank"] == 0 and r["preamble_lines"] == 0


def test_canonical_table_round_trips_as_parquet_and_csv(tmp_path):
    # A canonical links table saved by a pipeline (e.g. the partitions of a split export for
    # the dask engine) reads back identically, from Parquet or from CSV with canonical names.
    src = tmp_path / "ahrefs.csv"
    src.write_text((FIX / "ahrefs_backlinks.csv").read_text(encoding="utf-8"), encoding="utf-8")
    links = E.read_export([src])
    body = links.drop(columns=[S.SOURCE_FILE, S.SOURCE_ROW, S.VENDOR, S.DUPLICATE_OF])
    body.to_parquet(tmp_path / "part.parquet")
    body.to_csv(tmp_path / "part.csv", index=False)
    for name in ("part.parquet", "part.csv"):
        back = E.read_export([tmp_path / name])
        assert back[S.VENDOR].eq("toxlink").all(), name
        for col in body.columns:
            pd.testing.assert_series_equal(back[col], links[col], check_names=False, obj=f"{name}:{col}")
    assert E.read_export([tmp_path / "part.parquet"])[S.SOURCE_ROW].tolist() == list(range(1, len(links) + 1))
    with pytest.raises(E.ExportError, match="Parquet"):
        pd.DataFrame({"anchor": ["x"]}).to_parquet(tmp_path / "bad.parquet")
        E.read_export([tmp_path / "bad.parquet"])


# --- CR-only line ends (old Mac) --------------------------------------------------------

_READABLE = sorted(p.name for p in FIX.iterdir() if p.name != "gsc_top_linking_sites.csv")


@pytest.mark.parametrize("name", _READABLE)
def test_cr_only_file_reads_like_its_lf_version(tmp_path, name):
    data = (FIX / name).read_bytes().replace(b"\r\n", b"\n")
    (tmp_path / "lf").mkdir()
    (tmp_path / "cr").mkdir()
    lf, cr = tmp_path / "lf" / name, tmp_path / "cr" / name
    lf.write_bytes(data)
    cr.write_bytes(data.replace(b"\n", b"\r"))
    assert b"\n" not in cr.read_bytes()
    want, got = E.read_export(lf), E.read_export(cr)
    for frame in (want, got):
        for column in (S.SOURCE_FILE, S.DUPLICATE_OF):
            frame[column] = frame[column].str.replace(str(tmp_path), "", regex=False).str.slice(3)
    pd.testing.assert_frame_equal(got, want)
    assert E.detect(cr).header_line == E.detect(lf).header_line


def test_cr_only_utf16_and_careful_path(tmp_path):
    # UTF-16 (decoded copy) and a short row (the csv module's path) with CR line ends.
    text = "Source url\tTarget url\tAnchor\rhttps://a.example.com/\thttps://acmetools.com/\tx\rhttps://b.example.com/\r"
    path = tmp_path / "mac16.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    frame = E.read_export(path)
    assert frame[S.SOURCE_URL].tolist() == ["https://a.example.com/", "https://b.example.com/"]
    assert frame[S.SOURCE_ROW].tolist() == [2, 3]


def test_moz_date_lost_and_rel_ugc_sponsored_columns(tmp_path):
    # "Date Lost" holds the day the link went, blank while live; "Only rel=ugc" and
    # "Only rel=sponsored" are Yes/No like "Only rel=nofollow" (EXPORT_HEADERS.md: Moz
    # column names not confirmed beyond the Open Site Explorer layout).
    from toxlink.engine import score_exports

    p = tmp_path / "moz.csv"
    p.write_text("URL,Title,Anchor Text,Spam Score,Page Authority,Domain Authority,Target URL,"
                 "Only rel=nofollow,Only rel=ugc,Only rel=sponsored,Date Lost\n"
                 "https://blog.mozsite.info/a,A,Acme,5,20,30,https://acme.com/,No,No,No,\n"
                 "https://blog.mozsite.info/b,B,Acme,5,20,30,https://acme.com/,No,Yes,No,\n"
                 "https://blog.mozsite.info/c,C,Acme,5,20,30,https://acme.com/,No,No,Yes,\n"
                 "https://blog.mozsite.info/d,D,Acme,5,20,30,https://acme.com/,No,No,No,2025-07-02\n",
                 encoding="utf-8")
    assert E.detect(p).vendor == "moz"
    df = E.read_export(p)
    assert df[S.LOST].tolist() == [False, False, False, True]
    assert df[S.UGC].tolist() == [False, True, False, False]
    assert df[S.SPONSORED].tolist() == [False, False, True, False]
    summary = score_exports([p], tmp_path / "out")
    domains = pd.read_csv(summary.files["domains.csv"])
    row = domains.loc[domains[S.N_LOST].notna()].iloc[0]
    assert (row[S.N_LOST], row[S.N_NOFOLLOW], row[S.N_DOFOLLOW]) == (1, 2, 2)
