"""Speaker diarization and naming: clustering, assignment and naming on
synthetic voices (numpy only), the database side (corrections, voice prints),
and one end-to-end run on real espeak-ng audio with the diarize extra."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import CORPUS, FIXTURES, build_corpus
from pipeline import diarize, speakers
from pipeline.cli import cli
from pipeline.db import open_db
from pipeline.diarize import Diarization, assign_speakers, cluster, frame_turns, regions_from_flags, window_spans
from pipeline.speakers import name_voices

needs_extra = pytest.mark.skipif(not diarize.available(), reason="needs the diarize extra")
needs_audio_tools = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("ffmpeg")),
                                       reason="needs espeak-ng and ffmpeg")

rng = np.random.default_rng(7)


def voice():
    """A made-up speaker: a positive unit vector, like resemblyzer's embeddings."""
    return diarize._normalize(np.abs(rng.normal(size=256)))


def windows(center, n, noise=0.9):
    """n window embeddings of one voice, about 0.8 cosine to each other as real ones are."""
    return diarize._normalize(center + noise * diarize._normalize(rng.normal(size=(n, 256))))


# --- audio to turns ------------------------------------------------------------------

def test_regions_close_short_pauses_and_drop_clicks():
    # a 0.09 s pause joins, a 0.6 s one splits, 60 ms of "speech" is a click
    flags = [1] * 10 + [0] * 3 + [1] * 10 + [0] * 20 + [1] * 2 + [0] * 20 + [1] * 5
    assert regions_from_flags(flags, 0.03) == [(0.0, 0.69), (1.95, 2.1)]
    assert regions_from_flags([1] * 5 + [0] + [1] * 5 + [0] * 20 + [1], 0.03) == [(0.0, 0.33)]


def test_windows_stay_inside_their_region():
    spans = window_spans([(0.0, 1.2), (2.0, 4.2), (5.0, 5.2)])
    assert spans == [(0.0, 1.2), (2.0, 3.5), (2.5, 4.0), (2.7, 4.2)]


def test_fixed_number_of_speakers_separates_two_voices():
    a, b = voice(), voice()
    x = np.vstack([windows(a, 40), windows(b, 25)])
    labels = cluster(x, n_speakers=2)
    assert list(labels) == [0] * 40 + [1] * 25


@pytest.mark.parametrize("n", [1, 2, 3])
def test_number_of_speakers_is_estimated(n):
    x = np.vstack([windows(voice(), 30 + 10 * i) for i in range(n)])
    assert cluster(x).max() + 1 == n
    assert cluster(x, max_speakers=2).max() + 1 == min(n, 2)


def test_an_odd_window_is_not_a_speaker_of_its_own():
    a, b = voice(), voice()
    x = np.vstack([windows(a, 40), windows(b, 40), windows(voice(), 1, noise=0.2)])
    labels = cluster(x)
    assert labels.max() + 1 == 2
    assert len(set(labels[:40])) == 1 and len(set(labels[40:80])) == 1


def test_frame_turns_follow_the_voices():
    a, b = voice(), voice()
    regions = [(0.0, 4.0), (4.5, 8.0)]
    spans = window_spans(regions)
    emb = np.vstack([windows(a if s < 4.2 else b, 1) for s, _ in spans])
    turns = frame_turns(regions, spans, emb, np.vstack([a, b]), 8.0)
    assert turns == [(0.0, 4.0, 0), (4.5, 8.0, 1)]


def test_diarize_embeddings_numbers_voices_by_first_appearance():
    a, b = voice(), voice()
    regions = [(0.0, 3.0), (3.5, 9.0), (9.5, 12.0)]
    spans = window_spans(regions)
    emb = np.vstack([windows(b if 3.2 < s < 9.2 else a, 1) for s, _ in spans])
    result = diarize.diarize_embeddings(regions, spans, emb, 12.0, n_speakers=2)
    assert result.turns == [(0.0, 3.0, 0), (3.5, 9.0, 1), (9.5, 12.0, 0)]
    assert result.seconds == {0: 5.5, 1: 5.5}
    assert float(result.centroids[0] @ a) > 0.9


# --- turns onto segments ------------------------------------------------------------------

def words(*spec):
    return [{"start": s, "end": e, "word": w} for w, s, e in spec]


