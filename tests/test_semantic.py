"""Search by meaning: the embed stage, semantic and hybrid search, similar,
near-duplicates. The end-to-end tests use the real encoder on a real SQLite file."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline import encoder, vectors
from pipeline.cli import cli
from pipeline.embed import passages_of
from pipeline.semantic import fuse
from pipeline.stages import run_stages

from items_fixture import ITEMS, make_db

needs_extra = pytest.mark.skipif(not encoder.available(), reason="needs the extract extra")
REPEAT = {"id": 6, "kind": "tip", "text": "Talk to your customers every single week.", "episode_id": 2,
          "speaker": "Dana Lee", "person_id": 2, "start": 10.0, "end": 12.0, "topics": ["customers"], "score": 0.4,
          "status": "pending"}


def seg(idx, text, speaker="A"):
    return {"idx": idx, "start": float(idx), "end": idx + 1.0, "text": text, "speaker": speaker}


def test_passages_join_one_speaker_and_cut_long_turns():
    long = " ".join(f"Sentence number {n} has a few words in it." for n in range(20))  # 180 words
    got = passages_of([seg(0, "Hi there."), seg(1, "Welcome."), seg(2, "Thanks.", "B"), seg(3, long, "B")])
    assert [(p["first_idx"], p["last_idx"], p["speaker"]) for p in got[:2]] == [(0, 1, "A"), (2, 2, "B")]
    assert got[0]["text"] == "Hi there. Welcome."
    assert [p["first_idx"] for p in got[2:]] == [3, 3, 3, 3]  # about 60 words each, cut at sentence ends
    assert " ".join(p["text"] for p in got[2:]) == long
    assert all(len(p["text"].split()) <= 60 for p in got)


def test_rrf_puts_what_both_lists_find_first():
    fts = [{"id": 1, "snippet": "[a]"}, {"id": 2}, {"id": 3}]
    sem = [{"id": 3}, {"id": 4}, {"id": 1}]
    assert [r["id"] for r in fuse([fts, sem], 10)] == [1, 3, 2, 4]
    assert fuse([fts, sem], 1)[0]["snippet"] == "[a]"  # the FTS row keeps its highlight


def test_pack_keeps_the_direction():
    v = np.random.default_rng(0).standard_normal((5, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert ((vectors.unpack(vectors.pack(v)) * v).sum(axis=1) > 0.999).all()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    path = tmp_path_factory.mktemp("semantic") / "podpipe.db"
    db = make_db(str(path), ITEMS + [REPEAT])
    [result] = run_stages(db, ["embed"])
    return path, db, result


@needs_extra
def test_embed_stores_vectors_once_per_model(embedded, monkeypatch):
    path, db, result = embedded
    assert result.counts == {"episodes": 2, "passages": 3, "items": 6, "duplicates": 1}
    assert {r[0] for r in db.execute("select model from embeddings")} == {vectors.model_tag()}
    assert run_stages(db, ["embed"])[0].counts == {"episodes": 0, "passages": 0, "items": 0, "duplicates": 0}
    # an editor's edit re-embeds that item only
    db["items"].update(3, {"edited_text": "Sketch a prototype before the spec."})
    assert run_stages(db, ["embed"])[0].counts["items"] == 1
    # a new model version re-embeds everything rather than mixing vectors
    monkeypatch.setattr(encoder, "MODEL_VERSION", "test-next")
    assert run_stages(db, ["embed"])[0].counts == {"episodes": 2, "passages": 3, "items": 6, "duplicates": 1}
    monkeypatch.undo()
    run_stages(db, ["embed"])


@needs_extra
def test_semantic_search_finds_by_meaning(embedded):
    path, _, _ = embedded
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", str(path), "search", "--semantic", "how often should I speak with my users",
                              "--nl", "--limit", "2"])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines()]  # stderr says the limit cut the list
    assert {rows[0]["id"], rows[1]["id"]} == {1, 6}
    # hybrid is the default once there are vectors; filters still apply
    out = runner.invoke(cli, ["--db", str(path), "search", "speak with users weekly", "--person", "Dana", "--nl"])
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == [6, 3]
    out = runner.invoke(cli, ["--db", str(path), "search", "--mode", "fts", "speak with users weekly", "--nl"])
    assert out.output == ""
    out = runner.invoke(cli, ["--db", str(path), "search", "--semantic", "sketching before specs", "--kind", "segment",
                              "--nl", "--limit", "1"])
    assert json.loads(out.stdout)["text"].startswith("Prototype before you write the spec")


@needs_extra
def test_similar_and_near_duplicates(embedded, tmp_path):
    path, db, _ = embedded
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", str(path), "similar", "4", "--other-episodes", "--nl", "--limit", "1"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["episode_id"] == 1
    # item 1 and its repeat on another episode are one group; the better-scored one represents it
    assert list(db.query("select item_id, group_id from near_duplicates order by item_id")) == [
        {"item_id": 1, "group_id": 1}, {"item_id": 6, "group_id": 1}]
    out = runner.invoke(cli, ["--db", str(path), "items", "show", "6", "--json"])
    assert json.loads(out.output)[0]["near_duplicates"] == ["1 (kept)"]
    out = runner.invoke(cli, ["--db", str(path), "export", "--format", "jsonl"])
    assert [json.loads(line)["id"] for line in out.output.splitlines()] == [2, 1, 3, 5]
    out = runner.invoke(cli, ["--db", str(path), "similar", "99"])
    assert (out.exit_code, out.output) == (1, "Error: no item 99\n")


def test_semantic_search_without_vectors_says_what_to_do(tmp_path):
    make_db(str(tmp_path / "p.db"))
    out = CliRunner().invoke(cli, ["--db", str(tmp_path / "p.db"), "search", "--mode", "semantic", "customers"])
    assert out.exit_code == 1
    assert out.output == "Error: no item vectors for the current model yet: run 'podpipe embed' first\n"
