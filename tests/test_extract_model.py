"""The trained extractor: candidates, hosts and guests, selection, the cleaned
version, calibration, and the model on real sentences (the real encoder)."""
import json

import numpy as np
import pytest

from pipeline.extract import classify, extract_items, extractor_version
from pipeline.extract.clean import clean_text
from pipeline.extract.model import MODEL_PATH, load_model
from pipeline.extract.selection import select
from pipeline.extract.sentences import candidates, guest_speakers, questioner, sentence_rows
from pipeline.extract.training import auc, fit_logistic


def seg(i, speaker, text, start=None):
    start = float(i * 10) if start is None else start
    return {"id": i, "start": start, "end": start + 10, "text": text, "speaker": speaker}


INTERVIEW = [
    seg(0, "Host", "Welcome to the show. What does a product manager do all day?"),
    seg(1, "Ana", "Mostly I listen. Talk to your customers every single week, even when the roadmap is full. "
                  "It keeps you honest."),
    seg(2, "Host", "And how do you work with engineers? What about design?"),
    seg(3, "Ben", "A roadmap is a list of bets, and the honest ones say what would make you stop."),
    seg(4, "Host", "What would you tell someone starting out? Any last advice?"),
    seg(5, "Ana", "This episode is brought to you by Acme. Go to acme.com for a free trial."),
]


def test_sentence_rows_turns_and_sponsor_reads():
    rows = sentence_rows(INTERVIEW)
    assert [r["turn"] for r in rows] == [0, 0, 1, 1, 1, 2, 2, 3, 4, 4, 5, 5]
    assert [r["ad"] for r in rows][-2:] == [True, True]


def test_the_host_is_who_asks_the_questions_and_every_other_voice_is_a_guest():
    rows = sentence_rows(INTERVIEW)
    assert questioner(rows) == "Host"
    # no host named by the feed: the questioner is the host; both guests are guests
    assert guest_speakers(rows, set()) == {"Ana", "Ben"}
    # the feed names the host: nobody else is taken for one
    assert guest_speakers(rows, {"host"}) == {"Ana", "Ben"}
    assert guest_speakers(sentence_rows(INTERVIEW + [seg(6, "Speaker 2", "Thanks.")]), set()) == {"Ana", "Ben"}


def test_candidates_are_spans_of_one_guest_turn_with_context():
    rows = sentence_rows(INTERVIEW)
    cands = candidates(rows, {"Ana", "Ben"})
    texts = [c["text"] for c in cands]
    assert "Talk to your customers every single week, even when the roadmap is full. It keeps you honest." in texts
    assert "Mostly I listen. Talk to your customers every single week, even when the roadmap is full. " \
           "It keeps you honest." in texts
    assert all(len(t.split()) >= 5 for t in texts)  # "Mostly I listen." alone is too short
    assert not any("acme" in t.lower() for t in texts)  # sponsor reads never
    assert not any("engineers" in t for t in texts)  # the host never
    assert all(c["j"] - c["i"] <= 3 for c in cands)
    talk = next(c for c in cands if c["text"].startswith("Talk"))
    assert talk["context"] == "Mostly I listen." and not talk["turn_start"]


