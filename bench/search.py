"""Search latency and export time at scale, and searches that return many rows.

    .venv/bin/python bench/search.py [--segments 1000000] [--items 10000] [--rebuild]
    .venv/bin/python bench/search.py --real 303 [--only real]

--real N (default 303) first imports the 40 real transcripts repeated to N
(bench/corpus.py) and measures, against floors timed in the same run,
alternating ours and the floor and taking medians:
  - in-process segment searches with no limit, 47 to 10,000 rows, against the
    raw FTS5 query (rowid, bm25, snippet, ordered by rank) returning as many
    rows (target: within 2x at every size);
  - the 20 queries below as whole `podpipe search --kind segment` processes (the
    default limit) against the `sqlite3` shell running the raw query (target:
    p95 under 150 ms), and one with --limit 0;
  - start-up: `podpipe search x` (target 150 ms) and `podpipe --help` (120 ms),
    beside a bare `python -c pass` and `sqlite-utils search`.
Child processes run with bytecode caching on (as an installed podpipe does),
whatever $PYTHONDONTWRITEBYTECODE says. Wall times on a shared machine are
noisy, so the CPU time of each process is printed beside them.

Builds a database from the 40 real transcripts in ../shared/corpus/lenny/
(imported, then extracted by the pipeline's own stages), replicated to at least
--segments transcript segments: episodes, transcripts and segments are copied
in SQL with INSERT ... SELECT, one copy of the corpus per statement, with the
segments' FTS table dropped first and built once at the end (not row by row
through triggers). Items are replicated the same way to exactly --items.

The built database is cached in $TMPDIR/podpipe-bench/ (keyed by the sizes),
so only the first run pays for the build (about a minute on 2 cores).

Then it reports search latency (median and 95th percentile over a fixed set of
queries, each run several times after one warm-up run) for transcript segments,
for items, and for filtered searches, and the time to export --items items in
every format. Target: 95th percentile under 50 ms.
"""
import argparse
import glob
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.db import FTS, open_db  # noqa: E402
from pipeline.export import FORMATS, export_items  # noqa: E402
from pipeline.search import RANK_WINDOW, search_items, search_segments  # noqa: E402

LENNY = ROOT.parent / "shared" / "corpus" / "lenny"
ID_STEP = 1_000_000  # copy k of a row gets id + k * ID_STEP for episodes, transcripts and items
ROLES = ["Product Manager", "Engineering Manager", "Designer", "Founder"]

# A researcher's queries: common and rare words, phrases, prefixes and operators.
QUERIES = [
    "customers", "roadmap", '"product market fit"', "priorit*", "pricing strategy", "hiring", "talk to users",
    "onboard*", '"north star"', "growth NOT marketing", "AI OR LLM", "stakeholder*", "retention", "experiment*",
    "feedback", '"first principles"', "churn", "design review", "OKRs", "competitor*",
]
FILTERED = [
    ("customers", {"since": "2024-06-01"}), ("roadmap", {"person": "Lenny"}),
    ('"product market fit"', {"role": "Product Manager"}), ("priorit*", {"feed": "Imported transcripts"}),
]


def columns(db, table, skip):
    return ", ".join(f'"{c.name}"' for c in db[table].columns if c.name not in skip)


