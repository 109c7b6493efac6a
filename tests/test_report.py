"""fuzzjax report: values spelled out, hostile stored strings escaped, the CLI's three modes.

The page is checked with Python's own HTML parser here; tests/test_report_browser.py loads it
in a real (headless) Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from report_fixtures import (
    HOSTILE_KEY,
    JS_URL,
    RAW_HTML,
    SCRIPT,
    hostile_meta,
    special_floats,
    write_hostile_bucket,
)

from fuzzjax.cli.main import main
from fuzzjax.corpus.build import build_corpus
from fuzzjax.errors import MissingDependency
from fuzzjax.fuzzing.case import Case, Signature, Stage, Symptom
from fuzzjax.fuzzing.folders import BucketStore, read_meta
from fuzzjax.program import ArgSpec, GenOptions
from fuzzjax.report.fromfailures import gather_failures, http_url
from fuzzjax.report.summary import plain_summary
from fuzzjax.report.values import describe_array, describe_input, got_and_want, spell

pytest.importorskip("jinja2")
pytest.importorskip("pygments")

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class Page(HTMLParser):
    """Tags, attributes and text of a page, as a browser's tokenizer sees them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "corpus.sqlite"
    build_corpus(path, count=25, options=GenOptions(max_depth=3), workers=0)
    return path


def _case(source: str) -> Case:
    arg = ArgSpec("x0", (2,), "float32")
    return Case(source, (arg,), [np.array([np.nan, -0.0], np.float32)], "float32", (2,))


@pytest.fixture()
def failures(tmp_path: Path) -> Path:
    """A failures folder: one bucket written by BucketStore, a hostile one and a broken one."""
    root = tmp_path / "failures"
    store = BucketStore(root)
    sig = Signature(Stage.VS_NUMPY, Symptom.WRONG_NAN, ("sin",), "float32")
    case = _case("def f(x0):\n    return jnp.sin(x0)\n")
    meta = {"seed": 4, "detail": "1/2 elements differ; at [0]: got np.float32(0.0), want nan"}
    store.add(sig, meta, original=case, shrunk=case, command="python -m fuzzjax fuzz", timeout=5)
    store.hit(sig.key(), 4)
    write_hostile_bucket(root)
    (root / "summary.json").write_text(json.dumps({"programs": 9, "command": SCRIPT}))
    benign = {"ftz": {"count": 3, "reason": SCRIPT, "link": JS_URL, "example_seeds": [1]}}
    (root / "benign.json").write_text(json.dumps(benign))
    return root


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ---- values ----


def test_special_values_are_spelled_out() -> None:
    f32 = np.dtype(np.float32)
    assert [spell(v, f32) for v in special_floats()] == [
        "nan",
        "-0.0",
        "1e-45 (subnormal)",
        "inf",
        "-inf",
        "3.4028235e+38 (max)",
        "1.5",
    ]
    int32, uint8 = np.dtype(np.int32), np.dtype(np.uint8)
    assert spell(np.int32(-(2**31)), int32) == "-2147483648 (INT32_MIN)"
    assert spell(np.int32(2**31 - 1), int32) == "2147483647 (INT32_MAX)"
    assert spell(np.uint8(255), uint8) == "255 (UINT8_MAX)" and spell(np.uint8(0), uint8) == "0"
    bf16 = np.dtype(ml_dtypes.bfloat16)
    assert spell(ml_dtypes.finfo(bf16).smallest_subnormal, bf16).endswith("(subnormal)")
    c64 = np.dtype(np.complex64)
    assert spell(np.complex64(complex(-0.0, np.inf)), c64) == "re=-0.0, im=inf"


def test_describe_array_counts_specials_with_positions() -> None:
    view = describe_array("x", special_floats().reshape(7, 1))
    assert view.elements[0] == "nan" and view.more == 0
    assert "1 nan at [0, 0]" in view.specials and "1 subnormal at [2, 0]" in view.specials
    big = np.zeros(100, np.int8)
    big[[10, 50, 60, 70]] = -128
    view = describe_array("y", big)
    assert len(view.elements) == 24 and view.more == 76
    assert view.specials == "4 INT8_MIN at [10], [50], [60], ..."


def test_undecodable_input_is_described_not_raised() -> None:
    view = describe_input("x", ["float32", [2], "zz"])
    assert view.error.startswith("ValueError") and view.elements == []
    assert describe_input("y", "not a list").error


def test_got_and_want_from_an_oracle_detail() -> None:
    detail = "3/8 elements differ; at [1, 2]: got np.float32(-0.0), want np.float32(inf)"
    assert got_and_want(detail, "float32") == ("[1, 2]", "-0.0", "inf")
    assert got_and_want("TypeError: boom", "float32") is None


