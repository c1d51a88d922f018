"""Speaker diarization: who spoke when, from the audio alone.

A voice activity detector (webrtcvad) cuts the audio into speech regions at
pauses. Windows of 1.5 s inside each region, never across a pause, are
embedded in batches by resemblyzer's voice encoder (its weights ship inside
the wheel; it runs on CPU). The windows are clustered into speakers, every
10 ms frame takes the speaker its windows agree on, and runs of frames become
turns. ``assign_speakers`` then puts the turns on Whisper segments, splitting
a segment where its words change speaker.

Only ``load_encoder`` and ``embed_windows`` need the diarize extra
(pip install 'podpipe[diarize]'); clustering and assignment are numpy.
"""
import re
import threading
import warnings
from dataclasses import dataclass, field

try:
    import numpy as np
except ImportError:  # numpy comes with the diarize extra; diarize._import_extra says which one to install
    np = None

from .errors import ConfigurationError

SAMPLE_RATE = 16000
HOP = 160  # resemblyzer's mel frames are 10 ms apart
FRAME_S = HOP / SAMPLE_RATE
WINDOW_S = 1.5
STEP_S = 0.5
MIN_WINDOW_S = 0.4  # a speech region shorter than this gets no embedding of its own
VAD_FRAME_MS = 30
VAD_MODE = 2
MIN_PAUSE_S = 0.12  # a shorter silence does not split a speech region
MIN_SPEECH_S = 0.09  # a shorter burst of "speech" is a click, not a word
SMOOTH_S = 0.5  # frame scores are averaged over this span inside a region
MAX_SPEAKERS = 6
ENCODER_THREADS = 1
# Estimating the number of speakers: clusters whose centroids are this
# similar (cosine) are one voice, and clusters with less than this share of
# the windows are outliers folded into their nearest neighbour. Measured on
# resemblyzer embeddings; see bench/diarize.py.
MERGE_SIMILARITY = 0.85
MIN_CLUSTER_SHARE = 0.05
EXTRA_HINT = "pip install 'podpipe[diarize]'"
MISSING_EXTRA = f"speaker diarization needs the diarize extra: {EXTRA_HINT}"


class DiarizeUnavailable(ConfigurationError, ImportError):
    """The diarize extra (resemblyzer, torch, webrtcvad) is not installed."""


@dataclass
class Diarization:
    """Who spoke when. Labels are 0..n-1 in order of first appearance."""
    turns: list  # [(start_s, end_s, label)], time-ordered, not overlapping
    centroids: "np.ndarray"  # (n_speakers, dim), L2-normed mean embedding per label
    duration: float
    windows: int = 0
    seconds: dict = field(default_factory=dict)  # label -> seconds of speech

    @property
    def n_speakers(self):
        return len(self.centroids)


# --- the extra --------------------------------------------------------------------

_encoder = None
_lock = threading.Lock()


def _import_extra():
    try:
        with warnings.catch_warnings():
            # webrtcvad imports pkg_resources, which warns on every import
            warnings.simplefilter("ignore")
            import numpy  # noqa: F401
            import torch
            import webrtcvad
            from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise DiarizeUnavailable(f"{MISSING_EXTRA} ({exc})") from None
    return torch, webrtcvad, VoiceEncoder


def model_name():
    """The voice encoder's name and version, stored with voice prints: prints
    from another encoder are not comparable."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return f"resemblyzer-{version('resemblyzer')}"
    except PackageNotFoundError:
        return "resemblyzer"


def available():
    """True when the diarize extra is installed."""
    try:
        _import_extra()
    except DiarizeUnavailable:
        return False
    return True


def load_encoder():
    """resemblyzer's VoiceEncoder on CPU, loaded once per process."""
    global _encoder
    VoiceEncoder = _import_extra()[2]
    with _lock:
        if _encoder is None:
            _encoder = VoiceEncoder("cpu", verbose=False)
            _encoder.eval()
        return _encoder


# --- audio to turns ---------------------------------------------------------------

