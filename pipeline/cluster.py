"""Executors for the heavy per-episode work: in this process, or on a Dask cluster.

A stage prepares one plain-data job per episode on the machine that owns the
database (``transcribe.whisper_job``, ``speakers.diarize_job``,
``extract.stage.extraction_job``), an executor runs a pure function on it
(``transcribe.run_whisper``, ``speakers.run_diarize``,
``extract.extract_items``), and the stage saves each result with the same
save function and transaction as ever. Only this process opens SQLite.

Results come back in the order the jobs went out: naming voices learns
voice prints from earlier episodes of a feed, so saving in episode order
gives the same database as a local run. At most ``window`` jobs are out at
once, so 10,000 queued episodes cost the coordinator a few rows of memory,
not 10,000 audio files.

Audio reaches a worker as a URL it downloads itself (checked against the
SHA-256 recorded at download) or as the file's bytes from here; see
``DaskExecutor.audio_mode``.
"""
import contextlib
import sys
import tempfile
import uuid
import warnings
from collections import deque
from pathlib import Path

from .errors import ConfigurationError

AUDIO_MODES = ("auto", "url", "bytes")
EXTRA_HINT = "pip install 'podpipe[cluster]'"


class ClusterError(ConfigurationError):
    """No cluster at the address, or the cluster extra is missing."""


class InProcess:
    """Runs each job here, when its result is asked for (the local path)."""

    description = "in this process"

    def map(self, fn, pairs, **local_kwargs):
        """(tag, outcome) for each (tag, job): ``outcome()`` runs ``fn(job, **local_kwargs)``
        (None for a None job)."""
        for tag, job in pairs:
            yield tag, (lambda job=job: fn(job, **local_kwargs) if job is not None else None)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"running on a cluster needs the cluster extra: {EXTRA_HINT}") from None
    return distributed


def connect(address, timeout=10):
    """A Dask client for the scheduler at ``address`` (tcp://HOST:8786)."""
    distributed = _import_distributed()
    try:
        return distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {' '.join(str(exc).split())}") from None


# Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off
# glibc's adaptive mmap threshold: Whisper's large arrays then go back to the
# kernel and are faulted in again on every use, 9x the page faults and +50% CPU
# per audio second (bench/cluster.py). We leave glibc's default on our workers;
# for `dask worker` the same is a line of Dask config (docs/scale.md).
WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def start_local(workers=2, *, port=8786, dashboard=":8787"):
    """A LocalCluster of ``workers`` processes with one thread each, for trying it on one machine."""
    distributed = _import_distributed()
    import dask

    try:
        with dask.config.set(WORKER_CONFIG):
            return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            scheduler_port=port, dashboard_address=dashboard)
    except OSError as exc:
        raise ClusterError(f"cannot start a local cluster on port {port}: {exc.strerror or exc}") from None


# --- on the worker ------------------------------------------------------------------

_task_threads = {}


