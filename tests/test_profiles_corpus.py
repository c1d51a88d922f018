"""End to end on real transcripts: import a handful of the shared Lenny's Podcast
files, link, and check people, titles and roles (skipped without ../shared)."""
import json

import pytest
from click.testing import CliRunner

from pipeline.cli import cli

from conftest import CORPUS

LENNY = CORPUS / "lenny"
FILES = ["hamelshreya.md", "kunal-shah.md", "elena-verna-20.md", "gibson-biddle.md", "bob-baxley.md",
         "julian-shapiro.md", "eeke-de-milliano.md", "austin-hay.md", "mayur-kamat.md"]

pytestmark = pytest.mark.skipif(not LENNY.is_dir(), reason="the shared corpus is not here")


def test_one_person_per_human_with_title_and_role(db_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["transcripts", "import", "--db", str(db_path), *[str(LENNY / f) for f in FILES]])
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["link", "--db", str(db_path)]).exit_code == 0
    result = runner.invoke(cli, ["profiles", "list", "--db", str(db_path), "--nl"])
    rows = {r["name"]: (r["title"], r["organization"], r["role"]) for r in map(json.loads, result.output.splitlines())}
    assert rows == {
        # "Lenny", "Lenny Rachitsky" and "LENNY RACHITSKY" are one host; sponsor voices ("Ashley") are nobody
        "Lenny Rachitsky": (None, None, "Author"),
        # "Hamel+Shreya"
        "Hamel Husain": (None, None, "Advisor"),
        "Shreya Shankar": (None, None, "Advisor"),
        # "KUNAL SHAH", and "one of the most well-known..." is not a title
        "Kunal Shah": ("CEO and Founder", "CRED", "Founder"),
        # "Elena Verna 2.0"; her titles are past ones
        "Elena Verna": (None, None, "Growth Marketer"),
        # this archive file carries Bob Baxley's description: nothing is said about Gibson Biddle
        "Gibson Biddle": (None, None, "Unknown"),
        "Bob Baxley": ("Design Leader", None, "Designer"),
        "Julian Shapiro": (None, None, "Unknown"),
        "Eeke de Milliano": ("Head of Product", "Retool", "Product Leader"),
        "Austin Hay": ("Head of Marketing Technology", "Ramp", "Growth Marketer"),
        "Mayur Kamat": ("Chief Product Officer", "N26", "Product Leader"),
    }
    result = runner.invoke(cli, ["profiles", "show", "Austin Hay", "--db", str(db_path)])
    assert "Before: VP of Business Operations at Runway; VP of Growth at mParticle" in result.output
    assert "Background: Austin Hay is currently Head of Marketing Technology at Ramp" not in result.output  # truncated
    result = runner.invoke(cli, ["profiles", "show", "Mayur Kamat", "--db", str(db_path)])
    assert "About the organization: a $9 billion neobank serving over 7 million customers in 25 countries" \
        in result.output
    # importing again changes nobody
    runner.invoke(cli, ["transcripts", "import", "--db", str(db_path), str(LENNY / "hamelshreya.md")])
    runner.invoke(cli, ["link", "--db", str(db_path)])
    again = runner.invoke(cli, ["profiles", "list", "--db", str(db_path), "--nl"]).output
    assert len(again.splitlines()) == len(rows)
