"""Measure people, titles, organizations and roles on the 40 shared Lenny's
Podcast transcripts against the hand-written gold (bench/data/profiles_gold.yaml).

    .venv/bin/python bench/profiles.py            # tune, held-out and all
    .venv/bin/python bench/profiles.py --errors   # and every miss

The transcripts go through the real path: `podpipe transcripts import` then
`podpipe link`, into a temporary database. Targets:
- title and organization right for >= 90% of guests whose description states
  them, and no junk field (a sentence fragment) anywhere;
- role right for >= 90% of guests;
- no human split into two people, no two humans merged.
"""
import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.cli import cli  # noqa: E402
from pipeline.db import open_db  # noqa: E402
from pipeline.names import fold  # noqa: E402

LENNY = ROOT.parent / "shared" / "corpus" / "lenny"
GOLD = ROOT / "bench" / "data" / "profiles_gold.yaml"
# a field reads as a sentence fragment when it carries a clause
JUNK = re.compile(r"\b(?:who|which|where|that|was|is|has|previously|currently|former|one of)\b|[—–(]|\.\.\.|^[a-z]")


def same(a, b):
    return (fold(a) if a else None) == (fold(b) if b else None)


def junk(value):
    return bool(value) and (len(value.split()) > 8 or bool(JUNK.search(value.replace("dbt Labs", "Dbt Labs"))))


def build(db_path):
    runner = CliRunner()
    files = sorted(str(p) for p in LENNY.glob("*.md"))
    for args in (["transcripts", "import", *files], ["link"]):
        result = runner.invoke(cli, ["--db", str(db_path), *args] if args[0] != "transcripts" else
                               [args[0], args[1], "--db", str(db_path), *args[2:]], catch_exceptions=False)
        if result.exit_code:
            sys.exit(f"podpipe {' '.join(args[:2])} failed:\n{result.output}")


def people_of(db):
    rows = list(db.query("select p.id, p.name, p.aliases, p.title, p.organization, r.name as role "
                         "from people p left join roles r on r.id = p.role_id"))
    for row in rows:
        row["names"] = {fold(row["name"])} | {fold(a) for a in json.loads(row["aliases"] or "[]")}
    return rows


def score(gold, people, files, errors):
    humans = {}
    for f in files:
        for g in gold["files"][f]:
            humans.setdefault(fold(g["name"]), []).append((f, g))
    host = fold(gold["host"])
    found = {}
    for person in people:
        matched = [h for h in list(humans) + [host] if h in person["names"]]
        for h in matched:
            found.setdefault(h, []).append(person)
        if len(matched) > 1:
            errors.append(f"merged: {person['name']} is {matched}")
    split = [h for h, ps in found.items() if len(ps) > 1]
    missing = [h for h in humans if h not in found]
    t = {"guests": 0, "stated": 0, "title_org_right": 0, "unstated_left_empty": 0, "unstated": 0,
         "role_right": 0, "junk": 0}
    for h, entries in humans.items():
        person = (found.get(h) or [None])[0]
        for f, g in entries:
            t["guests"] += 1
            title, org, role = (person["title"], person["organization"], person["role"]) if person else (None,) * 3
            t["junk"] += junk(title) + junk(org)
            if g["title"] or g["organization"]:
                t["stated"] += 1
                ok = same(title, g["title"]) and same(org, g["organization"])
                t["title_org_right"] += ok
                if not ok:
                    errors.append(f"{f}: {g['name']}: {title!r} at {org!r}, gold {g['title']!r} at {g['organization']!r}")
            else:
                t["unstated"] += 1
                ok = not title and not org
                t["unstated_left_empty"] += ok
                if not ok:
                    errors.append(f"{f}: {g['name']}: {title!r} at {org!r}, but the description states none")
            right = same(role or "unknown", g["role"])
            t["role_right"] += right
            if not right:
                errors.append(f"{f}: {g['name']}: role {role!r}, gold {g['role']!r}")
    t.update(humans=len(humans), split=len(split), missing=len(missing))
    errors += [f"split: {h} is {[p['name'] for p in found[h]]}" for h in split] + [f"missing: {h}" for h in missing]
    return t


def pct(a, b):
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="print every miss")
    args = parser.parse_args()
    if not LENNY.is_dir():
        sys.exit(f"no transcripts at {LENNY}")
    gold = yaml.safe_load(GOLD.read_text())
    files = sorted(gold["files"])
    splits = {"tune": files[0::2], "held-out": files[1::2], "all": files}
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        build(db_path)
        db = open_db(db_path)
        people = people_of(db)
        guests = {fold(g["name"]) for f in files for g in gold["files"][f]} | {fold(gold["host"])}
        extra = [p["name"] for p in people if not p["names"] & guests]
        no_role = [p["name"] for p in people if not p["role"]]
        print(f"people: {len(people)} rows for {len(guests)} humans (guests and the host); "
              f"not in the gold: {extra or 'none'}; without a role: {no_role or 'none'}")
        print(f"{'set':9} {'guests':>6}  {'title+org right (stated)':>26}  {'left empty (unstated)':>22}  "
              f"{'role right':>14}  junk  split  merged  missing")
        for name, subset in splits.items():
            errors = []
            t = score(gold, people, subset, errors)
            merged = sum(e.startswith("merged") for e in errors)
            print(f"{name:9} {t['guests']:>6}  {pct(t['title_org_right'], t['stated']):>26}  "
                  f"{pct(t['unstated_left_empty'], t['unstated']):>22}  {pct(t['role_right'], t['guests']):>14}  "
                  f"{t['junk']:>4}  {t['split']:>5}  {merged:>6}  {t['missing']:>7}")
            if args.errors and name != "all":
                for e in errors:
                    print("   ", e)


if __name__ == "__main__":
    main()