def test_only_http_links_are_kept() -> None:
    assert http_url("https://github.com/jax-ml/jax/issues/1") is not None
    for bad in (JS_URL, "data:text/html,x", "//evil", "https://a b", "http://x\n", 3, None):
        assert http_url(bad) is None


# ---- failure folders ----


def test_bucket_store_records_first_and_last_seen(tmp_path: Path) -> None:
    store = BucketStore(tmp_path)
    sig = Signature(Stage.JIT, Symptom.HANG, ("gcd",), "int32")
    case = _case("def f(x0):\n    return x0\n")
    folder = store.add(sig, {}, original=case, shrunk=case, command="c", timeout=1)
    first = read_meta(folder)
    assert ISO_UTC.match(first["first_seen"]) and first["last_seen"] == first["first_seen"]
    meta = read_meta(folder)
    meta["first_seen"] = meta["last_seen"] = "2000-01-01T00:00:00Z"  # as if seen long ago
    (folder / "meta.json").write_text(json.dumps(meta))
    store.hit(sig.key(), 1)
    after_hit = read_meta(folder)
    assert after_hit["first_seen"] == "2000-01-01T00:00:00Z"
    assert ISO_UTC.match(after_hit["last_seen"]) and after_hit["last_seen"] > "2000"
    store.add(sig, {}, original=case, shrunk=case, command="c", timeout=1)  # a rewrite
    rewritten = read_meta(folder)
    assert rewritten["first_seen"] == "2000-01-01T00:00:00Z" and rewritten["hits"] == 1


def test_gather_failures_reads_what_it_can(failures: Path) -> None:
    part = gather_failures(failures)
    assert [b.key for b in part.buckets][0].startswith(HOSTILE_KEY)  # 7 hits: first
    assert len(part.buckets) == 2 and part.hits == 8
    assert [name for name, _ in part.unreadable] == ["broken-bucket"]
    hostile = part.buckets[0]
    assert hostile.upstream_url is None and hostile.seeds == [3, 5]
    # the stage is not a known one, so the columns are just "actual" and "expected"
    assert hostile.compared == ("[0]", "actual", "nan", "expected", "-0.0")
    assert hostile.inputs[2].error and hostile.inputs[1].specials.startswith("1 INT8_MIN")
    normal = part.buckets[1]
    assert normal.hits == 1 and ISO_UTC.match(normal.first_seen) and normal.verdict == ""
    assert part.benign[0].link is None and part.run["programs"] == "9"


def test_summary_keeps_stored_strings_on_their_line(failures: Path) -> None:
    text = plain_summary(None, gather_failures(failures), header="h")
    bucket_lines = [line for line in text.splitlines() if line.startswith("  - ")]
    assert len(bucket_lines) == 2
    assert not any(line.startswith(("- fake", "---", "fake")) for line in text.splitlines())


# ---- the page ----


