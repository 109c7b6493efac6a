"""The dataset card: its YAML front matter, its sections, its rebuild command (run here), and
stored strings that try to break out of Markdown or YAML.

Markdown is rendered with markdown-it-py (CommonMark, raw HTML allowed, GFM tables), so a
stored ``<script>`` that escaped its code span would show up as a tag in the output.
"""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_fixtures import ALL, BACKTICKS, IMG, NEWLINES, SCRIPT

from fuzzjax.cli.main import main
from fuzzjax.corpus.build import build_corpus
from fuzzjax.corpus.card import code_block, md_code
from fuzzjax.corpus.columns import COLUMNS, FIELDS, features, type_text
from fuzzjax.corpus.export import SPLITS, export_corpus
from fuzzjax.corpus.store import Corpus
from fuzzjax.program import GenOptions

yaml = pytest.importorskip("yaml")
markdown_it = pytest.importorskip("markdown_it")
#: Tags a card may render to (no raw HTML of its own).
ALLOWED_TAGS = {"h1", "h2", "p", "code", "pre", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_TAGS |= {"ul", "li", "strong", "em"}


class Rendered(HTMLParser):
    def __init__(self, markdown: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        md = markdown_it.MarkdownIt("commonmark").enable("table")
        self.feed(md.render(markdown))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def split_card(card: str) -> tuple[dict[str, Any], str]:
    assert card.startswith("---\n")
    front, body = card[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("card") / "corpus.sqlite"
    build_corpus(path, count=12, options=GenOptions(max_depth=2), workers=0)
    return path


@pytest.mark.parametrize("fractions", [None, (0.5, 0.25, 0.25)])
def test_front_matter_points_at_the_shards_and_types_every_column(
    db: Path, tmp_path: Path, fractions: Any
) -> None:
    with Corpus(db, create=False) as corpus:
        summary = export_corpus(corpus, tmp_path, fmt="jsonl", fractions=fractions)
    front, _ = split_card((tmp_path / "README.md").read_text())
    assert set(front) == {"license", "pretty_name", "tags", "configs", "dataset_info"}
    splits = ["train"] if fractions is None else list(SPLITS)
    (config,) = front["configs"]
    assert config["data_files"] == [{"split": s, "path": f"data/{s}-*"} for s in splits]
    columns = [*COLUMNS, *(["split"] if fractions else [])]
    assert front["dataset_info"]["features"] == features(columns, jsonl=True)
    assert front["dataset_info"]["splits"] == [
        {"name": s, "num_examples": summary.rows[s]} for s in splits
    ]
    for split in splits:  # every pattern matches its shards, and only them
        matched = sorted(p.name for p in (tmp_path / "data").glob(f"{split}-*"))
        assert matched == [p.name for p in summary.files[split]]


def test_card_sections(db: Path, tmp_path: Path) -> None:
    with Corpus(db, create=False) as corpus:
        export_corpus(corpus, tmp_path, fmt="parquet", fractions=(0.8, 0.1, 0.1))
    _, body = split_card((tmp_path / "README.md").read_text())
    for heading in ("Load", "Files", "Example row", "Schema", "Profile", "Generation options"):
        assert f"\n## {heading}\n" in body
    assert 'load_dataset("path/to/this/folder")' in body and "pd.read_parquet" in body
    for column in [*COLUMNS, "split"]:
        assert f"| `{column}` | `{type_text(FIELDS[column][0])}` |" in body
    example = re.search(r"## Example row\n\n```json\n(.*?)\n```\n", body, re.S)
    assert example is not None
    row = json.loads(example.group(1))
    assert list(row) == [*COLUMNS, "split"] and isinstance(row["options"], dict)
    assert "| `float32` |" in body or "| `bool` |" in body  # the dtype profile


def test_the_rebuild_command_rebuilds_the_corpus(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Corpus(db, create=False) as corpus:
        export_corpus(corpus, tmp_path / "ds", fmt="jsonl", db_label="CORPUS.sqlite")
    _, body = split_card((tmp_path / "ds" / "README.md").read_text())
    block = re.search(r"```sh\n(.*?)\n```", body, re.S)
    assert block is not None
    build, export = block.group(1).splitlines()
    argv = shlex.split(build)
    assert argv[:3] == ["python", "-m", "fuzzjax"] and argv[-2:] == ["--db", "CORPUS.sqlite"]
    rebuilt = tmp_path / "rebuilt.sqlite"
    assert main([*argv[3:-1], str(rebuilt), "--workers", "0", "--quiet"]) == 0
    capsys.readouterr()
    query = "SELECT seed, ir_hash FROM pairs ORDER BY seed"
    for path in (db, rebuilt):
        con = sqlite3.connect(path)
        rows = con.execute(query).fetchall()
        con.close()
        if path == db:
            original = rows
    assert rows == original
    assert shlex.split(export)[:4] == ["python", "-m", "fuzzjax", "export"]


def _hostile_corpus(db: Path, folder: Path) -> Path:
    path = folder / "hostile.sqlite"
    path.write_bytes(db.read_bytes())
    con = sqlite3.connect(path)
    info = json.dumps([{"name": "x0", "shape": [2], "dtype": f"float32{SCRIPT}"}])
    con.execute(
        "UPDATE pairs SET jax_version = ?, category = ?, operation = ?, source = ?, "
        "input_info = ? WHERE id = 1",
        (f"0.10.2 {ALL}", f"math|{IMG}", NEWLINES, f"def f(x0):\n    return x0  # {ALL}\n", info),
    )
    con.execute("INSERT OR REPLACE INTO meta VALUES ('command', ?)", (f"fuzzjax {ALL}",))
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_hostile_stored_strings_stay_inside_their_code(fmt: str, db: Path, tmp_path: Path) -> None:
    hostile = _hostile_corpus(db, tmp_path)
    with Corpus(hostile, create=False) as corpus:
        export_corpus(corpus, tmp_path / "ds", fmt=fmt)
    card = (tmp_path / "ds" / "README.md").read_text()
    front, body = split_card(card)
    assert set(front) == {"license", "pretty_name", "tags", "configs", "dataset_info"}
    assert "<" not in card.split("\n---\n", 1)[0]  # nothing stored reaches the YAML
    rendered = Rendered(body)
    assert set(rendered.tags) <= ALLOWED_TAGS, set(rendered.tags) - ALLOWED_TAGS
    text = "".join(rendered.text)
    assert SCRIPT in text and IMG in text and BACKTICKS in text  # shown literally
    assert body.count("\n## ") == card.count("\n## ")  # no heading came from a value
    headings = re.findall(r"^## (.+)$", body, re.M)
    assert "fake: yaml" not in headings and len(headings) == len(set(headings))


def _code_contents(markdown: str) -> list[str]:
    html_text = markdown_it.MarkdownIt("commonmark").enable("table").render(markdown)
    return [unescape(m) for m in re.findall(r"<code>(.*?)</code>", html_text, re.S)]


@given(st.text(alphabet=st.sampled_from("`|<>\n\r a*_\\#-&;")))
def test_code_spans_and_blocks_show_any_text(text: str) -> None:
    block = Rendered(code_block(text))
    assert block.tags == ["pre", "code"]
    lines = text.replace("\r\n", "\n").replace("\r", "\n")  # Markdown's line endings
    assert _code_contents(code_block(text)) == [lines.rstrip() + "\n"]
    table = f"| a |\n|---|\n| {md_code(text)} |\n"
    span = Rendered(table)
    assert span.tags == ["table", "thead", "tr", "th", "tbody", "tr", "td", "code"]
    one_line = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", text)
    (shown,) = _code_contents(table)
    assert shown == one_line or shown.strip() == one_line.strip() == ""