def build(path, target_segments, n_items, log):
    """Build the benchmark database at path (via a temporary name, so a half-built one is never cached)."""
    from pipeline.extract.stage import extract
    from pipeline.transcript_import import import_transcript

    building = Path(f"{path}.building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    db = open_db(building)
    files = sorted(glob.glob(str(LENNY / "*.md")))
    if not files:
        sys.exit(f"no transcripts in {LENNY}")
    with tempfile.TemporaryDirectory() as transcripts:
        for f in files:
            import_transcript(db, f, transcripts_dir=transcripts)
    extract(db)
    # roles for the guests, so --role filters have something to find
    with db.atomic():
        for name in ROLES:
            db["roles"].insert({"name": name})
        guests = [r[0] for r in db.execute("select distinct person_id from episode_people where role = 'guest' "
                                           "order by person_id")]
        for n, person_id in enumerate(guests):
            db["people"].update(person_id, {"role_id": n % len(ROLES) + 1})
    base_segments = db["segments"].count
    base_items = db["items"].count
    log(f"imported {len(files)} transcripts: {base_segments} segments, {base_items} items "
        f"({time.perf_counter() - started:.1f} s)")

    # segments: no FTS while copying, one index build at the end
    for (name,) in list(db.execute("select name from sqlite_master where type = 'trigger' and tbl_name = 'segments'")):
        db.execute(f"drop trigger [{name}]")
    db["segments_fts"].drop()
    copies = math.ceil(target_segments / base_segments) - 1
    ecols = columns(db, "episodes", {"id", "guid"})
    tcols = columns(db, "transcripts", {"id", "episode_id"})
    scols = columns(db, "segments", {"id", "transcript_id"})
    t0 = time.perf_counter()
    for k in range(1, copies + 1):
        off = k * ID_STEP
        with db.atomic():
            db.execute(f"insert into episodes (id, guid, {ecols}) select id + ?, guid || '#' || ?, {ecols} "
                       f"from episodes where id < ?", [off, k, ID_STEP])
            db.execute(f"insert into transcripts (id, episode_id, {tcols}) select id + ?, episode_id + ?, {tcols} "
                       f"from transcripts where id < ?", [off, off, ID_STEP])
            db.execute("insert into episode_people (episode_id, person_id, role, [group]) "
                       "select episode_id + ?, person_id, role, [group] from episode_people where episode_id < ?",
                       [off, ID_STEP])
            db.execute(f"insert into segments (transcript_id, {scols}) select transcript_id + ?, {scols} "
                       f"from segments where transcript_id < ?", [off, ID_STEP])
    log(f"copied segments {copies} times: {db['segments'].count} segments ({time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    db["segments"].enable_fts(FTS["segments"], tokenize="porter", create_triggers=True)
    db.execute("insert into segments_fts (segments_fts) values ('optimize')")
    log(f"built the segment index ({time.perf_counter() - t0:.1f} s)")

    # items: copies spread over the copied episodes, exactly n_items in all
    icols = columns(db, "items", {"id", "episode_id", "dedup_key"})
    k = 1
    while db["items"].count < n_items and base_items:
        missing = n_items - db["items"].count
        off = k * ID_STEP
        with db.atomic():
            db.execute(f"insert into items (id, episode_id, dedup_key, {icols}) "
                       f"select id + ?, episode_id + ?, dedup_key || '#' || ?, {icols} from items "
                       f"where id < ? order by id limit ?", [off, off, k, ID_STEP, missing])
            db.execute("insert into item_topics (item_id, topic) select item_id + ?, topic from item_topics "
                       "where item_id < ? and item_id + ? in (select id from items)", [off, ID_STEP, off])
        k += 1
    with db.atomic():  # the corpus alone may give more than asked for
        extra = "select id from items order by id limit -1 offset ?"
        db.execute(f"delete from item_topics where item_id in ({extra})", [n_items])
        db.execute(f"delete from items where id in ({extra})", [n_items])
    db.execute("analyze")
    db.conn.close()
    os.replace(building, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    log(f"built {path} in {time.perf_counter() - started:.1f} s")


def build_real(path, n, log):
    """The real corpus repeated to n transcripts, imported with `transcripts import`."""
    from corpus import replicate

    building = Path(f"{path}.building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        files = replicate(n, Path(tmp) / "in")
        subprocess.run([sys.executable, "-c", CLI, "--db", str(building), "transcripts", "import",
                        "--transcripts-dir", str(Path(tmp) / "out"), *files],
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=child_env())
    db = open_db(building)
    db.execute("analyze")
    db.conn.close()
    os.replace(building, path)
    log(f"imported {n} transcripts into {path} in {time.perf_counter() - started:.1f} s")


CLI = "import sys; from pipeline.cli import cli; sys.exit(cli())"
RAW_SQL = ("select rowid, bm25(segments_fts), snippet(segments_fts, 0, '[', ']', '…', 12) from segments_fts "
           "where segments_fts match {q} order by rank limit {n}")
# queries by the rows they return on 303 transcripts, from tens to ten thousand
LARGE = ['"product market fit"', "roadmap*", "experiment*", "customers", "think", "know"]


def child_env():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_process(argv):
    """(wall ms, CPU ms) of one process, its output thrown away."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=child_env())
    wall = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def interleaved(fns, repeat):
    """Each fn's results over `repeat` rounds, the fns taking turns (after one warm-up round)."""
    for fn in fns:
        fn()
    out = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            out[i].append(fn())
    return out


def sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


def real_corpus(db_path, repeat):
    """The many-rows, whole-process and start-up measurements; returns the summary lines."""
    db = open_db(db_path)
    print(f"real corpus: {db['transcripts'].count} transcripts, {db['segments'].count:,} segments "
          f"({db_path}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    summary = []

    def in_process(query, window):
        rows = []

        def ours():
            t0 = time.perf_counter()
            rows[:] = [len(list(search_segments(db, query, rank_window=window)))]
            return (time.perf_counter() - t0) * 1000

        def raw():
            t0 = time.perf_counter()
            db.execute(RAW_SQL.format(q="?", n=rows[0] if rows else -1), [query]).fetchall()
            return (time.perf_counter() - t0) * 1000

        ours()
        a, b = interleaved([ours, raw], repeat)
        return rows[0], statistics.median(a), statistics.median(b)

    worst = 0
    print("in-process segment search, no limit (median ms): rows, podpipe, raw FTS5 (same rows), ratio")
    for query, window in [(q, RANK_WINDOW) for q in LARGE] + [("know", 10_000)]:
        n, ours, raw = in_process(query, window)
        worst = max(worst, ours / raw)
        print(f"  {query!r:22} {n:6,} rows  {ours:7.1f}  {raw:7.1f}  {ours / raw:4.2f}x"
              + ("" if window == RANK_WINDOW else f"  (rank window {window:,})"))
    summary.append(f"in-process, up to 10,000 rows: worst ratio {worst:.2f}x to raw FTS5 "
                   f"(target 2x: {'met' if worst <= 2 else 'NOT met'})")

    podpipe = [sys.executable, "-c", CLI, "--db", str(db_path)]
    sqlite3_shell = shutil.which("sqlite3")
    ours_runs, floor_runs = [], []
    for query in QUERIES:
        fns = [lambda q=query: run_process(podpipe + ["search", q, "--kind", "segment", "--nl"])]
        if sqlite3_shell:
            fns.append(lambda q=query: run_process(
                [sqlite3_shell, str(db_path), RAW_SQL.format(q=sql_literal(q), n=100)]))
        results = interleaved(fns, max(1, repeat // 2))
        ours_runs += results[0]
        floor_runs += results[1] if sqlite3_shell else []
    p95 = percentile([w for w, _ in ours_runs], 95)
    line = (f"20 searches as processes (top 100): podpipe p95 {p95:.0f} ms, median "
            f"{statistics.median(w for w, _ in ours_runs):.0f} ms (CPU p95 {percentile([c for _, c in ours_runs], 95):.0f} ms)")
    if floor_runs:
        floor_p95 = percentile([w for w, _ in floor_runs], 95)
        line += f"; sqlite3 shell p95 {floor_p95:.0f} ms; ratio {p95 / floor_p95:.1f}x"
    print(line)
    summary.append(line + f" (target p95 < 150 ms: {'met' if p95 < 150 else 'NOT met'})")

    fns = [lambda: run_process(podpipe + ["search", "experiment*", "--kind", "segment", "--limit", "0", "--nl"])]
    if sqlite3_shell:
        fns.append(lambda: run_process([sqlite3_shell, str(db_path), RAW_SQL.format(q="'experiment*'", n=-1)]))
    results = interleaved(fns, repeat)
    line = f"'experiment*' --limit 0 as a process: podpipe {statistics.median(w for w, _ in results[0]):.0f} ms"
    if sqlite3_shell:
        floor = statistics.median(w for w, _ in results[1])
        line += f", sqlite3 shell {floor:.0f} ms, ratio {statistics.median(w for w, _ in results[0]) / floor:.1f}x"
    print(line)
    summary.append(line)

    sqlite_utils_cli = Path(sys.executable).with_name("sqlite-utils")
    fns = {"podpipe search x": lambda: run_process(podpipe + ["search", "x"]),
           "podpipe --help": lambda: run_process(podpipe + ["--help"]),
           "python -c pass": lambda: run_process([sys.executable, "-c", "pass"])}
    if sqlite_utils_cli.exists():
        fns["sqlite-utils search"] = lambda: run_process([str(sqlite_utils_cli), "search", str(db_path),
                                                          "segments", "x"])
    results = dict(zip(fns, interleaved(list(fns.values()), repeat)))
    medians = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v),
                   percentile([w for w, _ in v], 95)) for k, v in results.items()}
    print("start-up (median wall ms, CPU ms, p95 wall ms): "
          + "; ".join(f"{k} {w:.0f} ({c:.0f}, p95 {p:.0f})" for k, (w, c, p) in medians.items()))
    for name, target in (("podpipe search x", 150), ("podpipe --help", 120)):
        w, c, p = medians[name]
        summary.append(f"{name}: {w:.0f} ms wall (p95 {p:.0f}), {c:.0f} ms CPU, "
                       f"{w / medians['python -c pass'][0]:.1f}x a bare python start "
                       f"(target {target} ms: {'met' if w < target else 'NOT met'})")
    summary.append(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    db.conn.close()
    return summary


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(fn, repeat):
    """(wall ms, CPU ms) of each of `repeat` runs. On a shared machine the CPU time
    says what the wall time would be without other processes waiting for the cores."""
    fn()  # warm-up: the first run reads the index pages from disk
    out = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append(((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000))
    return out


def report(label, per_query):
    runs = [t for ts in per_query.values() for t in ts]
    wall, cpu = [w for w, _ in runs], [c for _, c in runs]
    print(f"{label}: median {statistics.median(wall):.1f} ms, p95 {percentile(wall, 95):.1f} ms, "
          f"max {max(wall):.1f} ms (CPU time: median {statistics.median(cpu):.1f} ms, "
          f"p95 {percentile(cpu, 95):.1f} ms) over {len(per_query)} queries x {len(runs) // len(per_query)} runs")
    return statistics.median(wall), percentile(wall, 95)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=1_000_000, help="At least this many segments")
    ap.add_argument("--items", type=int, default=10_000, help="Exactly this many items")
    ap.add_argument("--repeat", type=int, default=5, help="Timed runs per query")
    ap.add_argument("--rebuild", action="store_true", help="Build the database again")
    ap.add_argument("--verbose", action="store_true", help="Print each query's median")
    ap.add_argument("--real", type=int, default=303, help="Transcripts in the real-corpus database")
    ap.add_argument("--only", choices=["real", "scale"], help="Only the real-corpus or the scale part")
    args = ap.parse_args()

    cache = Path(tempfile.gettempdir()) / "podpipe-bench"
    cache.mkdir(exist_ok=True)
    summary = []
    if args.only != "scale":
        real = cache / f"real-{args.real}.db"
        if args.rebuild or not real.exists():
            build_real(real, args.real, lambda m: print(m, file=sys.stderr))
        summary = real_corpus(real, args.repeat)
        if args.only == "real":
            print("\n".join(summary))
            return
    path = cache / f"search-{args.segments}-{args.items}.db"
    if args.rebuild or not path.exists():
        build(path, args.segments, args.items, lambda m: print(m, file=sys.stderr))
    db = open_db(path)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"database: {path} ({path.stat().st_size / 1e6:.0f} MB), {db['segments'].count:,} segments, "
          f"{db['items'].count:,} items, {db['episodes'].count:,} episodes")

    def per_query(fn, queries):
        results = {}
        for query, filters in queries:
            results[(query, str(filters))] = timed(lambda: list(fn(db, query, limit=20, **filters)), args.repeat)
            if args.verbose:
                wall = [w for w, _ in results[(query, str(filters))]]
                print(f"  {query!r} {filters or ''}: {statistics.median(wall):.1f} ms, "
                      f"{len(list(fn(db, query, limit=20, **filters)))} results", file=sys.stderr)
        return results

    plain = [(q, {}) for q in QUERIES]
    segment_median, segment_p95 = report("segment search (top 20)", per_query(search_segments, plain))
    report("segment search with filters (top 20)", per_query(search_segments, FILTERED))
    report("item search (top 20)", per_query(search_items, plain))
    item_filters = [("customers", {"kinds": ["tip"], "role": "Product Manager"}), ("roadmap", {"since": "2024-06-01"}),
                    ("priorit*", {"topic": "customers"}), ('"product market fit"', {"statuses": ["all"]})]
    report("item search with filters (top 20)", per_query(search_items, item_filters))

    n = db["items"].count
    with tempfile.TemporaryDirectory() as out:
        for fmt in FORMATS:
            t0, c0 = time.perf_counter(), time.process_time()
            written = export_items(db, fmt, path=Path(out) / f"items.{fmt}", statuses=["all"])
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            size = (Path(out) / f"items.{fmt}").stat().st_size
            print(f"export {written:,} items as {fmt}: {elapsed * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms), "
                  f"{size / 1e6:.1f} MB")
    assert written == n
    print(f"target p95 < 50 ms for segment search: {'met' if segment_p95 < 50 else 'NOT met'} "
          f"(median {segment_median:.1f} ms, p95 {segment_p95:.1f} ms)")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
