"""The real transcripts of ../shared/corpus/lenny/, repeated to any number of
files for benchmarks: copy k of a file gets its own file name, guid, YouTube
URL and title, so `transcripts import` makes a new episode of each copy (the
issue's "303 real transcripts" were made this way)."""
import glob
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LENNY = ROOT.parent / "shared" / "corpus" / "lenny"


def lenny_files():
    files = sorted(glob.glob(str(LENNY / "*.md")))
    if not files:
        raise SystemExit(f"no transcripts in {LENNY}")
    return files


def replicate(n, dest):
    """Write n transcript files into dest (the 40 real ones, then copies); return their paths."""
    files = lenny_files()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        src, k = Path(files[i % len(files)]), i // len(files)
        text = src.read_text(encoding="utf-8")
        if k:
            head, sep, body = text.partition("\n---")
            head = re.sub(r"^(youtube_url: .*)$", rf"\1&copy={k}", head, count=1, flags=re.M)
            head = re.sub(r"^(video_id: .*)$", rf"\1-{k}", head, count=1, flags=re.M)
            # a prefix, so titles folded over several lines change too (import matches on title and date)
            head = re.sub(r"^title: (['\"]?)", rf"title: \1Copy {k} - ", head, count=1, flags=re.M)
            head += f"\nguid: bench-copy-{k}-{src.stem}"
            text = head + sep + body
        path = dest / (src.name if not k else f"{src.stem}-copy{k}.md")
        path.write_text(text, encoding="utf-8")
        out.append(str(path))
    return out