def speech_regions(audio, *, mode=VAD_MODE):
    """Spans of speech [(start_s, end_s)] from webrtcvad, split at pauses."""
    _, webrtcvad, _ = _import_extra()
    n = VAD_FRAME_MS * SAMPLE_RATE // 1000
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    vad = webrtcvad.Vad(mode)
    flags = np.array([vad.is_speech(pcm[i:i + n].tobytes(), SAMPLE_RATE)
                      for i in range(0, len(pcm) - n + 1, n)], dtype=bool)
    return regions_from_flags(flags, VAD_FRAME_MS / 1000)


def regions_from_flags(flags, frame_s, *, min_pause=MIN_PAUSE_S, min_speech=MIN_SPEECH_S):
    """Runs of True in per-frame flags as [(start_s, end_s)], closing short pauses
    and dropping short bursts."""
    runs, start = [], None
    for i, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            runs.append([start * frame_s, i * frame_s])
            start = None
    merged = []
    for run in runs:
        if merged and run[0] - merged[-1][1] < min_pause:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return [(round(s, 3), round(e, 3)) for s, e in merged if e - s >= min_speech]


def window_spans(regions, *, window=WINDOW_S, step=STEP_S, min_window=MIN_WINDOW_S):
    """Embedding windows [(start_s, end_s)] inside each region, never across one.

    A region shorter than a window is one window of its own length; a longer
    one gets windows every ``step`` with the last one flush with its end.
    """
    spans = []
    for s, e in regions:
        length = e - s
        if length < min_window:
            continue
        if length <= window:
            spans.append((s, e))
            continue
        starts = list(np.arange(s, e - window, step)) + [e - window]
        spans += [(round(float(t), 3), round(float(t) + window, 3)) for t in starts]
    return spans


def embed_windows(audio, spans, *, batch_size=128):
    """One L2-normed voice embedding per span, as an (n, 256) array.

    The whole file's mel spectrogram is computed once and windows of one
    length run through the encoder's LSTM in batches, rather than
    resemblyzer's ``embed_utterance`` computing features once per call.
    """
    torch = _import_extra()[0]
    encoder = load_encoder()
    if not spans:
        return np.zeros((0, 256), dtype=np.float32)
    mel = mel_spectrogram(audio)  # (frames, 40), frame i centred on i * 10 ms
    ranges = [(int(round(s / FRAME_S)), max(int(round(e / FRAME_S)), int(round(s / FRAME_S)) + 1))
              for s, e in spans]
    out = np.zeros((len(spans), 256), dtype=np.float32)
    by_length = {}
    for i, (a, b) in enumerate(ranges):
        by_length.setdefault(min(b, len(mel)) - a, []).append(i)
    # One thread: the LSTM is small, and with two threads on a busy 2-core
    # machine it ran 2-8x slower (bench/diarize.py). Torch's thread count is
    # global, so we put back whatever openai-whisper had set.
    threads = torch.get_num_threads()
    torch.set_num_threads(ENCODER_THREADS)
    try:
        with torch.no_grad():
            for length, idx in by_length.items():
                for k in range(0, len(idx), batch_size):
                    chunk = idx[k:k + batch_size]
                    batch = np.stack([mel[ranges[i][0]:ranges[i][0] + length] for i in chunk])
                    out[chunk] = encoder(torch.from_numpy(batch)).numpy()
    finally:
        torch.set_num_threads(threads)
    return out


# resemblyzer computes its features with librosa, whose first call compiles
# numba code (half a minute on a fresh install, seconds on every new process).
# These few lines give the same numbers (tests/test_diarize.py compares them).
N_FFT = 400  # 25 ms
N_MELS = 40


def _hz_to_mel(f):  # Slaney's scale: linear below 1 kHz, logarithmic above
    f = np.asarray(f, dtype=np.float64)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0),
                    f * 3.0 / 200.0)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (m - 15.0)), m * 200.0 / 3.0)


