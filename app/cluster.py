"""`main.py process --ray`: many inputs spread over a Ray cluster, one actor per worker loading the models once.

Ray places the actors and moves the data; this module only hands whole inputs to idle actors and reads
their progress. Each actor (ProcessWorker) builds one FrameProcessor and runs every input it gets through
app.process_input.process_input, the function the single-process run uses, so the files are the same.

- Inputs are not split: one input is one unit of work on one actor (tracks need the frames in order;
  a long video on a cluster of short ones finishes last). Inputs must be readable at the same path on
  every node (a shared filesystem); relative paths are taken from the driver's working directory.
- Resources: where the cluster has GPUs and --device is not 'cpu', an actor asks for gpus_per_worker
  GPUs (a fraction lets several actors share one) and cpus_per_worker CPUs for decoding and the person
  detectors; without GPUs it asks for cpus_per_worker CPUs. ONNX Runtime's intra-op threads equal the
  actor's CPUs (PipelineConfig.threads); PyTorch follows OMP_NUM_THREADS, which Ray sets to the same.
  MediaPipe picks its own threads (its Python API has no setting).
- Outputs: the driver writes a marker file into DIR; an actor that sees it at the same path shares the
  filesystem and writes DIR's files itself (TrackRecorder writes them atomically). Any other actor writes
  into a temporary folder of its node and sends the finished files back; the driver writes them into DIR
  atomically (model.atomic).
- Failures: an input whose actor died (crash, lost node) or raised is retried once, on a fresh actor when
  the old one died; a second failure is one line on stderr while the other inputs finish. Input errors
  that the single-process run reports (missing file, not a video, truncated video) come back as reports
  and are not retried. Ctrl-C stops the actors: finished inputs are kept, and `--skip-done` resumes.
- Progress: one tqdm bar in the driver counts the frames of all inputs, fed by the actors' progress events.
"""

import os
import queue
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from tqdm import tqdm

from app.process_input import InputReport, process_input
from app.processor import FrameProcessor, PipelineConfig
from app.sources import SourceError, open_source
from model.atomic import atomic_write_bytes, atomic_write_text
from model.commands import safe_text
from model.errors import one_line

MARKER_PREFIX = ".cascade3d-ray-"
# Test hook: "NAME:N" makes the actor processing input NAME exit hard after N frames on its first attempt
# ("NAME:N:2": on the first two attempts, so the input fails for good).
EXIT_HOOK_VARIABLE = "CASCADE3D_RAY_TEST_EXIT"
PROGRESS_INTERVAL_S = 0.25  # at most this often an actor reports frames (events cost a round trip)


class ClusterError(RuntimeError):
    """Ray cannot start or connect, or no worker can load the models; str() is one line."""


@dataclass(frozen=True)
class RayOptions:
    """Where to run and what each actor asks Ray for."""

    address: str | None = None  # None: start Ray inside this process on this machine; else an existing cluster
    workers: int = 0  # actors; 0 = as many as the cluster's resources hold, at most one per input
    cpus_per_worker: float = 1.0  # CPU cores per actor (also its ONNX Runtime threads)
    gpus_per_worker: float = 1.0  # GPUs per actor where the cluster has GPUs (0.5: two actors share one)
    local_cpus: int | None = None  # cores of a Ray started here; None = all of this machine's
    out_shared: bool | None = None  # None: detect with the marker file; False: always send files back (tests)


@dataclass(frozen=True)
class Job:
    """One input for an actor: its path as given, its file stem in DIR, and which attempt this is (1 or 2)."""

    path: str
    name: str
    attempt: int = 1


@dataclass(frozen=True)
class Progress:
    """An actor's progress on its current input: frames done, and the input's frame count (None: unknown)."""

    frames: int
    total: int | None


@dataclass(frozen=True)
class Finished:
    """An input done by an actor; files: name -> bytes when DIR is not shared with the actor, else empty."""

    report: InputReport
    files: dict