def _render(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(["report", *argv], capsys)
    assert code == 0, err
    out_path = Path(argv[argv.index("--out") + 1])
    assert out.startswith(f"wrote {out_path}")
    return out_path.read_text(encoding="utf-8")


def test_hostile_strings_are_escaped(
    db: Path, failures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    page = _render(capsys, "--db", str(db), "--failures", str(failures), "--out", str(out))
    for fragment in RAW_HTML:
        assert fragment not in page
    parsed = Page(page)
    tags = [tag for tag, _ in parsed.tags]
    assert tags.count("script") == 1 and tags.count("style") == 1
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "img":
            assert str(attrs["src"]).startswith("data:image/png;base64,")
        if tag == "a":
            assert str(attrs["href"]).startswith(("#", "http://", "https://")), attrs
    text = "".join(parsed.text)
    assert SCRIPT in text  # shown literally: in the program, the key, the commands
    assert hostile_meta()["shrunk"]["source"].splitlines()[1].strip() in text
    assert "javascript:" not in page.replace(html.escape(JS_URL), "")
    rows = [a["data-key"] for t, a in parsed.tags if t == "tr" and "data-key" in a]
    assert sorted(rows) == sorted(b.key for b in gather_failures(failures).buckets)


def test_csp_names_the_inline_script_and_style(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = _render(capsys, "--db", str(db), "--out", str(tmp_path / "r.html"), "--no-charts")
    metas = [a for t, a in Page(page).tags if t == "meta" and "http-equiv" in a]
    csp = str(metas[0]["content"])
    assert metas[0]["http-equiv"] == "Content-Security-Policy" and "default-src 'none'" in csp
    for tag in ("script", "style"):
        body = re.search(f"<{tag}>(.*?)</{tag}>", page, re.S)
        assert body is not None
        digest = base64.b64encode(hashlib.sha256(body.group(1).encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "http://" not in re.sub(r'href="https?://[^"]*"', "", page.split("<body>")[0])


def test_report_modes_corpus_failures_and_both(
    db: Path, failures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    only_corpus = _render(capsys, "--db", str(db), "--out", str(tmp_path / "c.html"))
    assert 'id="corpus"' in only_corpus and 'id="campaign"' not in only_corpus
    assert only_corpus.count('<figure class="chart"') == 6
    only_failures = _render(capsys, "--failures", str(failures), "--out", str(tmp_path / "f.html"))
    assert 'id="campaign"' in only_failures and 'id="corpus"' not in only_failures
    both = _render(
        capsys,
        "--db",
        str(db),
        "--failures",
        str(failures),
        "--out",
        str(tmp_path / "b.html"),
        "--no-charts",
    )
    assert 'id="corpus"' in both and 'id="campaign"' in both
    again = _render(capsys, "--db", str(db), "--out", str(tmp_path / "b.html"), "--no-charts")
    assert 'id="campaign"' not in again
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_defaults_are_used_when_they_exist(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["report", "--out", "r.html"], capsys)
    assert code == 2 and "nothing to report" in err and len(err.splitlines()) == 1
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "fuzzjax.sqlite").write_bytes(db.read_bytes())
    page = _render(capsys, "--out", "r.html", "--no-charts")
    assert 'id="corpus"' in page and 'id="campaign"' not in page
    assert "<figure" not in page


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "case",
    [
        "out_is_other_file",
        "out_is_dir",
        "failures_missing",
        "failures_empty",
        "db_missing",
        "db_not_corpus",
    ],
)
def test_bad_input_exits_2_and_changes_nothing(
    case: str, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("my notes")
    not_corpus = tmp_path / "x.sqlite"
    not_corpus.write_bytes(b"not sqlite" * 50)
    (tmp_path / "empty").mkdir()
    out = str(tmp_path / "r.html")
    argv = {
        "out_is_other_file": ["--db", str(db), "--out", str(other)],
        "out_is_dir": ["--db", str(db), "--out", str(tmp_path / "empty")],
        "failures_missing": ["--failures", str(tmp_path / "nope"), "--out", out],
        "failures_empty": ["--failures", str(tmp_path / "empty"), "--out", out],
        "db_missing": ["--db", str(tmp_path / "nope.sqlite"), "--out", out],
        "db_not_corpus": ["--db", str(not_corpus), "--out", out],
    }[case]
    before = {p: _digest(p) for p in (other, not_corpus, db)}
    code, stdout, err = run(["report", *argv], capsys)
    assert code == 2 and stdout == "" and len(err.splitlines()) == 1, err
    assert "Traceback" not in err and err.startswith("fuzzjax: error: ")
    assert {p: _digest(p) for p in before} == before
    assert not (tmp_path / "r.html").exists()


def test_missing_jinja2_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from fuzzjax.report.render import require_report_dependencies

    monkeypatch.setitem(sys.modules, "jinja2", None)
    with pytest.raises(MissingDependency, match=r"jinja2: pip install 'fuzzjax\[report\]'"):
        require_report_dependencies(charts=False)


def test_failures_only_report_needs_no_matplotlib(
    failures: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    page = _render(capsys, "--failures", str(failures), "--out", str(tmp_path / "f.html"))
    assert "<figure" not in page


def test_optional_columns_appear_when_a_bucket_has_them(
    failures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = failures / HOSTILE_KEY / "meta.json"
    meta = json.loads(hostile.read_text())
    meta["upstream"] = {"url": "https://github.com/jax-ml/jax/issues/1", "title": "jax#1"}
    hostile.write_text(json.dumps(meta))
    page = _render(capsys, "--failures", str(failures), "--out", str(tmp_path / "r.html"))
    head = page[page.index('id="bucket-table"') :].split("</thead>")[0]
    assert all(f"<th>{c}</th>" in head for c in ("first seen", "verdict", "upstream"))
    assert (
        '<a href="https://github.com/jax-ml/jax/issues/1" rel="noreferrer noopener">jax#1</a>'
        in page
    )
    for name in (HOSTILE_KEY, "broken-bucket"):
        (failures / name / "meta.json").unlink()
    page = _render(capsys, "--failures", str(failures), "--out", str(tmp_path / "r.html"))
    head = page[page.index('id="bucket-table"') :].split("</thead>")[0]
    assert "<th>first seen</th>" in head  # BucketStore records it
    assert "<th>verdict</th>" not in head and "<th>upstream</th>" not in head
