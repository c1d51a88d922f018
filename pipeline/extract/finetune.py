"""Fine-tuning the sentence encoder for the reranker (training only: needs torch
and transformers, which the diarize extra installs; never used at run time).

The reranker's encoder is all-MiniLM-L6-v2 with low-rank adapters (LoRA) on
every matrix of its six layers, trained together with one linear head on the
span's pooled vector to say whether an editor could use the span. Only the
adapters and the head are learnt (about 330,000 numbers against the encoder's
22 million); they ship in ``reranker.npz`` and are merged into the weights when
the ONNX graph is built (``pipeline.encoder.merge_adapter``), so run time needs
neither torch nor anything downloaded.

Deterministic: fixed seeds, deterministic torch kernels and a fixed thread
count give the same adapter from the same labels on the same machine.
"""
import math

import numpy as np

RANK = 8
ALPHA = 16.0          # LoRA's scale is ALPHA / RANK
EPOCHS = 3
BATCH = 16
LEARNING_RATE = 5e-4
WARMUP_STEPS = 30
THREADS = 2
# the adapted matrices of each layer, by their names in model.safetensors
ADAPTED = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")
POOLED_SCALE = 10.0   # the head sees 10 x the unit vector: logits of a useful size from the start


def _torch():
    import torch
    from torch import nn
    return torch, nn


def _lora_class():
    torch, nn = _torch()

    class LoRA(nn.Module):
        """A frozen linear layer plus a trainable low-rank change B @ A."""

        def __init__(self, base):
            super().__init__()
            self.base = base
            self.A = nn.Parameter(torch.randn(RANK, base.in_features) * 0.01)
            self.B = nn.Parameter(torch.zeros(base.out_features, RANK))

        def forward(self, x):
            return self.base(x) + (x @ self.A.T @ self.B.T) * (ALPHA / RANK)
    return LoRA


def _module(layer, dotted):
    parent = layer
    *path, last = dotted.split(".")
    for part in path:
        parent = getattr(parent, part)
    return parent, last


def new_model(seed):
    """(encoder with fresh adapters, head), every other weight frozen."""
    torch, nn = _torch()
    from transformers import AutoModel

    from ..encoder import model_dir
    torch.manual_seed(seed)
    encoder = AutoModel.from_pretrained(str(model_dir()))
    for p in encoder.parameters():
        p.requires_grad = False
    LoRA = _lora_class()
    for layer in encoder.encoder.layer:
        for dotted in ADAPTED:
            parent, name = _module(layer, dotted)
            setattr(parent, name, LoRA(getattr(parent, name)))
    return encoder, nn.Linear(384, 1)


def _batch(tokenizer, texts):
    torch, _ = _torch()
    enc = tokenizer.encode_batch(list(texts))
    ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
    return ids, mask


def _pooled(encoder, ids, mask):
    """Mean over real tokens, unit length: what the ONNX graph computes."""
    torch, nn = _torch()
    h = encoder(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
    m = mask.unsqueeze(-1).float()
    return nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)


def train(texts, y, weights, seed=0, log=None):
    """Fit adapters and head on (texts, usable 0/1, weights); returns (encoder, head)."""
    torch, nn = _torch()
    from ..encoder import load_tokenizer, model_dir
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    tokenizer = load_tokenizer(model_dir())
    encoder, head = new_model(seed)
    params = [p for p in encoder.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=LEARNING_RATE, weight_decay=0.01)
    rng = np.random.RandomState(seed)
    y, weights = np.asarray(y, np.float32), np.asarray(weights, np.float32)
    steps = EPOCHS * math.ceil(len(texts) / BATCH)
    step = 0
    encoder.train()
    for epoch in range(EPOCHS):
        order = rng.permutation(len(texts))
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            ids, mask = _batch(tokenizer, [texts[i] for i in idx])
            logit = head(_pooled(encoder, ids, mask) * POOLED_SCALE).squeeze(-1)
            w = torch.from_numpy(weights[idx])
            loss = (nn.functional.binary_cross_entropy_with_logits(
                logit, torch.from_numpy(y[idx]), reduction="none") * w).sum() / w.sum()
            for group in opt.param_groups:  # linear warm-up, then linear decay to zero
                group["lr"] = LEARNING_RATE * min(1.0, (step + 1) / WARMUP_STEPS) * max(0.0, 1 - step / steps)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        if log:
            log(f"  reranker epoch {epoch + 1}/{EPOCHS}: {len(texts)} spans")
    return encoder, head


def score(encoder, head, texts):
    """The head's logit for each text (float64 array)."""
    torch, _ = _torch()
    from ..encoder import load_tokenizer, model_dir
    tokenizer = load_tokenizer(model_dir())
    encoder.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), 64):
            ids, mask = _batch(tokenizer, texts[start:start + 64])
            out.append(head(_pooled(encoder, ids, mask) * POOLED_SCALE).squeeze(-1).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def save(encoder, head, path):
    """The adapters (float16: they are small changes) and the head, as one .npz."""
    arrays = {"scale": np.array(ALPHA / RANK, dtype=np.float32)}
    for i, layer in enumerate(encoder.encoder.layer):
        for dotted in ADAPTED:
            parent, name = _module(layer, dotted)
            lora = getattr(parent, name)
            arrays[f"encoder.layer.{i}.{dotted}.A"] = lora.A.detach().numpy().astype(np.float16)
            arrays[f"encoder.layer.{i}.{dotted}.B"] = lora.B.detach().numpy().astype(np.float16)
    arrays["head.w"] = (head.weight.detach().numpy()[0] * POOLED_SCALE).astype(np.float32)
    arrays["head.b"] = head.bias.detach().numpy().astype(np.float32)
    write_npz(path, arrays)


def write_npz(path, arrays):
    """np.savez with a fixed time stamp on every member, so that the same arrays
    give the same bytes (np.savez stamps the current time)."""
    import io
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[name]), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue(),
                        compress_type=zipfile.ZIP_DEFLATED)