def test_a_segment_is_split_where_its_words_change_speaker():
    seg = {"start": 0.0, "end": 4.0, "text": "How do you start? With customers, always.",
           "words": words(("How", 0.0, 0.3), ("do", 0.3, 0.5), ("you", 0.5, 0.7), ("start?", 0.7, 1.2),
                          ("With", 1.6, 1.9), ("customers,", 1.9, 2.6), ("always.", 2.7, 3.4))}
    # the voice change comes a word late by the frame clock: it moves to the sentence end
    turns = [(0.0, 1.9, 0), (1.9, 3.5, 1)]
    out = assign_speakers([seg], turns)
    assert [(s["text"], s["start"], s["end"], s["speaker_label"], s["speaker_purity"]) for s in out] == [
        ("How do you start?", 0.0, 1.2, 0, 1.0),
        ("With customers, always.", 1.6, 3.4, 1, 0.824),
    ]


def test_a_sentence_cut_across_segments_goes_back_together():
    # Whisper ended the host's segment with the guest's first word, and
    # stretched that word back over the pause into the host's turn
    segs = [{"start": 26.6, "end": 29.4, "text": "Who is it for? We",
             "words": words(("Who", 26.6, 27.0), ("is", 27.0, 27.3), ("it", 27.3, 27.6), ("for?", 27.6, 28.5),
                            ("We", 28.5, 29.4))},
            {"start": 29.4, "end": 31.0, "text": "interview ten customers.",
             "words": words(("interview", 29.4, 29.9), ("ten", 29.9, 30.3), ("customers.", 30.3, 31.0))}]
    out = assign_speakers(segs, [(26.6, 28.9, 0), (29.25, 31.0, 1)])
    assert [(s["text"], s["start"], s["end"], s["speaker_label"]) for s in out] == [
        ("Who is it for?", 26.6, 28.5, 0), ("We interview ten customers.", 28.5, 31.0, 1)]


def test_split_text_is_rebuilt_from_word_pieces():
    assert diarize.join_words(words(("An", 0, 1), ("out", 1, 2), ("-of", 2, 3), ("-band", 3, 4), ("idea", 4, 5),
                                    ("isn", 5, 6), ("'t", 6, 7), ("bad.", 7, 8))) == "An out-of-band idea isn't bad."


def test_every_one_to_one_mapping_once():
    assert sorted(speakers._mappings(["A", "B"], [1, 2]), key=str) == sorted(
        [(1, 2), (2, 1), (1, None), (None, 1), (2, None), (None, 2), (None, None)], key=str)
    assert sorted(speakers._mappings(["A", "B", "C"], [1]), key=str) == sorted(
        [(1, None, None), (None, 1, None), (None, None, 1), (None, None, None)], key=str)


def test_a_lone_word_of_another_voice_is_noise():
    seg = {"start": 0.0, "end": 3.0, "text": "We ship every single week.",
           "words": words(("We", 0.0, 0.3), ("ship", 0.3, 0.6), ("every", 0.6, 0.9), ("single", 0.9, 1.1),
                          ("week.", 1.1, 1.5))}
    out = assign_speakers([seg], [(0.0, 0.8, 1), (0.8, 1.05, 0), (1.05, 2.0, 1)])
    assert [(s["text"], s["speaker_label"]) for s in out] == [("We ship every single week.", 1)]


def test_segments_without_words_take_the_voice_they_overlap_most():
    segs = [{"start": 0.0, "end": 2.0, "text": "Hi."}, {"start": 5.0, "end": 6.0, "text": "Far away."},
            {"start": 2.5, "end": 3.0, "text": "Near."}]
    out = assign_speakers(segs, [(0.0, 0.5, 0), (0.5, 2.2, 1)])
    assert [(s["speaker_label"], s["speaker_purity"]) for s in out] == [(1, 0.75), (None, 0.0), (1, 0.5)]


# --- naming ----------------------------------------------------------------------------

HOST = {"person_id": 1, "name": "Sam Okafor", "role": "host"}
GUEST = {"person_id": 2, "name": "Corie Miller", "role": "guest"}


def test_intro_cues_and_names_say_who_is_who():
    voices = {
        "SPEAKER_0": {"text": "Welcome to the show. My guest today is Corey Miller. Corey, what do you do?",
                      "seconds": 10.0},
        "SPEAKER_1": {"text": "Thanks for having me. I build products for young women in tech.", "seconds": 30.0},
    }
    named = name_voices(voices, [HOST, GUEST])
    assert {k: (v["name"], v["method"]) for k, v in named.items()} == {
        "SPEAKER_0": ("Sam Okafor", "intro-cue+questions+talk-time"),
        "SPEAKER_1": ("Corie Miller", "intro-cue+name-said+questions+talk-time"),
    }
    assert all(v["confidence"] > 0.99 for v in named.values())


