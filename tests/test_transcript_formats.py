import importlib.util
import json
import re
import time
from pathlib import Path

import pytest

from pipeline.transcript_formats import (
    TranscriptFormatError,
    detect_format,
    parse,
    split_speaker,
    to_json,
    to_srt,
    to_txt,
    to_vtt,
    write,
)

SHARED = Path("/work/shared/corpus")
LENNY = SHARED / "lenny"


def seg(start, end, text, speaker=None):
    return {"start": start, "end": end, "text": text, "speaker": speaker}


TRICKY = [
    seg(0.0, 2.308, "Welcome back to the show.", "Lenny Rachitsky"),
    seg(2.658, 5.5, "Thanks — it's great to be here: really.", "José Núñez-García"),
    seg(5.85, 9.001, "R&D at AT&T, where 1 < 2 and 3 > 2 --> always.", "Zoë O'Neil"),
    seg(9.351, 12.0, "Speaking as Dr. Smith, “quotes” and emoji 🎙️ survive.", "Dr. Anne-Marie Smith"),
    seg(12.35, 14.0, "No speaker on this one.", None),
    seg(3599.999, 3723.456, "Past the hour.", "Eeke de Milliano"),
    seg(3723.806, 3725.0, "Numbered voices work too.", "Speaker 2"),
]


def same(parsed, expected):
    """Segments equal on times to the millisecond, texts and speakers."""
    assert len(parsed) == len(expected)
    for got, want in zip(parsed, expected):
        assert round(got["start"], 3) == round(want["start"], 3)
        assert round(got["end"], 3) == round(want["end"], 3)
        assert (got["text"], got["speaker"]) == (want["text"], want["speaker"])


# Round trips


@pytest.mark.parametrize("fmt", ["vtt", "srt", "json"])
def test_round_trip(fmt):
    written = write(TRICKY, fmt)
    result = parse(written, fmt)
    assert result["format"] == fmt
    same(result["segments"], TRICKY)
    # and again, detecting the format from the content alone
    same(parse(written.encode("utf-8"))["segments"], TRICKY)


def test_vtt_writer_escapes_and_tags_speakers():
    out = to_vtt([seg(1.5, 62.25, "Tom & Jerry <live>", "A & B")])
    assert out == "WEBVTT\n\n00:00:01.500 --> 00:01:02.250\n<v A &amp; B>Tom &amp; Jerry &lt;live&gt;\n"


def test_srt_and_json_writers():
    segments = [seg(0, 1.2, "Hi.", "Lenny"), seg(1.2, 3, "Hello\nthere.", None)]
    assert to_srt(segments) == (
        "1\n00:00:00,000 --> 00:00:01,200\nLenny: Hi.\n\n"
        "2\n00:00:01,200 --> 00:00:03,000\nHello there.\n"
    )
    assert json.loads(to_json(segments)) == {"version": "1.0.0", "segments": [
        {"speaker": "Lenny", "startTime": 0, "endTime": 1.2, "body": "Hi."},
        {"startTime": 1.2, "endTime": 3, "body": "Hello there."},
    ]}


def test_json_writer_is_valid_json_for_awkward_text_and_numpy_times():
    import numpy as np

    text = 'She said "ship it" \\ then </v> \u2028 and left: café, 東京'
    segments = [seg(np.float64(0.5), np.float64(1.25), text, 'Ann "The PM"'), seg(2, 3, "", None)]
    got = to_json(segments)
    assert json.loads(got) == {"version": "1.0.0", "segments": [
        {"speaker": 'Ann "The PM"', "startTime": 0.5, "endTime": 1.25, "body": " ".join(text.split())},
        {"startTime": 2, "endTime": 3, "body": ""},
    ]}
    assert "東京" in got  # written as UTF-8, not escaped
    assert json.loads(to_json([])) == {"version": "1.0.0", "segments": []}


def test_writers_fill_missing_times_from_the_previous_end():
    segments = [seg(None, None, "one", "A"), seg(2.0, 3.0, "two", "A"), seg(None, None, "three", "B"),
                seg(5.0, None, "four", "B")]
    got = parse(to_srt(segments), "srt")["segments"]
    assert [(s["start"], s["end"]) for s in got] == [(0.0, 0.0), (2.0, 3.0), (3.0, 3.0), (5.0, 5.0)]
    assert [(s["startTime"], s["endTime"]) for s in json.loads(to_json(segments))["segments"]] == [
        (0.0, 0.0), (2.0, 3.0), (3.0, 3.0), (5.0, 5.0)]