def mel_filters(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS):
    """Triangular, area-normalised mel filters, as librosa.filters.mel makes them."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))
    ramps = edges[:, None] - freqs[None, :]
    lower = -ramps[:-2] / np.diff(edges)[:-1, None]
    upper = ramps[2:] / np.diff(edges)[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return (weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)


def mel_spectrogram(audio):
    """resemblyzer's input features: a (frames, 40) power mel spectrogram, after
    raising quiet audio to -30 dBFS as its preprocessing does."""
    audio = np.asarray(audio, dtype=np.float32)
    rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2)) if len(audio) else 0.0
    if 0 < rms < 10 ** (-30 / 20):
        audio = audio * np.float32(10 ** (-30 / 20) / rms)
    y = np.pad(audio, N_FFT // 2)
    n_frames = 1 + (len(y) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(y, (n_frames, N_FFT), (y.strides[0] * HOP, y.strides[0]))
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (power @ mel_filters().T).astype(np.float32)


def diarize_audio(audio, *, n_speakers=None, min_speakers=None, max_speakers=MAX_SPEAKERS):
    """Turns and speaker centroids for 16 kHz mono float32 audio.

    ``n_speakers`` fixes the number of speakers (e.g. hosts + guests from the
    feed); otherwise it is estimated, between ``min_speakers`` and ``max_speakers``.
    """
    duration = len(audio) / SAMPLE_RATE
    regions = speech_regions(audio)
    spans = window_spans(regions)
    embeddings = embed_windows(audio, spans)
    return diarize_embeddings(regions, spans, embeddings, duration, n_speakers=n_speakers,
                              min_speakers=min_speakers, max_speakers=max_speakers)


def diarize_embeddings(regions, spans, embeddings, duration, *, n_speakers=None, min_speakers=None,
                       max_speakers=MAX_SPEAKERS):
    """The clustering half of ``diarize_audio``: windows and their embeddings to turns."""
    if len(spans) == 0:
        return Diarization(turns=[], centroids=np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 256)),
                           duration=duration)
    labels = cluster(embeddings, n_speakers=n_speakers, min_speakers=min_speakers, max_speakers=max_speakers)
    centroids = _centroids(embeddings, labels)
    turns = frame_turns(regions, spans, embeddings, centroids, duration)
    # number labels by first appearance, drop any that won no frame
    order = []
    for _, _, lab in turns:
        if lab not in order:
            order.append(lab)
    remap = {old: new for new, old in enumerate(order)}
    turns = [(s, e, remap[lab]) for s, e, lab in turns]
    centroids = centroids[order] if order else centroids[:0]
    seconds = {}
    for s, e, lab in turns:
        seconds[lab] = round(seconds.get(lab, 0.0) + e - s, 3)
    return Diarization(turns=turns, centroids=centroids, duration=duration, windows=len(spans), seconds=seconds)


# --- clustering -------------------------------------------------------------------

def _normalize(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _centroids(embeddings, labels):
    k = int(labels.max()) + 1 if len(labels) else 0
    return np.stack([_normalize(embeddings[labels == c].mean(axis=0)) for c in range(k)]) if k else \
        np.zeros((0, embeddings.shape[1]))


def kmeans(x, k, *, n_init=10, iterations=100, seed=0):
    """Spherical k-means (cosine) with k-means++ starts; returns labels, best of n_init."""
    x = _normalize(x)
    n = len(x)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    best, best_cost = None, np.inf
    for _ in range(n_init):
        centers = [x[rng.integers(n)]]
        for _ in range(1, k):
            d = 1 - np.max(x @ np.array(centers).T, axis=1)
            d = np.clip(d, 0, None) ** 2
            p = d / d.sum() if d.sum() > 0 else np.full(n, 1 / n)
            centers.append(x[rng.choice(n, p=p)])
        centers = np.array(centers)
        labels = None
        for _ in range(iterations):
            new = np.argmax(x @ centers.T, axis=1)
            if labels is not None and np.array_equal(new, labels):
                break
            labels = new
            for c in range(k):
                members = x[labels == c]
                # an emptied cluster restarts at the point worst served
                centers[c] = _normalize(members.mean(axis=0)) if len(members) else \
                    x[np.argmin(np.max(x @ centers.T, axis=1))]
        cost = float(np.sum(1 - np.max(x @ centers.T, axis=1)))
        if cost < best_cost - 1e-9:
            best, best_cost = labels, cost
    return _relabel(best)


def _relabel(labels):
    """Labels renumbered 0..k-1 in order of first appearance, none empty."""
    mapping = {}
    for lab in labels:
        mapping.setdefault(int(lab), len(mapping))
    return np.array([mapping[int(lab)] for lab in labels], dtype=int)


def cluster(embeddings, *, n_speakers=None, min_speakers=None, max_speakers=MAX_SPEAKERS):
    """A speaker label per embedding.

    With ``n_speakers`` we run k-means for exactly that many. Otherwise we
    over-cluster into ``max_speakers`` and merge: clusters whose centroids are
    closer than ``MERGE_SIMILARITY`` are one voice, and a cluster holding
    under ``MIN_CLUSTER_SHARE`` of the windows is folded into its nearest
    neighbour (k-means happily gives a lone odd window its own speaker).
    """
    x = _normalize(embeddings)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n_speakers:
        return kmeans(x, min(n_speakers, n))
    floor = max(1, min(min_speakers or 1, n))
    labels = kmeans(x, max(floor, min(max_speakers, n)))
    while True:
        k = labels.max() + 1
        if k <= floor:
            return labels
        centroids = _centroids(x, labels)
        sizes = np.bincount(labels, minlength=k)
        sim = centroids @ centroids.T
        np.fill_diagonal(sim, -np.inf)
        small = int(np.argmin(sizes))
        if sizes[small] < MIN_CLUSTER_SHARE * n:
            a, b = small, int(np.argmax(sim[small]))
        else:
            a, b = np.unravel_index(int(np.argmax(sim)), sim.shape)
            if sim[a, b] < MERGE_SIMILARITY:
                break
        labels[labels == a] = b
        labels = _relabel(labels)
        # re-fit with the smaller number so that windows move to the right side
        labels = kmeans(x, labels.max() + 1)
    return labels


# --- frames to turns --------------------------------------------------------------

def frame_turns(regions, spans, embeddings, centroids, duration):
    """Turns [(start, end, label)] by scoring every 10 ms frame of speech.

    Each window votes for every speaker with its cosine similarity to that
    speaker's centroid; a frame sums the votes of the windows covering it,
    averaged over ``SMOOTH_S`` so a turn does not flicker.
    """
    x = _normalize(embeddings)
    sims = x @ centroids.T  # (windows, k)
    n_frames = int(np.ceil(duration / FRAME_S)) + 1
    k = len(centroids)
    votes = np.zeros((n_frames, k))
    counts = np.zeros(n_frames)
    for (s, e), sim in zip(spans, sims):
        a, b = int(round(s / FRAME_S)), int(round(e / FRAME_S))
        votes[a:b] += sim
        counts[a:b] += 1
    turns = []
    half = int(SMOOTH_S / FRAME_S) // 2
    for s, e in regions:
        a, b = int(round(s / FRAME_S)), min(int(round(e / FRAME_S)), n_frames)
        if b <= a:
            continue
        v, c = votes[a:b].copy(), counts[a:b]
        if not c.any():  # too short to embed: it goes with the nearest speech that was
            labels = np.full(b - a, -1)
        else:
            v[c > 0] /= c[c > 0, None]
            v = _fill_gaps(v, c > 0)
            cs = np.cumsum(np.vstack([np.zeros((1, k)), v]), axis=0)
            lo = np.clip(np.arange(len(v)) - half, 0, len(v))
            hi = np.clip(np.arange(len(v)) + half + 1, 0, len(v))
            labels = np.argmax((cs[hi] - cs[lo]) / (hi - lo)[:, None], axis=1)
        start = a
        for i in range(1, len(labels) + 1):
            if i == len(labels) or labels[i] != labels[i - 1]:
                turns.append([round(start * FRAME_S, 3), round((a + i) * FRAME_S, 3), int(labels[i - 1])])
                start = a + i
    _fill_unlabelled(turns)
    # join runs of one speaker split only by a pause
    merged = []
    for t in turns:
        if merged and merged[-1][2] == t[2]:
            merged[-1][1] = t[1]
        else:
            merged.append(t)
    return [tuple(t) for t in merged]


def _fill_gaps(v, known):
    """Frames no window covers take the scores of the nearest covered frame."""
    if known.all():
        return v
    idx = np.where(known)[0]
    nearest = idx[np.clip(np.searchsorted(idx, np.arange(len(v))), 0, len(idx) - 1)]
    before = idx[np.clip(np.searchsorted(idx, np.arange(len(v))) - 1, 0, len(idx) - 1)]
    pick = np.where(np.abs(before - np.arange(len(v))) < np.abs(nearest - np.arange(len(v))), before, nearest)
    return v[pick]


def _fill_unlabelled(turns):
    """Turns labelled -1 (regions too short to embed) take their nearest neighbour's label."""
    known = [t for t in turns if t[2] >= 0]
    if not known:
        turns[:] = []
        return
    for t in turns:
        if t[2] < 0:
            mid = (t[0] + t[1]) / 2
            t[2] = min(known, key=lambda o: min(abs(o[0] - mid), abs(o[1] - mid)))[2]