def test_weak_evidence_says_so():
    voices = {"SPEAKER_0": {"text": "Yes.", "seconds": 10.0}, "SPEAKER_1": {"text": "No.", "seconds": 11.0}}
    # only talk time: named, with a low confidence that says so
    named = name_voices(voices, [HOST, GUEST])
    assert {k: (v["name"], v["confidence"], v["method"]) for k, v in named.items()} == {
        "SPEAKER_0": ("Sam Okafor", 0.622, "talk-time"), "SPEAKER_1": ("Corie Miller", 0.622, "talk-time")}
    # two hosts and no evidence at all: a coin toss, so nobody is named
    cohost = {"person_id": 3, "name": "Ana Lima", "role": "host"}
    named = name_voices(voices, [HOST, cohost])
    assert {k: (v["name"], v["confidence"], v["method"]) for k, v in named.items()} == {
        "SPEAKER_0": (None, 0.5, "diarize"), "SPEAKER_1": (None, 0.5, "diarize")}
    # nobody listed in the feed: voices stay unknown
    assert {v["name"] for v in name_voices(voices, []).values()} == {None}


def test_a_name_that_whisper_drops_into_the_guests_lines_does_not_fool_us():
    # Whisper heard "them" as "Mendes" twice in the guest's answers
    voices = {
        "SPEAKER_0": {"text": "Rafael Mendes is a principal product manager. Rafael, how much time?", "seconds": 12},
        "SPEAKER_1": {"text": "Less than most think. I look at Mendes once a quarter. Copying Mendes is bad.",
                      "seconds": 40},
    }
    guest = {"person_id": 2, "name": "Rafael Mendes", "role": "guest"}
    named = name_voices(voices, [HOST, guest])
    assert named["SPEAKER_1"]["name"] == "Rafael Mendes" and named["SPEAKER_1"]["confidence"] > 0.95


def test_a_voiceprint_names_the_host_without_any_cue():
    host_voice, guest_voice = voice(), voice()
    voices = {"SPEAKER_0": {"text": "Let us begin.", "seconds": 20.0, "embedding": guest_voice},
              "SPEAKER_1": {"text": "Sure.", "seconds": 20.0, "embedding": host_voice}}
    named = name_voices(voices, [HOST, GUEST], voiceprints={1: windows(host_voice, 1, noise=0.3)[0]})
    assert (named["SPEAKER_1"]["name"], named["SPEAKER_0"]["name"]) == ("Sam Okafor", "Corie Miller")
    assert named["SPEAKER_1"]["method"].startswith("voiceprint") and named["SPEAKER_1"]["confidence"] > 0.95


def test_an_editors_choice_is_kept_and_the_rest_follows():
    voices = {"SPEAKER_0": {"text": "Welcome to the show.", "seconds": 5.0},
              "SPEAKER_1": {"text": "Thanks.", "seconds": 50.0}}
    named = name_voices(voices, [HOST, GUEST], fixed={"SPEAKER_0": {"person_id": 2, "name": "Corie Miller"}})
    assert named["SPEAKER_0"] == {"person_id": 2, "name": "Corie Miller", "confidence": 1.0, "method": "editor"}
    assert named["SPEAKER_1"]["name"] == "Sam Okafor"


def test_speaker_count_from_the_feed():
    assert speakers.speaker_count([HOST, GUEST]) == (2, None)
    assert speakers.speaker_count([HOST, GUEST], max_speakers=1) == (1, None)
    # only the host is listed: there may be guests, so we estimate, with at least one voice
    assert speakers.speaker_count([HOST]) == (None, 1)
    assert speakers.speaker_count([]) == (None, None)


# --- the database: corrections, voice prints ---------------------------------------------