def test_writers_ignore_words_and_leave_input_alone():
    segments = [{"start": 0.0, "end": 1.0, "text": "Hi there", "speaker": "Ann",
                 "words": [{"start": 0.0, "end": 0.4, "word": "Hi"}, {"start": 0.5, "end": 1.0, "word": "there"}]},
                {"start": None, "end": None, "text": "More.", "speaker": "Ann"}]
    before = json.dumps(segments)
    for fmt in ("vtt", "srt", "json", "txt"):
        assert "Hi there" in write(segments, fmt)
    assert json.dumps(segments) == before


def test_to_txt_joins_turns():
    segments = [seg(0, 1, "Hi.", "Lenny"), seg(1, 2, "How are you?", "Lenny"),
                seg(2, 3, "Fine.", "Zoë"), seg(3, 4, "Aside.", None), seg(4, 5, "Back.", "Lenny")]
    assert to_txt(segments) == "Lenny: Hi. How are you?\n\nZoë: Fine.\n\nAside.\n\nLenny: Back.\n"
    parsed = parse(to_txt(segments), "txt")["segments"]
    assert [(s["speaker"], s["text"]) for s in parsed] == [
        ("Lenny", "Hi. How are you?"), ("Zoë", "Fine."), (None, "Aside."), ("Lenny", "Back.")]


def test_write_unknown_format():
    with pytest.raises(TranscriptFormatError, match="cannot write 'html'"):
        write(TRICKY, "html")


# WebVTT

BUILD_STYLE_VTT = """WEBVTT

00:00:00.000 --> 00:00:02.308
<v Lenny Rachitsky>Welcome to the show, Maya & friends.

00:00:02.658 --> 00:00:06.504
<v Maya Lindqvist-Öberg>Thanks for having me.
"""


def test_vtt_in_the_shape_build_py_writes():
    assert parse(BUILD_STYLE_VTT)["segments"] == [
        seg(0.0, 2.308, "Welcome to the show, Maya & friends.", "Lenny Rachitsky"),
        seg(2.658, 6.504, "Thanks for having me.", "Maya Lindqvist-Öberg"),
    ]