# --- turns onto transcript segments -------------------------------------------------

SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
SNAP_WORDS = 3  # move a speaker change this many words at most, to a sentence end
MAX_GAP_S = 1.0  # a word further than this from any turn gets no speaker


def _overlaps(start, end, turns):
    """Seconds of [start, end] that each label's turns cover."""
    out = {}
    for s, e, lab in turns:
        if e <= start:
            continue
        if s >= end:
            break
        out[lab] = out.get(lab, 0.0) + min(e, end) - max(s, start)
    return out


def _label_at(start, end, turns):
    over = _overlaps(start, end, turns)
    if over:
        return max(over, key=over.get)
    mid = (start + end) / 2
    near = [(min(abs(s - mid), abs(e - mid)), lab) for s, e, lab in turns]
    if near:
        d, lab = min(near)
        if d <= MAX_GAP_S:
            return lab
    return None


def assign_speakers(segments, turns, *, split=True):
    """Segments with a speaker label from the turns that overlap them most.

    Returns new segment dicts, each with ``speaker_label`` (an int, or None
    when no turn is near) and ``speaker_purity`` (the share of its speech
    time that the label's turns cover). A segment with word timestamps whose
    words change speaker is split there, moved to a sentence end when one is
    within a few words (word times are approximate; sentences rarely change
    speaker midway). Words are smoothed over the whole transcript, not
    segment by segment: Whisper sometimes ends a segment with the first word
    of the next speaker's sentence ("...who it is for? We" + "interview ten
    customers"), and such a piece joins the rest of its sentence.
    """
    turns = sorted(turns)
    with_words = [split and _word_timed(seg) for seg in segments]
    stream = [(i, j) for i, seg in enumerate(segments) if with_words[i] for j in range(len(seg["words"]))]
    flat = [segments[i]["words"][j] for i, j in stream]
    word_labels = dict(zip(stream, _smooth_words(flat, [_label_at(w["start"], w["end"], turns) for w in flat])))
    pieces = []
    for i, seg in enumerate(segments):
        if not with_words[i]:
            pieces.append(_labelled(seg, seg.get("words"), turns))
            continue
        words = seg["words"]
        labels = [word_labels[(i, j)] for j in range(len(words))]
        for a, b in _runs(labels):
            part = words[a:b]
            if a == 0 and b == len(words):
                pieces.append(_labelled(seg, words, turns, labels[a]))
            else:
                piece = {**seg, "start": part[0]["start"], "end": part[-1]["end"], "text": join_words(part),
                         "words": part}
                pieces.append({**_labelled(piece, part, turns, labels[a]), "_piece": True})
    return _join_pieces(pieces, turns)