def _exit_hook() -> tuple[str, int, int] | None:
    """(input name, frames, attempts) from EXIT_HOOK_VARIABLE, or None."""
    parts = os.environ.get(EXIT_HOOK_VARIABLE, "").split(":")
    if len(parts) == 2:
        parts.append("1")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2])


class ProcessWorker:
    """A Ray actor: one FrameProcessor, loaded once, for all the inputs it is given.

    cwd: the driver's working directory (inputs given as relative paths resolve from it where it exists).
    marker: name of the driver's marker file in out_dir; seeing it means out_dir is shared with the driver.
    """

    def __init__(self, config: PipelineConfig, out_dir: str, formats: tuple[str, ...], max_frames: int | None,
                 process_kwargs: dict, cwd: str, marker: str, out_shared: bool | None,
                 exit_hook: tuple[str, int, int] | None):
        if os.path.isdir(cwd):
            os.chdir(cwd)
        self.config, self.out_dir, self.formats, self.max_frames = config, out_dir, formats, max_frames
        self.process_kwargs = process_kwargs
        self.shared = os.path.isfile(os.path.join(out_dir, marker)) if out_shared is None else out_shared
        self.exit_hook = exit_hook
        self.error: str | None = None
        self.processor: FrameProcessor | None = None
        try:
            self.processor = FrameProcessor(config)
        except Exception as exc:  # reported by describe(): the driver stops with one line instead of retrying
            self.error = f"{type(exc).__name__}: {one_line(exc)}" if not str(exc) else one_line(exc)

    def describe(self) -> dict:
        """Where this actor runs and what it loaded (or the error that stopped it)."""
        import ray

        return {"error": self.error, "node": ray.util.get_node_ip_address(), "pid": os.getpid(),
                "backend": self.processor.backend_name if self.processor else None,
                "device": self.processor.device if self.processor else None, "shared": self.shared}

    def process(self, job: Job) -> Iterator[Progress | Finished]:
        """Run one input; yields Progress now and then, and Finished last (a Ray streaming generator).

        process_input runs on a thread of its own so that its per-frame callback can feed this generator.
        """
        out_dir = self.out_dir if self.shared else tempfile.mkdtemp(prefix="cascade3d-ray-")
        events: queue.SimpleQueue = queue.SimpleQueue()

        def on_frame(frames: int, total: int | None) -> None:
            if self.exit_hook is not None and self.exit_hook[:2] == (job.name, frames) and job.attempt <= self.exit_hook[2]:
                os._exit(70)  # the test hook: a worker lost mid-input, as a crash or a lost node would
            events.put(Progress(frames, total))

        def work() -> None:
            try:
                events.put(process_input(self.processor, self.config, job.path, out_dir, self.formats, job.name,
                                         self.max_frames, progress=on_frame, **self.process_kwargs))
            except BaseException as exc:  # handed to the generator, which raises it to the driver
                events.put(exc)

        thread = threading.Thread(target=work, name=f"process {job.name}", daemon=True)
        thread.start()
        last_sent = 0.0
        try:
            while True:
                event = events.get()
                if isinstance(event, BaseException):
                    raise event
                if isinstance(event, InputReport):
                    report = event
                    break
                if time.monotonic() - last_sent >= PROGRESS_INTERVAL_S:
                    last_sent = time.monotonic()
                    yield event
            thread.join()
            files = {}
            if not self.shared:
                files = {Path(p).name: Path(p).read_bytes() for p in report.files}
            yield Finished(report, files)
        finally:
            if not self.shared:
                shutil.rmtree(out_dir, ignore_errors=True)

    def close(self) -> None:
        if self.processor is not None:
            self.processor.close()


# How long a cluster address may take to accept a connection: Ray's own client retries a refused address for
# minutes, printing its raw warnings (`--ray 127.0.0.1:1` was still waiting at 180 s).
CONNECT_TIMEOUT_S = 5.0