@pytest.mark.skipif(not (SHARED / "build.py").exists(), reason="shared corpus builder not present")
def test_vtt_and_json_written_by_build_py(tmp_path):
    spec = importlib.util.spec_from_file_location("corpus_build", SHARED / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    iv = {"id": "ep1", "host": {"name": "Lenny Rachitsky"}, "guest": {"name": "Zoë D'Arcy-Núñez"},
          "turns": [{"speaker": "host", "text": "Welcome! What do you do at R&D Labs?"},
                    {"speaker": "guest", "text": "I run product. We ship weekly. It's fun."}]}
    cues, _ = build.cues_for(iv, False, tmp_path)
    build.write_transcripts(iv, cues, tmp_path)
    expected = [seg(c["start"], c["end"], c["text"], c["speaker"]) for c in cues]
    for name in ("ep1.vtt", "ep1.json"):
        data = (tmp_path / name).read_bytes()
        result = parse(data, filename=name)
        same(result["segments"], expected)
    assert len(expected) == 5 and expected[-1]["speaker"] == "Zoë D'Arcy-Núñez"


def test_vtt_features():
    data = """\ufeffWEBVTT - a title
Kind: captions
Language: en

NOTE This is a comment
spanning two lines --> with an arrow

STYLE
::cue { color: yellow }

REGION
id:fred width:40%

intro-1
00:01.000 --> 00:04.500 align:start position:10%
<v.loud Ann Smith>Hello <c.yellow>there</c>,
<i>friend</i> &amp; &lt;colleague&gt;</v>

2
01:00:00.250 --> 01:00:02.000
Karaoke <00:00:00.500><c>style</c> &nbsp;text<b>!</b>

00:00:02.000 --> 00:00:03.000
<v Bob>One</v> <v Carol>Two</v>
"""
    assert parse(data.replace("\n", "\r\n").encode("utf-8"))["segments"] == [
        seg(1.0, 4.5, "Hello there, friend & <colleague>", "Ann Smith"),
        seg(3600.25, 3602.0, "Karaoke style text!", None),
        seg(2.0, 3.0, "One Two", "Bob"),
    ]


def test_vtt_errors():
    with pytest.raises(TranscriptFormatError, match="does not start with 'WEBVTT'"):
        parse("00:00.000 --> 00:01.000\nhello\n", "vtt")
    with pytest.raises(TranscriptFormatError, match=r"bad WebVTT cue timing '00:0x:01.000 --> 00:00:02.000'"):
        parse("WEBVTT\n\n00:0x:01.000 --> 00:00:02.000\nhello\n")
    with pytest.raises(TranscriptFormatError, match="without a cue timing line: 'just some text'"):
        parse("WEBVTT\n\njust some text\nand more\n", "vtt")
    with pytest.raises(TranscriptFormatError, match="no segments found in vtt transcript"):
        parse("WEBVTT\n\nNOTE nothing here\n")


# SRT


def test_srt_speakers_and_tags():
    data = """1
00:00:01,000 --> 00:00:04,000
Lenny Rachitsky: Welcome
to the <i>show</i>.

2
00:00:04,000 --> 00:00:06,500
Here's the thing: no speaker here.

3
00:00:06,500 --> 00:00:08,000
Eeke de Milliano: Thanks &amp; hi.

4
00:00:08,000 --> 00:00:09,000
At 10:30: still no speaker.
"""
    assert parse(data, filename="ep.srt")["segments"] == [
        seg(1.0, 4.0, "Welcome to the show.", "Lenny Rachitsky"),
        seg(4.0, 6.5, "Here's the thing: no speaker here.", None),
        seg(6.5, 8.0, "Thanks & hi.", "Eeke de Milliano"),
        seg(8.0, 9.0, "At 10:30: still no speaker.", None),
    ]


def test_srt_errors():
    with pytest.raises(TranscriptFormatError, match="not an SRT file"):
        parse("Hello there.\n\nNothing timed here.\n", "srt")
    with pytest.raises(TranscriptFormatError, match="bad SRT cue timing '00:00:01 --> soon'"):
        parse("1\n00:00:01 --> soon\nHi\n", "srt")


@pytest.mark.parametrize("text, expected", [
    ("Lenny: hi", ("Lenny", "hi")),
    ("Speaker 2: hi", ("Speaker 2", "hi")),
    ("Élodie van der Berg: salut", ("Élodie van der Berg", "salut")),
    ("李小龍: 你好", ("李小龍", "你好")),
    ("Dr. Anne O'Neil: hi", ("Dr. Anne O'Neil", "hi")),
    ("One Two Three Four Five: too long", (None, "One Two Three Four Five: too long")),
    ("the answer: lower case", (None, "the answer: lower case")),
    ("Lenny:no space", (None, "Lenny:no space")),
])
def test_split_speaker(text, expected):
    assert split_speaker(text) == expected


# Podcasting 2.0 JSON and HTML


def test_json_keeps_consecutive_segments_and_fills_ends():
    data = json.dumps({"version": "1.0.0", "segments": [
        {"speaker": "Ann", "startTime": 0, "endTime": 1.5, "body": "Hello"},
        {"speaker": "Ann", "startTime": 1.5, "body": "world"},
        {"startTime": "3.25", "endTime": 4, "body": " spaced\n out "},
    ]})
    result = parse(data, content_type="application/json; charset=utf-8")
    assert result["meta"] == {"version": "1.0.0"}
    assert result["segments"] == [seg(0.0, 1.5, "Hello", "Ann"), seg(1.5, 3.25, "world", "Ann"),
                                  seg(3.25, 4.0, "spaced out", None)]


def test_json_errors():
    with pytest.raises(TranscriptFormatError, match="not valid JSON"):
        parse('{"segments": [', "json")
    with pytest.raises(TranscriptFormatError, match="no 'segments' list"):
        parse('{"version": "1.0.0"}', "json")
    with pytest.raises(TranscriptFormatError, match="without a 'body'"):
        parse('{"segments": [{"startTime": 1}]}', "json")
    with pytest.raises(TranscriptFormatError, match="non-numeric time"):
        parse('{"segments": [{"startTime": "soon", "body": "x"}]}', "json")
    with pytest.raises(TranscriptFormatError, match="no segments found in json"):
        parse('{"segments": []}', "json")


def test_html_podcasting_shape():
    data = """<!DOCTYPE html><html><head><style>p { color: red }</style>
<script>alert("never run")</script></head><body>
<cite>Kevin Bacon:</cite>
<time>0:00</time>
<p>Hello &amp; welcome<br>to the show.</p>
<time>1:02:03</time>
<p>Still <b>Kevin</b>.</p>
<cite>Zoë:</cite>
<time>1:02:09</time>
<p>Thanks &lt;3</p>
</body></html>"""
    assert parse(data, filename="t.html")["segments"] == [
        seg(0.0, 3723.0, "Hello & welcome to the show.", "Kevin Bacon"),
        seg(3723.0, 3729.0, "Still Kevin.", "Kevin Bacon"),
        seg(3729.0, 3729.0, "Thanks <3", "Zoë"),
    ]


def test_html_plain_paragraphs():
    data = "<p>Ann: First paragraph.<p>Second, no speaker.</p><div>ignored</div>"
    assert parse(data)["segments"] == [seg(None, None, "First paragraph.", "Ann"),
                                       seg(None, None, "Second, no speaker.", None)]
    with pytest.raises(TranscriptFormatError, match="no segments found in html"):
        parse("<html><body><div>nothing in paragraphs</div></body></html>")


# Plain text and Markdown


def test_txt_paragraphs():
    data = "Lenny: Hello there,\nand welcome.\n\n   \nJosé Núñez: Gracias.\n\nJust a note.\n"
    assert parse(data, content_type="text/plain")["segments"] == [
        seg(None, None, "Hello there, and welcome.", "Lenny"),
        seg(None, None, "Gracias.", "José Núñez"),
        seg(None, None, "Just a note.", None),
    ]


LENNY_STYLE = """---
guest: Zoë Example
title: 'A title: with colon'
publish_date: 2024-04-07
duration_seconds: 100.0
keywords:
- growth
---

# A title: with colon

## Transcript

Zoë Example (00:00:00):
First thing.

Lenny (00:00:11):
Second thing.

(00:01:19):
Lenny continues,
on two lines.
Zoë Example (01:25):
A turn with no blank line before it.
"""


def test_markdown_lenny_shape():
    result = parse(LENNY_STYLE, filename="zoe.md")
    assert result["format"] == "md"
    assert result["meta"] == {"guest": "Zoë Example", "title": "A title: with colon",
                              "publish_date": "2024-04-07", "duration_seconds": 100.0, "keywords": ["growth"]}
    assert result["segments"] == [
        seg(0.0, 11.0, "First thing.", "Zoë Example"),
        seg(11.0, 79.0, "Second thing.", "Lenny"),
        seg(79.0, 85.0, "Lenny continues, on two lines.", "Lenny"),
        seg(85.0, 100.0, "A turn with no blank line before it.", "Zoë Example"),
    ]
    no_duration = parse(LENNY_STYLE.replace("duration_seconds: 100.0\n", ""))
    assert no_duration["segments"][-1]["end"] == 85.0


def test_markdown_without_turns_and_bad_front_matter():
    assert parse("---\ntitle: x\n---\n# Notes\n\nAnn: hello\n\nplain\n", "md")["segments"] == [
        seg(None, None, "hello", "Ann"), seg(None, None, "plain", None)]
    with pytest.raises(TranscriptFormatError, match="bad YAML front matter"):
        parse("---\ntitle: [unclosed\n---\nLenny (00:01):\nhi\n", "md")


@pytest.mark.skipif(not LENNY.is_dir(), reason="lenny corpus not present")
def test_all_lenny_transcripts_parse():
    files = sorted(LENNY.glob("*.md"))
    assert len(files) == 40
    datas = [f.read_bytes() for f in files]
    began = time.perf_counter()
    results = [parse(data, filename=f.name) for f, data in zip(files, datas)]
    assert time.perf_counter() - began < 2.0  # about 0.2s here; generous for slow machines
    turn_line = re.compile(r"^[^()\n]{0,80}\(\d+(?::\d\d){1,2}\):", re.M)
    for f, data, result in zip(files, datas, results):
        segments = result["segments"]
        assert len(segments) == len(turn_line.findall(data.decode())), f.name
        speakers = {s["speaker"] for s in segments}
        assert None not in speakers and all(re.fullmatch(r"[A-Za-z][\w' .-]*", s) for s in speakers), f.name
        first_names = {s.split()[0].lower() for s in speakers}
        assert any(name in result["meta"]["guest"].lower() for name in first_names - {"lenny"}), f.name
        assert all(s["text"] and s["start"] <= s["end"] for s in segments), f.name
        assert isinstance(result["meta"]["keywords"], list)


@pytest.mark.skipif(not (LENNY / "claire-vo.md").exists(), reason="lenny corpus not present")
def test_lenny_claire_vo():
    result = parse((LENNY / "claire-vo.md").read_text())
    segments = result["segments"]
    assert result["meta"]["guest"] == "Claire Vo"
    assert result["meta"]["publish_date"] == "2024-04-07"
    assert segments[0]["speaker"] == "Claire Vo" and segments[0]["text"].startswith("People often think")
    assert (segments[0]["start"], segments[0]["end"]) == (0.0, 11.0)
    continued = next(s for s in segments if s["start"] == 79.0)  # the bare (00:01:19): paragraph
    assert continued["speaker"] == "Lenny" and continued["text"].startswith("In our conversation")
    assert segments[-1]["end"] == 5265.0


# Detection and errors common to all formats


@pytest.mark.parametrize("kwargs, expected", [
    ({"content_type": "text/vtt"}, "vtt"),
    ({"content_type": "application/x-subrip"}, "srt"),
    ({"content_type": "application/srt"}, "srt"),
    ({"content_type": "application/json; charset=utf-8"}, "json"),
    ({"content_type": "text/html"}, "html"),
    ({"content_type": "text/markdown"}, "md"),
    ({"content_type": "text/plain"}, "txt"),
    ({"content_type": "text/plain", "filename": "a.srt"}, "srt"),
    ({"content_type": "text/vtt", "filename": "a.srt"}, "vtt"),
    ({"filename": "EP1.VTT"}, "vtt"),
    ({"filename": "https://x.test/t.json?sig=1"}, "json"),
    ({"filename": "t.htm"}, "html"),
    ({"filename": "notes.markdown"}, "md"),
    ({"filename": "t.txt"}, "txt"),
])
def test_detect_format_from_metadata(kwargs, expected):
    assert detect_format("whatever", **kwargs) == expected


@pytest.mark.parametrize("data, expected", [
    ("WEBVTT\n\n00:00.000 --> 00:01.000\nhi", "vtt"),
    ("\n1\n00:00:01,000 --> 00:00:04,000\nhi", "srt"),
    ('  {"version": "1.0.0", "segments": []}', "json"),
    ("<html><body><p>hi</p></body></html>", "html"),
    ("<p>hi</p>", "html"),
    ("<cite>Ann:</cite><time>0:00</time><p>hi</p>", "html"),
    ("---\nguest: x\n---\n", "md"),
    ("Lenny (00:00:11):\nhello", "md"),
    ("[Music] Hello there.\n\nSecond paragraph.", "txt"),
])
def test_detect_format_by_sniffing(data, expected):
    assert detect_format(data) == expected
    assert detect_format(data.encode("utf-8")) == expected


@pytest.mark.parametrize("fmt", ["vtt", "srt", "json", "html", "txt", "md", None])
@pytest.mark.parametrize("data", ["", b"", " \n\n\t", b"\xef\xbb\xbf"])
def test_empty_input_is_a_clear_error(fmt, data):
    with pytest.raises(TranscriptFormatError, match=r"^empty \w+ transcript$"):
        parse(data, fmt)


def test_unknown_format_and_undecodable_bytes():
    with pytest.raises(TranscriptFormatError, match="unknown transcript format 'docx'"):
        parse("hello", "docx")
    result = parse(b"Ann: caf\xe9 \xff ok\n", "txt")
    assert result["segments"] == [seg(None, None, "caf\ufffd \ufffd ok", "Ann")]
