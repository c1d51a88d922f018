"""Role pages out of the database: the seed's structure, and a round trip through import."""
from pathlib import Path

import pytest

from pipeline.profiles import import_profiles
from pipeline.role_page_export import RolePageError, render_html, render_markdown, role_page
from pipeline.role_pages import parse_role_page

from conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
DEMO_PAGE = ROOT / "feeds" / "demo" / "product-manager.md"
SEED = SHARED / "seeds" / "000_e81e171a70aac021.txt"


def _fields(parsed):
    people = [{k: v for k, v in p.items()} for p in parsed["people"]]
    return parsed["role"], people


@pytest.mark.parametrize("page", [DEMO_PAGE, SEED], ids=["demo", "seed"])
def test_a_role_page_round_trips_through_import_and_export(db, tmp_path, page):
    if not page.exists():
        pytest.skip("the shared seed page is not here")
    import_profiles(db, page)
    markdown = render_markdown(role_page(db, "Product Manager"))
    again = tmp_path / "again.md"
    again.write_text(markdown)
    assert _fields(parse_role_page(markdown)) == _fields(parse_role_page(page.read_text()))
    # and importing the export changes nothing
    before = [dict(r) for r in db.query("select * from people")], db["items"].count
    import_profiles(db, again)
    assert ([dict(r) for r in db.query("select * from people")], db["items"].count) == before


def test_the_seed_sections(db):
    import_profiles(db, DEMO_PAGE)
    markdown = render_markdown(role_page(db, "product managers"))
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == ["# Product Manager", "## Product Manager in one sentence", "## Who do they work with?",
                        "## Responsibilities", "## Adjacent roles", "## Learn from the pros", "### Corie Miller",
                        "#### On the role", "#### Tips for would-be product managers"]
    assert "They work most closely" not in markdown
    assert "Product Managers work closely with Engineering, Marketing, and Sales." in markdown


def test_transcript_items_are_cited_and_only_approved_by_default(db):
    import_profiles(db, DEMO_PAGE)
    pid = db.execute("select id from people where name = 'Corie Miller'").fetchone()[0]
    feed = db["feeds"].insert({"url": "x", "title": "F"}).last_pk
    ep = db["episodes"].insert({"feed_id": feed, "guid": "g", "title": "Ep <1>", "published": "2024-05-01T00:00:00",
                                "link": "https://www.youtube.com/watch?v=abc"}).last_pk
    for n, (status, score) in enumerate([("approved", 0.5), ("pending", 0.9), ("approved", 0.8)]):
        db["items"].insert({"kind": "tip", "text": f"Tip {n} <b>", "person_id": pid, "episode_id": ep, "start": 75.0,
                            "status": status, "score": score, "source": "transcript", "dedup_key": f"k{n}"})
    page = role_page(db, "Product Manager")
    tips = page["people"][0]["tips"]
    assert [t["text"] for t in tips] == [tips[0]["text"], "Tip 2 <b>", "Tip 0 <b>"]  # the page's tip first
    assert tips[1]["citation"] == {"episode_title": "Ep <1>", "published": "2024-05-01", "timestamp": "01:15",
                                   "url": "https://www.youtube.com/watch?v=abc&t=75s"}
    markdown = render_markdown(page)
    assert "— *Ep \\<1\\>*, 2024-05-01, [\\[01:15\\]](<https://www.youtube.com/watch?v=abc&t=75s>)" in markdown
    # the citation lines do not come back as tips
    assert parse_role_page(markdown)["people"][0]["tips"] == [t["text"] for t in tips]
    html = render_html(page)
    assert "Tip 0 &lt;b&gt;" in html and "<b>" not in html.split("<body>")[1].replace("<blockquote>", "")
    assert len(role_page(db, "Product Manager", statuses=("approved", "pending"))["people"][0]["tips"]) == 4


def test_an_unknown_role_is_an_error(db):
    with pytest.raises(RolePageError, match="no role named 'Astronaut'"):
        role_page(db, "Astronaut")