def test_selection_drops_overlaps_and_keeps_the_repeat_said_in_context():
    rows = [{"start": 10.0, "end": 12.0, "text": "a", "turn": 0}, {"start": 400.0, "end": 402.0, "text": "b", "turn": 1},
            {"start": 402.0, "end": 404.0, "text": "c", "turn": 1}]
    cands = [{"i": 0, "j": 1, "start": 10.0, "text": "a"}, {"i": 1, "j": 2, "start": 400.0, "text": "b"},
             {"i": 1, "j": 3, "start": 400.0, "text": "b c"}, {"i": 2, "j": 3, "start": 402.0, "text": "c"}]
    probs = {"tip": np.array([0.1, 0.1, 0.1, 0.1]), "quote": np.array([0.95, 0.9, 0.8, 0.7])}
    same = np.array([[1, 0], [1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)  # 0 and 1 say the same
    kept = select(cands, probs, {"tip": 0.5, "quote": 0.5}, same, rows)
    # the cold open's copy (0) gives way to the line said in the conversation (1);
    # 2 overlaps 1; 3 is new
    assert [k for _, k, _ in kept] == [1, 3]
    assert select(cands, probs, {"tip": 0.5, "quote": 0.5}, same, rows, limit=1)[0][1] == 1


def test_selection_skips_a_span_that_cuts_a_quotation():
    rows = [{"start": 400.0, "end": 402.0, "text": "x", "turn": 0},
            {"start": 402.0, "end": 404.0, "text": "y", "turn": 0}]
    cands = [{"i": 0, "j": 1, "start": 400.0, "text": 'Be okay with mediocrity."'},
             {"i": 1, "j": 2, "start": 402.0, "text": 'They said, \u201cship it\u201d, and we did.'}]
    probs = {"tip": np.array([0.9, 0.1]), "quote": np.array([0.1, 0.8])}
    kept = select(cands, probs, {"tip": 0.5, "quote": 0.5}, np.eye(2, dtype=np.float32), rows)
    assert [k for _, k, _ in kept] == [1]


@pytest.mark.parametrize("said, cleaned", [
    ("And so, um, you know, the the best PMs talk to customers every week.",
     "The best PMs talk to customers every week."),
    ("I think you should- you should write it down, you know, before the meeting.",
     "You should write it down before the meeting."),
    ("But what matters is the team.", "What matters is the team."),
    ("A well-known trade-off is speed.", "A well-known trade-off is speed."),
    # lead-ins said before the point
    ("Yeah, I think that the best PMs write things down.", "The best PMs write things down."),
    ("What that means is you need to master two engines.", "You need to master two engines."),
    ("At the same time, build a flywheel so you can improve.", "Build a flywheel so you can improve."),
    ("Because of this, teams move slower.", "Because of this, teams move slower."),
    ("So many teams skip the research.", "So many teams skip the research."),
    # "No" without its comma is part of the point; a cut that leaves two words is not made
    ("Well, no product market fit is a death sentence.", "No product market fit is a death sentence."),
    ("No, don't work for a chill boss.", "Don't work for a chill boss."),
    ("So I think that ships fast.", "I think that ships fast."),
    ("So I think that that can be a big risk for founders.", "That can be a big risk for founders."),
])
def test_clean_text_removes_fillers_repeats_and_false_starts_only(said, cleaned):
    assert clean_text(said) == cleaned
    # never paraphrased: every word kept was said, in order
    said_words = said.lower().replace(",", "").replace(".", "").split()
    it = iter(said_words)
    assert all(any(w == s.strip("-") for s in it) for w in cleaned.lower().replace(",", "").replace(".", "").split())


def test_fit_logistic_is_deterministic_and_learns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(float)
    w = np.ones(200)
    a, b = fit_logistic(X, y, w, l2=1.0), fit_logistic(X, y, w, l2=1.0)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert auc(X @ a[0], y > 0) > 0.95


def test_the_shipped_model_has_a_card_and_calibrated_heads():
    model = load_model()
    assert model is not None and model["version"] == extractor_version()
    for head in ("usable", "tip_share"):
        assert len(model[head]["w"]) == model["features"] and len(model[head]["calibration"]) == 2
    for kind in ("tip", "quote"):
        assert 0 < model[kind]["threshold"] < 1 and model[kind]["cv"]["auc"] > 0.7
    card = MODEL_PATH.with_name("MODEL_CARD.md").read_text()
    assert model["version"] in card
    assert json.loads(MODEL_PATH.read_text())["encoder"].startswith("all-MiniLM-L6-v2")


def test_the_model_tells_advice_and_insight_from_narration_and_fragments():
    tip = classify("If you're new to product, spend your first month talking to customers before you touch the "
                   "roadmap.")
    quote = classify("The best product managers are wrong a lot, but they look to customers to find a better path.")
    story = classify("Then the draft went to legal, and after that we ran the pilot in two cities.")
    fragment = classify("So you have to get them to sign off on that before it goes anywhere.")
    assert tip["kind"] == "tip" and quote["kind"] == "quote"
    # calibrated: the advice and the insight are likely usable, the story and the fragment are not
    assert story["kind"] == "none" and fragment["score"] < 0.5 < min(tip["score"], quote["score"])
    assert min(tip["score"], quote["score"]) > max(story["score"], fragment["score"])
    # context changes the verdict: a line that leans on what came before
    alone = classify("That's the whole job, really.")
    assert alone["kind"] == "none"


def test_items_come_from_every_guest_never_the_host_or_a_sponsor():
    items = extract_items(INTERVIEW, set(), cap=False)
    speakers = {i["speaker"] for i in items}
    assert speakers <= {"Ana", "Ben"} and "Ben" in speakers and "Ana" in speakers
    for item in items:
        assert 0 <= item["score"] <= 1 and item["clean_text"] and item["features"][0].startswith("model:")
    rules = extract_items(INTERVIEW, {"Host"}, cap=False, extractor="rules")
    assert all(i["features"] and not i["features"][0].startswith("model:") for i in rules)


def test_only_guest_sentences_and_their_context_in_the_turn_are_encoded():
    from pipeline.extract.model import encoded_rows, sentence_embeddings
    rows = sentence_rows(INTERVIEW)
    cands = candidates(rows, {"Ana", "Ben"})
    used = encoded_rows(rows, cands)
    # Ana's and Ben's sentences that a span or its context uses; no host line, no sponsor read
    assert [rows[k]["text"] for k in used] == [
        "Mostly I listen.", "Talk to your customers every single week, even when the roadmap is full.",
        "It keeps you honest.", "A roadmap is a list of bets, and the honest ones say what would make you stop."]
    seen = []
    emb = sentence_embeddings(rows, cands, lambda texts: seen.extend(texts) or np.ones((len(texts), 384), "float32"))
    assert seen == [rows[k]["text"] for k in used]
    assert emb.shape == (len(rows), 384) and emb[used].all() and not emb[[0, 1, 5, 6, 10, 11]].any()


def test_the_reranker_scores_only_the_top_candidates_again():
    model = load_model()
    if "rerank" not in model:
        pytest.skip("the shipped model has no reranker")
    rows = sentence_rows(INTERVIEW)
    cands = candidates(rows, {"Ana", "Ben"})
    from pipeline.extract.model import features, predict, sentence_embeddings
    X = features(cands, rows, sentence_embeddings(rows, cands))
    texts = [c["text"] for c in cands]
    heads = predict(model, X)
    two = predict(model, X, texts, top=2)
    scored = np.flatnonzero(two["tip"] + two["quote"])
    first = np.maximum(heads["tip"], heads["quote"])  # usable x the likelier kind's share
    assert set(scored) == set(np.argsort(-first)[:2])
    every = predict(model, X, texts, top=len(texts))
    # the int8 graph scales activations per batch: a span's score moves a little with its batch's other spans
    assert np.allclose(every["tip"][scored], two["tip"][scored], atol=0.03) and (every["tip"] + every["quote"]).all()


def test_a_fine_tuned_adapter_gives_the_same_scores_in_onnx_as_in_torch(tmp_path):
    """The path a retrained reranker takes to run time: torch training, the
    adapters saved, merged into the ONNX graph, the head applied to its vectors."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from pipeline import encoder
    from pipeline.extract import finetune
    texts = ["Talk to customers every week.", "Yeah.", "A roadmap is a list of bets."] * 6
    enc, head = finetune.train(texts, np.array([1.0, 0.0, 1.0] * 6), np.ones(18), seed=0)
    import torch
    with torch.no_grad():  # a few steps barely move the adapters: move them so that merging shows
        for layer in enc.encoder.layer:
            layer.attention.self.query.B.add_(torch.randn_like(layer.attention.self.query.B) * 0.05)
            layer.output.dense.B.add_(torch.randn_like(layer.output.dense.B) * 0.05)
    in_torch = finetune.score(enc, head, texts[:3])
    finetune.save(enc, head, tmp_path / "reranker.npz")
    finetune.save(enc, head, tmp_path / "again.npz")
    assert (tmp_path / "reranker.npz").read_bytes() == (tmp_path / "again.npz").read_bytes()
    vectors = encoder.Encoder(cache_dir=tmp_path, adapter=tmp_path / "reranker.npz").encode(texts[:3])
    plain = encoder.Encoder(cache_dir=tmp_path).encode(texts[:3])
    with np.load(tmp_path / "reranker.npz") as saved:
        w, b = saved["head.w"], saved["head.b"][0]
    assert np.allclose(in_torch, vectors @ w + b, atol=2e-3)
    assert not np.allclose(in_torch, plain @ w + b, atol=2e-3)  # the adapters took part