def task_threads():
    """The CPU threads one task should use, or None outside a Dask worker (then
    the models use every core this process may use, as locally).

    On a worker: the host's cores shared among all the Dask threads on that
    host, at least one. Two 1-thread workers on 2 cores get 1 each, not 2
    (4 Whisper threads on 2 cores only fight); ``dask worker --nworkers 4
    --nthreads 1`` on 8 cores gets 2 each. Asked of the scheduler once per
    worker process, when its first task runs (the workers are up by then).
    """
    distributed = sys.modules.get("distributed")  # not imported: surely not a worker
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:  # not in a worker
        return None
    if worker.address not in _task_threads:
        from distributed.comm import get_address_host

        from .asr import available_cores

        host = get_address_host(worker.address)
        workers = distributed.get_client().scheduler_info(n_workers=-1)["workers"]
        threads_here = sum(w["nthreads"] for a, w in workers.items() if get_address_host(a) == host)
        _task_threads[worker.address] = max(1, available_cores() // max(threads_here, worker.state.nthreads))
    return _task_threads[worker.address]


# --- audio on the worker -----------------------------------------------------------

def audio_source(episode):
    """Where an episode's audio is, as plain data a worker can use."""
    return {"path": episode["audio_path"], "url": episode.get("enclosure_url"),
            "sha256": episode.get("audio_sha256"), "data": None, "fetch": False}


@contextlib.contextmanager
def local_audio(source):
    """A path to the audio of ``audio_source`` on this machine: the file itself, or
    the shipped bytes or the downloaded enclosure in a temporary folder, under the
    coordinator's file name so that error messages read as they do locally."""
    from .asr import AudioError

    if source["data"] is None and not source["fetch"]:
        yield source["path"]
        return
    with tempfile.TemporaryDirectory(prefix="podpipe-audio-") as tmp:
        path = Path(tmp) / Path(source["path"]).name
        if source["data"] is not None:
            path.write_bytes(source["data"])
        else:
            from .download import DownloadError, download_file
            from .http_client import FetchError, make_client

            with make_client(timeout=60.0) as client:
                try:
                    result = download_file(source["url"], path, client=client)
                except (DownloadError, FetchError) as exc:
                    raise AudioError(f"cannot download {source['url']} on the worker: {exc}") from None
            if source["sha256"] and result.sha256 != source["sha256"]:
                raise AudioError(f"{path.name} downloaded on the worker differs from the recorded one "
                                 "(SHA-256); download it again or use --audio-to-workers bytes")
        yield str(path)


def can_fetch(url):
    """True when this machine (a worker) can reach ``url`` (a HEAD request)."""
    from .http_client import make_client

    try:
        with make_client(timeout=10.0) as client:
            return client.head(url).status_code < 400
    except Exception:  # any failure to reach it means: send the bytes instead
        return False


def _with_data(fn, job, data):
    job["audio"] = {**job["audio"], "data": data}
    return fn(job)


# --- Dask ---------------------------------------------------------------------------

class DaskExecutor:
    """Runs jobs as Dask tasks, at most ``window`` at a time, results in order.

    A worker killed mid-task is the scheduler's business: it runs the task
    again on another worker. An exception raised by the job itself (a corrupt
    file) comes back from ``outcome()`` as it would locally.
    """

    def __init__(self, client, *, audio="auto", window=None, notify=None):
        if audio not in AUDIO_MODES:
            raise ClusterError(f"audio to workers must be one of {', '.join(AUDIO_MODES)}, not {audio!r}")
        self.client = client
        self.audio = audio
        self.notify = notify or (lambda line: None)
        threads = sum(client.nthreads().values()) or 1
        # enough queued on each worker that it never waits for us between tasks
        self.window = window or 2 * threads + 2
        self._mode = None

    @property
    def description(self):
        link = self.client.dashboard_link
        return (f"Dask cluster at {self.client.scheduler.address} "
                f"({len(self.client.nthreads())} workers){f', dashboard {link}' if link else ''}")

    def audio_mode(self, source):
        """("url" or "bytes", why), decided once per executor from the first episode."""
        if self._mode is None:
            url = source.get("url") or ""
            if self.audio != "auto":
                self._mode = (self.audio, "as asked")
            elif not url.startswith(("http://", "https://")):
                self._mode = ("bytes", "the enclosures are not web URLs")
            elif not source.get("sha256"):
                self._mode = ("bytes", "no SHA-256 recorded to check a worker's download against")
            elif self.client.submit(can_fetch, url, pure=False).result():
                self._mode = ("url", f"a worker reached {url}")
            else:
                self._mode = ("bytes", f"the workers cannot reach {url}")
            self.notify(f"audio to workers: {self._mode[0]} ({self._mode[1]})")
        return self._mode[0]

    def _submit(self, fn, job):
        if job is None:
            return None
        # named for the dashboard: run_whisper-episode-12-...
        key = f"{fn.__name__}-episode-{job.get('episode_id')}-{uuid.uuid4().hex[:8]}"
        source = job.get("audio")
        if source is None:
            return self.client.submit(fn, job, key=key)
        if self.audio_mode(source) == "url":
            return self.client.submit(fn, {**job, "audio": {**source, "fetch": True}}, key=key)
        try:
            data = Path(source["path"]).read_bytes()
        except OSError:
            data = None  # the worker meets the missing file and says so, as a local run would
        if data is None:
            return self.client.submit(fn, job, key=key)
        # Inline, not scattered: the scheduler keeps a task's arguments until it is
        # done, so a worker killed mid-task loses nothing (scattered bytes live on
        # one worker and die with it). That costs the scheduler up to ``window``
        # audio files of memory, and Dask a warning we expect.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sending large graph")
            return self.client.submit(_with_data, fn, job, data, key=key)

    def map(self, fn, pairs, **_local_kwargs):
        """(tag, outcome) for each (tag, job), in order; ``outcome()`` waits for the
        task and returns its result or raises its exception. Close the generator
        (``contextlib.closing``) to cancel what is still out."""
        out, handed = deque(), []
        try:
            for tag, job in pairs:
                out.append((tag, self._submit(fn, job)))
                while len(out) >= self.window:
                    yield self._pop(out, handed)
            while out:
                yield self._pop(out, handed)
        finally:
            # the one the caller was waiting on (Ctrl-C inside outcome()) and the rest
            futures = [f for _, f in out if f is not None] + [f for f in handed[-1:] if not f.done()]
            if futures:
                self.client.cancel(futures)

    @staticmethod
    def _pop(out, handed):
        tag, future = out.popleft()
        if future is None:
            return tag, (lambda: None)
        handed.append(future)
        del handed[:-1]
        return tag, future.result


def executor_for(address=None, *, audio="auto", notify=None):
    """An executor: in this process without an address, else on the Dask cluster there."""
    if not address:
        return InProcess()
    return DaskExecutor(connect(address), audio=audio, notify=notify)
