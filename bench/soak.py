"""Soak benchmark (not a test): does the app leak memory, threads or files over a long session?

Two parts, each printing resident memory (RSS), threads and open file descriptors of this process:
  live     the live pipeline (app.live.Pipeline, as the GUI runs it: the bundled clip looped, paced in real
           time, or --source: a camera or stream URL; --rtsp-server: a looping RTSP stream served here on
           127.0.0.1 by tests/app/servers/rtsp_server.py) for --minutes, sampled every --interval seconds;
  windows  the app's main window opened on the bundled clip and closed --windows times in a row in this
           process (scripted, offscreen: ScriptedRun(max_frames=5), what `main.py --max-frames 5` does),
           sampled after each close.
Growth per hour is the least-squares slope of the samples after the first (warm-up: caches, lazy
imports, the allocator's arenas), scaled to an hour of running (windows: of opening and closing at
the measured pace). Numbers of a noisy shared machine: read the trend, not the last digit.

    nice -n 10 .venv/bin/python -m bench.soak --minutes 30 --windows 50
    nice -n 10 .venv/bin/python -m bench.soak --parts live --rtsp-server --minutes 30 --interval 30
"""

import argparse
import contextlib
import gc
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from app.sources import DEFAULT_SAMPLE


def sample() -> dict:
    """RSS (MiB), threads (native, from /proc), Python threads and open file descriptors of this process."""
    rss_kib = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
    return {"rss_mib": rss_kib / 1024, "threads": len(os.listdir("/proc/self/task")),
            "py_threads": threading.active_count(), "fds": len(os.listdir("/proc/self/fd"))}


def growth_per_hour(times_s: list[float], values: list[float]) -> float:
    """Least-squares slope of values over time, per hour; 0 with fewer than two points."""
    if len(times_s) < 2 or max(times_s) == min(times_s):
        return 0.0
    return float(np.polyfit(np.asarray(times_s) / 3600.0, np.asarray(values), 1)[0])


def report(name: str, rows: list[tuple[float, dict]]) -> None:
    """Start, end and growth per hour of each quantity; the first row is the warm-up baseline."""
    times = [t for t, _ in rows[1:]]
    print(f"\n{name}: {len(rows)} samples over {rows[-1][0] / 60:.1f} min")
    for key, unit in (("rss_mib", "MiB"), ("threads", ""), ("py_threads", ""), ("fds", "")):
        start, end = rows[0][1][key], rows[-1][1][key]
        slope = growth_per_hour(times, [s[key] for _, s in rows[1:]])
        print(f"  {key:10s} start {start:8.1f} end {end:8.1f} {unit:3s}  growth {slope:+8.1f} {unit}/hour "
              f"(after warm-up)")


