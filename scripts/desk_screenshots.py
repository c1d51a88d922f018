"""Take the README's screenshots of the desk: the queue and a person's page.

    .venv/bin/python scripts/desk_screenshots.py [--files 6] [--out docs]

Imports a few of the shared Lenny's Podcast transcripts (../shared/corpus/lenny)
through the real commands (transcripts import, extract, link) into a
temporary database, serves the desk on 127.0.0.1 and photographs it in
Debian's headless chromium with Playwright.
"""
import argparse
import re
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from desk_fixture import live_server  # noqa: E402
from pipeline.cli import cli  # noqa: E402
from pipeline.db import open_db  # noqa: E402
from pipeline.desk import create_app  # noqa: E402
from pipeline.review import edit_item  # noqa: E402

LENNY = ROOT.parent / "shared" / "corpus" / "lenny"


def build(db_path, n_files):
    files = sorted(str(p) for p in LENNY.glob("*.md"))[:n_files]
    runner = CliRunner()
    for args in (["transcripts", "import", *files], ["extract"], ["link"]):
        result = runner.invoke(cli, ["--db", str(db_path), *args])
        if result.exit_code != 0:
            sys.exit(f"{' '.join(args[:2])} failed: {result.output}")
    return open_db(db_path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        db = build(Path(tmp) / "desk.db", args.files)
        # a person with items and a title: the guest of the best pending item
        person = db.execute("select p.name from items i join people p on p.id = i.person_id "
                            "where p.title is not null order by i.score desc limit 1").fetchone()[0]
        # an editor's light edit on the first item, so the diff shows
        first = db.execute("select id, text from items where status = 'pending' order by score desc limit 1").fetchone()
        edit_item(db, first[0], text=re.sub(r"^(So|And|But|Yeah|I think),? (\w)", lambda m: m.group(2).upper(),
                                           first[1]).replace(" things", " ideas", 1) + " That's the job.")
        with live_server(create_app(Path(tmp) / "desk.db")) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{url}/queue")
            page.screenshot(path=f"{args.out}/desk-queue.png", full_page=False)
            page.goto(f"{url}/people/{person}")
            page.screenshot(path=f"{args.out}/desk-person.png", full_page=False)
            browser.close()
    print(f"wrote {args.out}/desk-queue.png and {args.out}/desk-person.png ({person})")


if __name__ == "__main__":
    main()