def make_episode(db, n, people=((1, "Sam Okafor", "host"), (2, "Corie Miller", "guest"))):
    if not db["feeds"].exists() or not db["feeds"].count:
        db["feeds"].insert({"id": 1, "url": "file:///feed.xml", "title": "PM Talks"})
    db["episodes"].insert({"id": n, "feed_id": 1, "guid": f"ep{n}", "title": f"Episode {n}",
                           "audio_path": "unused.mp3"}, replace=True)
    for pid, name, role in people:
        db["people"].insert({"id": pid, "name": name, "slug": name.lower().replace(" ", "-")}, replace=True)
        db["episode_people"].insert({"episode_id": n, "person_id": pid, "role": role}, replace=True)
    return {**db["episodes"].get(n), "feed_title": "PM Talks"}


SCRIPT = [  # (start, end, voice, text)
    (0.0, 3.0, 0, "Welcome to the show. My guest today is Corie Miller."),
    (3.5, 9.0, 1, "Thanks for having me. Product management is about customers."),
    (9.5, 11.0, 0, "What does your day look like?"),
    (11.5, 16.0, 1, "It depends on where I am in the product lifecycle."),
]


def fake_diarization(monkeypatch, host_voice, guest_voice, swap=False):
    """diarize_audio replaced by turns from SCRIPT; swap numbers the voices the other way round."""
    def fake(audio, **kw):
        order = [guest_voice, host_voice] if swap else [host_voice, guest_voice]
        turns = [(s, e, (v + swap) % 2) for s, e, v, _ in SCRIPT]
        return Diarization(turns=turns, centroids=np.vstack(order), duration=16.0,
                           seconds={0: 7.0, 1: 10.0} if not swap else {0: 10.0, 1: 7.0})
    monkeypatch.setattr(diarize, "diarize_audio", fake)
    monkeypatch.setattr(diarize, "model_name", lambda: "test-encoder")


def segments():
    return [{"start": s, "end": e, "text": t, "words": None} for s, e, _, t in SCRIPT]


def test_attribute_names_segments_and_teaches_a_voiceprint(db, monkeypatch, tmp_path):
    host_voice, guest_voice = voice(), voice()
    fake_diarization(monkeypatch, host_voice, guest_voice)
    episode = make_episode(db, 1)
    out, rows = speakers.attribute(db, episode, segments(), audio=None)
    assert [(s["speaker"], s["speaker_label"], s["speaker_confidence"] > 0.95, s["speaker_method"]) for s in out] == [
        ("Sam Okafor", "SPEAKER_0", True, "intro-cue+questions+talk-time"),
        ("Corie Miller", "SPEAKER_1", True, "intro-cue+name-said+questions+talk-time"),
        ("Sam Okafor", "SPEAKER_0", True, "intro-cue+questions+talk-time"),
        ("Corie Miller", "SPEAKER_1", True, "intro-cue+name-said+questions+talk-time"),
    ]
    speakers.save_labels(db, episode, rows)
    vp = db["voiceprints"].get((1, 1))
    assert (vp["model"], vp["episodes"], vp["seconds"]) == ("test-encoder", "[1]", 7.0)
    assert float(np.frombuffer(vp["embedding"], "<f4") @ host_voice) > 0.999
    assert db["voiceprints"].count == 1  # guests get none: they come and go

    # the next episode of the feed uses it; episode 1 itself never hears its own echo
    episode2 = make_episode(db, 2)
    assert set(speakers.voiceprints_for(db, episode2, speakers.episode_speakers(db, 2), "test-encoder")) == {1}
    assert speakers.voiceprints_for(db, episode, speakers.episode_speakers(db, 1), "test-encoder") == {}
    assert speakers.voiceprints_for(db, episode2, speakers.episode_speakers(db, 2), "other-encoder") == {}


def save_whisper_transcript(db, episode, out, rows, tmp_path):
    from pipeline.transcripts import save_transcript

    with db.atomic():
        speakers.save_labels(db, episode, rows)
        save_transcript(db, episode, out, source="whisper", transcripts_dir=tmp_path / "transcripts")