def _word_timed(seg):
    words = seg.get("words") or []
    return bool(words) and all(w.get("start") is not None and w.get("end") is not None for w in words)


def _join_pieces(pieces, turns):
    """A piece cut from a segment joins its neighbour of the same voice when the
    sentence runs on between them; then the helper flag goes."""
    out = []
    for seg in pieces:
        prev = out[-1] if out else None
        if (prev is not None and (prev.get("_piece") or seg.get("_piece"))
                and prev["speaker_label"] is not None and prev["speaker_label"] == seg["speaker_label"]
                and prev.get("words") and seg.get("words") and not SENTENCE_END.search(prev["text"].strip())
                and seg["start"] - prev["end"] <= MAX_GAP_S):
            words = prev["words"] + seg["words"]
            joined = {**prev, "end": seg["end"], "text": f"{prev['text'].strip()} {seg['text'].strip()}",
                      "words": words}
            out[-1] = {**_labelled(joined, words, turns, seg["speaker_label"]), "_piece": False}
            continue
        out.append(seg)
    for seg in out:
        seg.pop("_piece", None)
    return out


def join_words(words):
    """A segment's text from its words: Whisper's word list drops the spaces,
    and a piece like "-of" or "'s" belongs to the word before it."""
    text = ""
    for w in words:
        word = w["word"].strip()
        text += word if not text or word[:1] in "-'’,.?!%)" else " " + word
    return text