@contextlib.contextmanager
def rtsp_server(fps: int = 30):
    """rtsp://127.0.0.1:PORT/live looping the bundled clip's frames (GStreamer, the system Python; as the tests)."""
    import cv2

    with tempfile.TemporaryDirectory() as folder:
        capture, index = cv2.VideoCapture(DEFAULT_SAMPLE), 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            cv2.imwrite(os.path.join(folder, f"{index:05d}.jpg"), cv2.resize(image, (272, 480)))
            index += 1
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        script = Path(__file__).resolve().parents[1] / "tests" / "app" / "servers" / "rtsp_server.py"
        server = subprocess.Popen(["/usr/bin/python3", str(script), folder, str(port), str(fps)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            if server.stdout.readline().strip() != "ready":
                raise SystemExit("the RTSP server did not start (setup.sh's GStreamer packages?)")
            yield f"rtsp://127.0.0.1:{port}/live"
        finally:
            server.kill()
            server.wait()


def soak_live(minutes: float, interval_s: float, source: str = DEFAULT_SAMPLE) -> list[tuple[float, dict]]:
    from app.live import Pipeline
    from app.processor import PipelineConfig

    frames = [0]
    config = PipelineConfig(source=source, loop=True, realtime=True)
    pipeline = Pipeline(config, on_result=lambda result: frames.__setitem__(0, frames[0] + 1))
    pipeline.start()
    start = time.monotonic()
    rows = []
    try:
        while True:
            elapsed = time.monotonic() - start
            rows.append((elapsed, sample()))
            s = rows[-1][1]
            print(f"live {elapsed / 60:5.1f} min  frames {frames[0]:6d}  rss {s['rss_mib']:7.1f} MiB  "
                  f"threads {s['threads']:3d} (python {s['py_threads']})  fds {s['fds']:3d}"
                  + (f"  error: {pipeline.error}" if pipeline.error else ""), flush=True)
            if elapsed >= minutes * 60 or pipeline.error:
                break
            time.sleep(min(interval_s, max(0.0, minutes * 60 - elapsed)))
    finally:
        pipeline.stop()
    gc.collect()
    after = sample()
    print(f"live: {frames[0]} frames ({frames[0] / max(rows[-1][0], 1e-9):.1f} fps); after stop(): "
          f"rss {after['rss_mib']:.1f} MiB, threads {after['threads']}, fds {after['fds']}")
    return rows


def soak_windows(count: int) -> list[tuple[float, dict]]:
    from app.ui.cli import _use_offscreen_if_no_display

    _use_offscreen_if_no_display()
    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)  # cv2 points Qt at its own plugins
    from PyQt6.QtWidgets import QApplication

    from app.processor import PipelineConfig
    from app.ui.main_window import MainWindow, ScriptedRun

    app = QApplication.instance() or QApplication([sys.argv[0]])
    config = PipelineConfig(source=DEFAULT_SAMPLE, loop=False, realtime=True)
    rows = []
    start = time.monotonic()
    for n in range(count):
        window = MainWindow(config, ScriptedRun(max_frames=5), recordings_dir="/tmp/soak-recordings")
        window.show()
        app.exec()
        code = window.exit_code
        window.deleteLater()
        app.processEvents()
        del window
        gc.collect()
        rows.append((time.monotonic() - start, sample()))
        s = rows[-1][1]
        print(f"window {n + 1:3d}  exit {code}  {rows[-1][0]:6.1f} s  rss {s['rss_mib']:7.1f} MiB  "
              f"threads {s['threads']:3d} (python {s['py_threads']})  fds {s['fds']:3d}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="live pipeline duration (default 30)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples (default 60)")
    parser.add_argument("--windows", type=int, default=50, help="app windows opened and closed (default 50)")
    parser.add_argument("--parts", default="live,windows", help="which parts to run (default live,windows)")
    parser.add_argument("--source", default=DEFAULT_SAMPLE, help="live part: the source (default the bundled clip)")
    parser.add_argument("--rtsp-server", action="store_true",
                        help="live part: serve the bundled clip's frames over RTSP on 127.0.0.1 and soak on that")
    args = parser.parse_args()
    parts = args.parts.split(",")
    print(f"start: {sample()}", flush=True)
    if "live" in parts:
        with rtsp_server() if args.rtsp_server else contextlib.nullcontext(args.source) as source:
            print(f"live source: {source}", flush=True)
            report("live pipeline", soak_live(args.minutes, args.interval, source))
    if "windows" in parts:
        rows = soak_windows(args.windows)
        report(f"{args.windows} windows opened and closed", rows)
        per_window = rows[-1][0] / len(rows)
        print(f"  ({per_window:.1f} s per window: an hour is {3600 / per_window:.0f} windows)")
        if len(rows) > 1:
            grown = rows[-1][1]["rss_mib"] - rows[0][1]["rss_mib"]
            print(f"  rss after the first window: {grown:+.1f} MiB over {len(rows) - 1} windows, "
                  f"{grown / (len(rows) - 1):+.2f} MiB per window")


if __name__ == "__main__":
    main()