def test_an_editors_correction_survives_a_rerun(db, db_path, monkeypatch, tmp_path):
    host_voice, guest_voice = voice(), voice()
    fake_diarization(monkeypatch, host_voice, guest_voice)
    episode = make_episode(db, 1)
    out, rows = speakers.attribute(db, episode, segments(), audio=None)
    save_whisper_transcript(db, episode, out, rows, tmp_path)

    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db_path), "speakers", "1", "-t"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2:] == [
        "SPEAKER_0  Sam Okafor    0.992       intro-cue+questions+talk-time            4.5"
        "      Welcome to the show. My guest today is Corie Miller.",
        "SPEAKER_1  Corie Miller  0.992       intro-cue+name-said+questions+talk-time  10.0"
        "     Thanks for having me. Product management is about customers.",
    ]
    # the editor says the second voice is someone else, a person we did not know
    result = runner.invoke(cli, ["--db", str(db_path), "speakers", "1", "--set", "speaker_1=Dana Cruz", "--nl"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines()][1] == {
        "label": "SPEAKER_1", "name": "Dana Cruz", "confidence": 1.0, "method": "editor", "seconds": 10.0,
        "sample": "Thanks for having me. Product management is about customers."}
    assert {r["speaker"] for r in db.query("select speaker from segments where speaker_label = 'SPEAKER_1'")} == {
        "Dana Cruz"}
    vtt = next((tmp_path / "transcripts").rglob("*.vtt")).read_text()
    assert "<v Dana Cruz>Thanks for having me." in vtt

    # diarization runs again and numbers the voices the other way round: the
    # correction follows the voice, not the label
    fake_diarization(monkeypatch, host_voice, guest_voice, swap=True)
    out, rows = speakers.attribute(db, episode, segments(), audio=None)
    by_label = {r["label"]: (r["name"], r["method"], r["edited"]) for r in rows}
    assert by_label == {"SPEAKER_0": ("Dana Cruz", "editor", 1),
                        "SPEAKER_1": ("Sam Okafor", "intro-cue+questions+talk-time", 0)}
    assert [s["speaker"] for s in out] == ["Sam Okafor", "Dana Cruz", "Sam Okafor", "Dana Cruz"]


def test_speakers_command_errors(db, db_path, monkeypatch, tmp_path):
    runner = CliRunner()
    make_episode(db, 1)
    result = runner.invoke(cli, ["--db", str(db_path), "speakers", "1"])
    assert (result.exit_code, result.output) == (1, "Error: episode 1 has no transcript (run 'podpipe transcribe')\n")
    fake_diarization(monkeypatch, voice(), voice())
    episode = make_episode(db, 1)
    out, rows = speakers.attribute(db, episode, segments(), audio=None)
    save_whisper_transcript(db, episode, out, rows, tmp_path)
    result = runner.invoke(cli, ["--db", str(db_path), "speakers", "1", "--set", "SPEAKER_7=Dana Cruz"])
    assert (result.exit_code, result.output) == (
        1, "Error: episode 1 has no speaker SPEAKER_7; its speakers are SPEAKER_0, SPEAKER_1\n")
    result = runner.invoke(cli, ["--db", str(db_path), "speakers", "1", "--set", "Dana Cruz"])
    assert result.exit_code == 2 and "'Dana Cruz' is not LABEL=NAME" in result.output
    # "unknown" takes a name away
    result = runner.invoke(cli, ["--db", str(db_path), "speakers", "1", "--set", "SPEAKER_0=unknown", "--csv"])
    assert result.output.splitlines()[1].startswith("SPEAKER_0,unknown,1.0,editor,")


def test_without_the_extra_transcribe_says_how_to_install_it(monkeypatch, db_path):
    def missing():
        raise diarize.DiarizeUnavailable("no module named 'resemblyzer'")

    monkeypatch.setattr(diarize, "_import_extra", missing)
    assert not diarize.available()
    seen = {}

    def fake_transcribe(db, **options):
        seen.update(options)
        return {"transcribed": 0, "publisher": 0, "whisper": 0, "failed": 0, "errors": []}

    monkeypatch.setattr("pipeline.transcribe.transcribe", fake_transcribe)
    result = CliRunner().invoke(cli, ["--db", str(db_path), "transcribe", "--diarize", "--silent"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "speaker diarization needs the diarize extra: pip install 'podpipe[diarize]'; transcribing without speakers")
    assert seen["diarize"] is False
    result = CliRunner().invoke(cli, ["--db", str(db_path), "diarize"])
    assert (result.exit_code, result.output) == (
        2, "Error: speaker diarization needs the diarize extra: pip install 'podpipe[diarize]'\n")


# --- with the extra -----------------------------------------------------------------------

def test_our_mel_spectrogram_is_resemblyzers():
    """The fixture holds resemblyzer's own features for this signal; calling
    librosa here would cost half a minute of numba compiling on a fresh venv:

        from resemblyzer.audio import wav_to_mel_spectrogram
        mel = wav_to_mel_spectrogram(signal)
    """
    t = np.arange(8000) / 16000
    signal = (0.1 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * (200 + 3000 * t) * t)
              + 0.02 * np.sin(2 * np.pi * 3100 * t)).astype(np.float32)
    theirs = np.array(json.loads((FIXTURES / "resemblyzer_mel.json").read_text())["mel"], dtype=np.float32)
    ours = diarize.mel_spectrogram(signal)
    assert ours.shape == theirs.shape == (51, 40)
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    # quiet audio is raised to -30 dBFS first, as resemblyzer's preprocessing does
    at_minus_30_dbfs = signal * (10 ** (-30 / 20) / np.sqrt(np.mean(signal.astype(np.float64) ** 2)))
    assert np.allclose(diarize.mel_spectrogram(signal / 100), diarize.mel_spectrogram(at_minus_30_dbfs),
                       rtol=1e-3, atol=1e-7)


@needs_extra
def test_silence_has_no_speakers():
    result = diarize.diarize_audio(np.zeros(16000 * 3, dtype=np.float32))
    assert (result.turns, result.n_speakers) == ([], 0)
    assert assign_speakers([{"start": 0.0, "end": 1.0, "text": "Hm."}], result.turns)[0]["speaker_label"] is None


def reference(vtt):
    from pipeline.transcript_formats import parse

    return [(s["start"], s["end"], s["speaker"]) for s in parse(Path(vtt).read_bytes(), "vtt")["segments"]]


@pytest.mark.slow
@needs_extra
@needs_audio_tools
def test_real_interview_gets_the_right_names(tmp_path, db_path):
    """One dev-corpus interview (espeak-ng voices), audio only, through the CLI."""
    if not CORPUS.exists():
        pytest.skip("../shared/corpus is not beside the project")
    out = tmp_path / "corpus"
    build_corpus(out, out.as_uri() + "/", "--no-feed-transcripts", only="d01-corie-miller.yaml")
    runner = CliRunner()
    base = ["--db", str(db_path)]
    assert runner.invoke(cli, base + ["ingest", str(out / "feed.xml")]).exit_code == 0
    assert runner.invoke(cli, base + ["download", "--audio-dir", str(tmp_path / "audio"), "--silent"]).exit_code == 0
    result = runner.invoke(cli, base + ["transcribe", "--diarize", "--model", "tiny.en", "--silent",
                                        "--transcripts-dir", str(tmp_path / "transcripts")])
    assert result.exit_code == 0, result.output
    assert result.output == "1 transcribed (0 from publisher transcripts, 1 by Whisper), 0 failed\n"

    db = open_db(db_path)
    segs = list(db.query("select start, end, text, speaker, speaker_confidence, words from segments order by idx"))
    cues = reference(out / "transcripts" / "d01.vtt")
    right = total = 0
    for seg in segs:
        for w in json.loads(seg["words"]):
            mid = (w["start"] + w["end"]) / 2
            truth = next((spk for s, e, spk in cues if s - 0.2 <= mid <= e + 0.2), None)
            if truth:
                total += 1
                right += seg["speaker"] == truth
    assert right / total >= 0.95
    # no host line credited to the guest
    for s, e, spk in cues:
        if spk == "Sam Okafor":
            said = [seg["speaker"] for seg in segs if min(e, seg["end"]) - max(s, seg["start"]) > 0.5 * (e - s)]
            assert "Corie Miller" not in said, (s, e)
    assert {seg["speaker"] for seg in segs} == {"Sam Okafor", "Corie Miller"}

    result = runner.invoke(cli, base + ["speakers", "1", "--json"])
    rows = {r["label"]: r for r in json.loads(result.output)}
    assert (rows["SPEAKER_0"]["name"], rows["SPEAKER_1"]["name"]) == ("Sam Okafor", "Corie Miller")
    assert "My guest today is" in rows["SPEAKER_0"]["sample"]

    # an editor renames the host; diarizing again keeps it
    runner.invoke(cli, base + ["speakers", "1", "--set", "SPEAKER_0=Samuel Okafor"])
    result = runner.invoke(cli, base + ["diarize", "--episode", "1", "--force", "--silent"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "1 diarized, 0 failed"
    assert {seg["speaker"] for seg in db.query("select speaker from segments")} == {"Samuel Okafor", "Corie Miller"}
    assert db["speaker_labels"].get((1, "SPEAKER_0"))["method"] == "editor"
