"""`transcripts import` of the real transcripts, repeated to --files (303, as in
issue 13), against a floor measured in the same run: read each file, YAML front
matter (with the loader podpipe uses: libyaml's), the turn regex, one
executemany of the segments and an FTS5 rebuild, with no transcript files written.

    .venv/bin/python bench/transcript_import.py [--files 303] [--repeat 3] [--existing 20000]

--existing N imports into a copy of a database that already holds N episodes
(of other feeds, none matching a transcript), as a long-lived database would:
finding an episode for each transcript must not scan them all.

Also timed, as a reference: the same files one import_transcript call each with
an fsync per written file (the path before batching). Ours and the floor take
turns; medians. Target: within 2x of the floor. Wall time on a shared machine is
noisy and fsync time is I/O, not CPU, so both are printed.
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus import replicate  # noqa: E402
from pipeline.db import open_db  # noqa: E402
from pipeline.transcript_formats import FRONT_MATTER, MD_TURN, SAFE_LOADER  # noqa: E402
from pipeline.transcript_import import import_transcript, import_transcripts  # noqa: E402


def floor(files, db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("create table segments (id integer primary key, episode int, idx int, start real, "
                 "speaker text, text text)")
    rows = []
    for n, path in enumerate(files):
        text = Path(path).read_text(encoding="utf-8")
        m = FRONT_MATTER.match(text)
        yaml.load(m.group(1), Loader=SAFE_LOADER)  # the loader podpipe uses (libyaml's when built with it)
        speaker = None
        for line in text[m.end():].split("\n"):
            turn = MD_TURN.match(line.strip())
            if turn:
                speaker = turn.group("speaker") or speaker
                rows.append((n, len(rows), turn.group("time"), speaker, turn.group("text")))
            elif rows and line.strip():
                rows[-1] = rows[-1][:4] + (rows[-1][4] + " " + line.strip(),)
    with conn:
        conn.executemany("insert into segments (episode, idx, start, speaker, text) values (?, ?, ?, ?, ?)", rows)
        conn.execute("create virtual table segments_fts using fts5(text, speaker, content=segments, "
                     "content_rowid=id, tokenize='porter')")
        conn.execute("insert into segments_fts (segments_fts) values ('rebuild')")
    conn.close()
    return len(rows)


def existing_db(path, n):
    """A database holding n episodes in 10 feeds, with guids, podcast guids and titles
    that no transcript matches."""
    db = open_db(path)
    with db.conn:
        feeds = [db["feeds"].insert({"url": f"https://example.com/feed{f}.xml", "title": f"Feed {f}"}).last_pk
                 for f in range(10)]
        db["episodes"].insert_all(({
            "feed_id": feeds[i % 10], "guid": f"https://example.com/ep/{i}", "podcast_guid": f"pg-{i:08x}",
            "title": f"Existing episode {i}: a conversation", "published": f"20{10 + i % 15}-01-01T00:00:00+00:00",
            "status": "new", "attempts": 0} for i in range(n)), batch_size=1000)
    db.conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=303)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--existing", type=int, default=0, metavar="N",
                    help="Import into a database that already holds N episodes")
    ap.add_argument("--no-reference", action="store_true", help="Skip the per-file fsync reference")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = replicate(args.files, Path(tmp) / "in")
        template = Path(tmp) / "existing.db"
        if args.existing:
            existing_db(template, args.existing)

        def ours(k):
            db = open_db(Path(tmp) / f"db{k}.db")
            results = list(import_transcripts(db, files, transcripts_dir=Path(tmp) / f"t{k}"))
            assert not [r for r in results if r[3]], [r for r in results if r[3]][:3]
            db.conn.close()

        def per_file(k):
            db = open_db(Path(tmp) / f"db{k}.db")
            for path in files:
                import_transcript(db, path, transcripts_dir=Path(tmp) / f"t{k}")
            db.conn.close()

        def bare(k):
            return floor(files, Path(tmp) / f"floor{k}.db")

        fns = {"podpipe import_transcripts (batched)": ours, "floor (YAML, regex, executemany, FTS rebuild)": bare}
        if not args.no_reference:
            fns["reference: import_transcript per file, fsync per file"] = per_file
        times = {k: [] for k in fns}
        into = f"; into a database of {args.existing:,} episodes" if args.existing else ""
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.files} transcripts; "
              f"median of {args.repeat}{into}")
        runs = iter(range(10 ** 6))
        for _ in range(args.repeat):
            for name, fn in fns.items():
                k = next(runs)
                if args.existing:  # the copy is not the import's work
                    shutil.copyfile(template, Path(tmp) / f"db{k}.db")
                t0, c0 = time.perf_counter(), time.process_time()
                fn(k)
                times[name].append((time.perf_counter() - t0, time.process_time() - c0))
        med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
        for name, (w, c) in med.items():
            print(f"  {name}: {w:.2f} s (CPU {c:.2f} s)")
        names = list(fns)
        ratio = med[names[0]][0] / med[names[1]][0]
        print(f"ratio to the floor: {ratio:.2f}x (CPU {med[names[0]][1] / med[names[1]][1]:.2f}x); "
              f"target 2x: {'met' if ratio <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
