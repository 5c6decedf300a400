"""Benchmark: the live window (video + 3D view) on a real display: pipeline fps, drawn fps and latency over time.

Opens the app's MainWindow on a source played at its own frame rate (looping), as a user would see it,
samples it once a second for --seconds (after --warmup seconds), and prints the median pipeline rate
(results per second), the rate the window drew, the capture-to-screen latency, and the status line's
last text, which says what limits the rate. Run it under a real X server, e.g.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python -m bench.window --seconds 20

Absolute numbers depend on the machine's load (printed); `--card` runs another model card; `--show bodies` draws
the people in the 3D view as bodies (compare with `--show skeletons` in the same session: issue 25).
"""

import argparse
import os
import statistics
import sys
import time

from app.options import add_pipeline_arguments, pipeline_config, pipeline_problem
from app.quiet import quiet_library_logs
from app.sources import DEFAULT_SAMPLE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=DEFAULT_SAMPLE)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before sampling (models load, 3D view opens)")
    parser.add_argument("--card", help="cascade backend with this model card")
    parser.add_argument("--show", choices=("skeletons", "bodies", "both"), default="skeletons",
                        help="what the 3D view draws of each person (the tool bar's Show box; default %(default)s)")
    add_pipeline_arguments(parser)
    args = parser.parse_args()
    problem = pipeline_problem(args)
    if problem:
        parser.error(problem)
    quiet_library_logs()
    if args.card:
        os.environ["CASCADE3D_CARD"] = args.card
    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)  # cv2 points Qt at its own plugins
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    config = pipeline_config(args, source=args.source, loop=True, realtime=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow(config, None, recordings_dir=os.devnull)
    window.controls.show_combo.setCurrentText(args.show)
    samples: list[tuple[float, float | None, float | None]] = []
    view3d_samples: list[tuple[float, int, float | None]] = []  # (time, 3D images shown so far, render lag ms)
    last_text = [""]

    def sample() -> None:
        fps = window.result_fps()
        if fps is None:
            return
        samples.append((fps, window.drawn_fps(), window.screen_latency_ms))
        view3d_samples.append((time.perf_counter(), window.view3d.images_shown, window.view3d.render_ms))
        last_text[0] = window.status_text()

    def start_sampling() -> None:
        timer.start(1000)
        QTimer.singleShot(int(args.seconds * 1000), window.close)

    timer = QTimer()
    timer.timeout.connect(sample)
    QTimer.singleShot(int(args.warmup * 1000), start_sampling)
    window.show()
    app.exec()
    if not samples:
        print("no results arrived", file=sys.stderr)
        return 1
    fps = statistics.median(s[0] for s in samples)
    drawn = [s[1] for s in samples if s[1] is not None]
    latency = [s[2] for s in samples if s[2] is not None]
    load = os.getloadavg()
    print(f"{os.environ.get('QT_QPA_PLATFORM', 'default')} platform, {len(samples)} samples over {args.seconds:.0f} s, "
          f"load average {load[0]:.1f}")
    print(f"pipeline {fps:.1f} fps | window drew {statistics.median(drawn) if drawn else 0:.1f} fps | "
          f"capture to screen {statistics.median(latency) if latency else float('nan'):.0f} ms (median of samples)")
    (t0, n0, _), (t1, n1, lag) = view3d_samples[0], view3d_samples[-1]
    if t1 > t0:
        print(f"3D view: {(n1 - n0) / (t1 - t0):.1f} images/s, each on screen {lag or float('nan'):.0f} ms after its "
              f"result was drawn (rendered in its own process while the video panel goes on)")
    print(f"status line: {last_text[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
