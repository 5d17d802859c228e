"""Fast paths of the output writers and of disavow file assembly give what the simple paths give."""

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toxlink import disavow as D
from toxlink.disavow import lines as DL
from toxlink import outputs as O
from toxlink.disavow import DisavowFile
from toxlink.policy import Whitelist


def _simple_csv(frame: pd.DataFrame, header: bool) -> bytes:
    """One call of Arrow's writer, default options: what write_csv_chunk wrote before."""
    buf = io.BytesIO()
    pacsv.write_csv(O.arrow_csv_table(frame), buf, write_options=pacsv.WriteOptions(include_header=header))
    return buf.getvalue()


def test_write_csv_chunk_matches_one_plain_arrow_write():
    n = O._CSV_WRITE_ROWS + 1234  # more than one in-memory slice
    rng = np.random.default_rng(0)
    days = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    frame = pd.DataFrame({
        "text": pd.array([f"=cmd{i}" if i % 97 == 0 else f"site{i}.com, \"x\"" for i in range(n)], dtype="string"),
        "empty_text": pd.array([None] * n, dtype="string"),
        "flag": pd.array(rng.integers(0, 2, n).astype(bool), dtype="boolean"),
        "no_flag": pd.array([None] * n, dtype="boolean"),
        "count": rng.integers(0, 1000, n).astype(float),
        "no_count": np.full(n, np.nan),
        "risk": rng.random(n),
        "seen": days.where(rng.random(n) > 0.1),
    })
    for header in (True, False):
        buf = io.BytesIO()
        O.write_csv_chunk(frame, buf, header)
        assert buf.getvalue() == _simple_csv(frame, header)
    empty = frame.iloc[:0]
    for header in (True, False):
        buf = io.BytesIO()
        O.write_csv_chunk(empty, buf, header)
        assert buf.getvalue() == _simple_csv(empty, header)


def test_date_text_by_day_table_matches_the_cast():
    for values in (["2024-02-29", None, "2023-12-31"], ["1970-01-01", "2030-06-01"], [None, None], ["2025-05-05"]):
        s = pd.Series(pd.to_datetime(values))
        direct = pa.array(s.to_numpy().astype("datetime64[D]"), type=pa.date32(), from_pandas=True).cast(pa.string())
        assert O._date_text(s).to_pylist() == direct.to_pylist()


_cells = st.lists(st.one_of(st.none(), st.text(alphabet="=+-@\t\rab ", max_size=3)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(_cells, st.integers(0, 3))
def test_risky_cells_match_a_plain_check(cells, cut):
    arr = pa.array(cells, type=pa.large_string()).slice(min(cut, len(cells)))
    want = [c is not None and c.startswith(O._FORMULA_START) for c in arr.to_pylist()]
    got = O._risky_cells(arr)
    assert (list(got) if got is not None else [False] * len(arr)) == want


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


def test_write_csv_in_slices_matches_pandas_even_when_a_later_slice_needs_it(tmp_path, monkeypatch):
    """write_csv formats a slice of rows at a time; the bytes are pandas' whatever the slicing,
    and a column whose later rows only pandas formats sends the whole file to pandas."""
    monkeypatch.setattr(O, "_CSV_ROWS", 3)
    plain = pd.DataFrame({
        "domain": pd.array(["a.com", "=b.com", None, "c,d", 'q"x', "e.com", "f.com"], dtype="string"),
        "n": np.arange(7),
        "share": [0.5, 1.0, np.nan, 1e-05, 2.25, 0.0, 1e16],
        "flag": [True, False, True, True, False, False, True],
        "entries": [["domain:a.com"], [], ["http://x/"], [], [], ["domain:e.com"], []],
    })
    mixed = plain.assign(domain=pd.Series(["a.com", "b.com", "c.com", "d.com", 5, None, "g.com"], dtype=object))
    for frame in (plain, mixed):
        got = O.write_csv(frame, tmp_path / "out.csv").read_bytes()
        frame.pipe(O.excel_safe).to_csv(tmp_path / "want.csv", index=False, date_format="%Y-%m-%d")
        assert got == (tmp_path / "want.csv").read_bytes()
        assert O._csv_columns(frame.iloc[:3]) is not None  # the first slice alone takes the Arrow path
    assert O._csv_columns(mixed.iloc[3:6]) is None  # ... and a later one of mixed needs pandas
    assert not list(tmp_path.glob(".out.csv.*"))  # the abandoned Arrow file left nothing behind