def check_address(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise ClusterError (one line) unless something accepts a TCP connection at a `host:port` or
    `ray://host:port` address within timeout_s; 'auto' and addresses without a port are left to Ray."""
    host_port = address.removeprefix("ray://")
    if address == "auto" or ":" not in host_port:
        return
    host, _, port = host_port.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise ClusterError(f"--ray {safe_text(address)}: not an address (expected host:port, auto or ray://host:port)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        reason = (f"no answer within {timeout_s:g} s" if isinstance(exc, TimeoutError)
                  else (exc.strerror or one_line(exc)).lower())
        raise ClusterError(f"--ray {safe_text(address)}: no Ray cluster answers there ({reason}); start one with "
                           "`ray start --head` or check the address") from None


def _start_ray(options: RayOptions) -> bool:
    """Connect to (or start) Ray; True when this call started it and so must shut it down."""
    if options.address:
        check_address(options.address)  # before importing Ray: a wrong address is one line within seconds
    try:
        import ray
    except ImportError as exc:
        raise ClusterError(f"--ray needs the ray package (pip install -r requirements-ray.txt): {exc}") from None
    if ray.is_initialized():
        return False  # an embedding program (or a test) started it already
    kwargs = {"include_dashboard": False, "logging_level": "warning"}
    try:
        if options.address:
            ray.init(address=options.address, **kwargs)
        else:
            ray.init(num_cpus=options.local_cpus, **kwargs)
    except Exception as exc:
        where = options.address or "this machine"
        raise ClusterError(f"Ray cannot start on {where}: {one_line(exc)}") from None
    return True


def actor_resources(options: RayOptions, config: PipelineConfig, cluster: dict) -> tuple[dict, int]:
    """(the Ray resources one actor asks for, how many actors the cluster holds) from the cluster's totals."""
    cpus = max(float(options.cpus_per_worker), 0.0)
    gpus = float(options.gpus_per_worker) if cluster.get("GPU", 0) > 0 and config.device != "cpu" else 0.0
    fits = [int(cluster.get("CPU", 1) // cpus)] if cpus > 0 else []
    if gpus > 0:
        fits.append(int(cluster["GPU"] // gpus))
    return {"num_cpus": cpus, "num_gpus": gpus}, max(1, min(fits or [1]))


def _frame_total(path: str, max_frames: int | None) -> int:
    """Frames the bar expects from an input (0 when it cannot be opened here or its length is unknown)."""
    try:
        source = open_source(os.path.join(".", path) if path.isdigit() else path)
    except (SourceError, OSError):
        return 0
    total = source.frame_count
    source.close()
    return min(total, max_frames) if max_frames and total else (total or 0)


def process_on_ray(jobs: list[tuple[str, str]], out_dir: str, formats: tuple[str, ...], config: PipelineConfig,
                   max_frames: int | None, options: RayOptions,
                   on_report: Callable[[InputReport], None] = lambda report: None,
                   process_kwargs: dict | None = None) -> tuple[list[InputReport], bool]:
    """Process (path, name) inputs on Ray into out_dir; returns (one report per input, interrupted).

    on_report is called in the driver as each input finishes (or fails for good); process_kwargs go to
    app.process_input.process_input as the single-process run passes them (bvh_frame). Raises ClusterError
    (one line) when Ray cannot start or the workers cannot load the models.
    """
    import ray
    from ray.exceptions import RayError, RayTaskError

    started = time.perf_counter()
    started_here = _start_ray(options)
    out_dir = os.path.abspath(out_dir)
    marker = f"{MARKER_PREFIX}{uuid.uuid4().hex}"
    atomic_write_text(os.path.join(out_dir, marker), "a `main.py process --ray` run writes here\n")
    resources, fits = actor_resources(options, config, ray.cluster_resources())
    count = max(1, min(options.workers or fits, len(jobs)))
    threads = max(1, int(resources["num_cpus"]))
    worker_config = replace(config, threads=threads)
    # Workers import this project: on a cluster it must sit at the same path on every node (README).
    project = str(Path(__file__).resolve().parents[1])
    python_path = os.pathsep.join(p for p in (project, os.environ.get("PYTHONPATH", "")) if p)
    actor_class = ray.remote(ProcessWorker).options(
        max_restarts=0, runtime_env={"env_vars": {"PYTHONPATH": python_path}}, **resources)
    arguments = (worker_config, out_dir, formats, max_frames, dict(process_kwargs or {}), os.getcwd(), marker,
                 options.out_shared, _exit_hook())

    reports: dict[str, InputReport] = {}
    actors: list = []
    interrupted = False
    bar = None
    try:
        actors = [actor_class.remote(*arguments) for _ in range(count)]
        described = ray.get([a.describe.remote() for a in actors])
        errors = {d["error"] for d in described if d["error"]}
        if errors:
            raise ClusterError(sorted(errors)[0])
        nodes = sorted({d["node"] for d in described})
        tqdm.write(f"ray: {count} workers ({described[0]['backend']} on {described[0]['device']}, "
                   f"{resources['num_cpus']:g} CPU + {resources['num_gpus']:g} GPU each) on {len(nodes)} node(s), "
                   f"ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        totals = {name: _frame_total(path, max_frames) for path, name in jobs}
        bar = tqdm(total=sum(totals.values()) or None, unit="frame", dynamic_ncols=True, mininterval=0.5,
                   file=sys.stderr, desc=f"0/{len(jobs)} inputs")
        pending = deque(Job(path, name) for path, name in jobs)
        idle = deque(actors)
        running: dict = {}  # generator -> (actor, job)
        seen: dict[str, int] = {}  # frames counted on the bar per input (taken back when an attempt fails)

        def fail(job: Job, exc: BaseException) -> None:
            bar.update(-seen.pop(job.name, 0))
            if job.attempt == 1:
                tqdm.write(f"{job.path}: worker failed ({one_line(exc)}); retrying", file=sys.stderr)
                pending.appendleft(replace(job, attempt=2))
                return
            report = InputReport(job.path, error=f"{job.path}: failed twice on the cluster ({one_line(exc)})")
            reports[job.name] = report
            on_report(report)

        while pending or running:
            while pending and idle:
                job = pending.popleft()
                actor = idle.popleft()
                running[actor.process.remote(job)] = (actor, job)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for generator in ready:
                actor, job = running[generator]
                try:
                    event = ray.get(next(generator))
                except StopIteration:
                    event = RuntimeError("the worker stopped without a report")
                except RayTaskError as exc:  # raised inside the worker: the actor itself is fine
                    event = exc.cause if isinstance(exc.cause, BaseException) else exc
                except RayError as exc:  # the actor is gone (process died, node lost): a fresh one replaces it
                    del running[generator]
                    ray.kill(actor, no_restart=True)
                    actors.remove(actor)
                    actor = actor_class.remote(*arguments)
                    actors.append(actor)
                    idle.append(actor)
                    fail(job, exc)
                    continue
                if isinstance(event, Progress):
                    bar.update(event.frames - seen.get(job.name, 0))
                    seen[job.name] = event.frames
                    continue
                del running[generator]
                idle.append(actor)
                if isinstance(event, BaseException):
                    fail(job, event)
                    continue
                report = event.report
                if event.files:  # out_dir is not shared with that worker: its files came back here
                    report.files = tuple(str(atomic_write_bytes(os.path.join(out_dir, name), data))
                                         for name, data in event.files.items())
                bar.update(report.frames - seen.pop(job.name, 0))
                reports[job.name] = report
                bar.set_description(f"{len(reports)}/{len(jobs)} inputs")
                on_report(report)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
        for actor in actors:
            ray.kill(actor, no_restart=True)
        try:
            os.remove(os.path.join(out_dir, marker))
        except OSError:
            pass
        if started_here:
            ray.shutdown()
    return [reports[name] for _, name in jobs if name in reports], interrupted