def _labelled(seg, words, turns, label=None):
    """seg with speaker_label (``label``, or the voice covering most of its
    words) and speaker_purity (the share of its speech that voice covers)."""
    spans = [(w["start"], w["end"]) for w in words] if words and all(
        w.get("start") is not None for w in words) else [(seg.get("start"), seg.get("end"))]
    totals = {}
    for s, e in spans:
        if s is None or e is None:
            continue
        for lab, sec in _overlaps(s, max(e, s + 0.01), turns).items():
            totals[lab] = totals.get(lab, 0.0) + sec
    if totals:
        label = max(totals, key=totals.get) if label is None else label
        purity = totals.get(label, 0.0) / sum(totals.values())
    elif label is not None:
        purity = 0.5
    else:
        s, e = seg.get("start"), seg.get("end")
        label = _label_at(s, e, turns) if s is not None and e is not None else None
        purity = 0.5 if label is not None else 0.0
    return {**seg, "speaker_label": label, "speaker_purity": round(purity, 3)}


def _smooth_words(words, labels):
    """Word labels with flicker removed and changes moved to sentence ends."""
    labels = list(labels)
    n = len(labels)
    # words no turn reaches take their neighbours' label
    first = next((lab for lab in labels if lab is not None), None)
    for i in range(n):
        if labels[i] is None:
            labels[i] = labels[i - 1] if i else first
    # a lone word (or two, under half a second) of another speaker is noise
    changed = True
    while changed:
        changed = False
        runs = _runs(labels)
        for r, (a, b) in enumerate(runs):
            if len(runs) == 1:
                break
            seconds = words[b - 1]["end"] - words[a]["start"]
            if b - a <= 2 and seconds < 0.5:
                inner = 0 < r < len(runs) - 1
                if inner and labels[a - 1] != labels[b]:
                    continue  # between two other speakers: leave it
                fill = labels[a - 1] if a > 0 else labels[b]
                labels[a:b] = [fill] * (b - a)
                changed = True
                break
    # move each change (before word i) to the nearest sentence end within
    # SNAP_WORDS words, never so far that a neighbouring run disappears
    i = 1
    while i < n:
        if labels[i] != labels[i - 1] and not SENTENCE_END.search(words[i - 1]["word"]):
            run_start, run_end = i - 1, i
            while run_start > 0 and labels[run_start - 1] == labels[i - 1]:
                run_start -= 1
            while run_end < n and labels[run_end] == labels[i]:
                run_end += 1
            ends = [j for j in range(max(run_start + 1, i - SNAP_WORDS), min(run_end, i + SNAP_WORDS + 1))
                    if SENTENCE_END.search(words[j - 1]["word"])]
            if ends:
                j = min(ends, key=lambda j: (abs(j - i), j))
                if j < i:
                    labels[j:i] = [labels[i]] * (i - j)
                else:
                    labels[i:j] = [labels[i - 1]] * (j - i)
                i = max(i, j)
        i += 1
    return labels


def _runs(labels):
    """[(start, end)] index ranges of equal consecutive labels."""
    runs, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((start, i))
            start = i
    return runs
