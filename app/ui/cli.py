"""`python main.py [options]`: the desktop app, or a scripted headless run that saves a screenshot."""

import argparse
import os
import signal
import sys
import traceback

from app.options import add_pipeline_arguments, camera_note, pipeline_config, pipeline_problem
from app.sources import SOURCE_HELP
from app.stream.vmc import DEFAULT_PORT, VmcError, VmcSender
from model.commands import EXIT_INTERRUPTED, EXIT_TERMINATED, safe_text


# app.ui.viewport3d.SHOW_MODES, spelled out so that parsing the options loads no Open3D (tests/app/ui checks they agree)
SHOW_CHOICES = ("skeletons", "bodies", "both")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default="",
                        help=SOURCE_HELP)
    add_pipeline_arguments(parser, smoothing_help="start with the One-Euro filter off")
    parser.add_argument("--max-frames", type=int, metavar="N",
                        help="scripted run: quit after N processed frames (a file source then plays once)")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="scripted run: save a PNG of the whole window after the last frame, then quit")
    parser.add_argument("--vmc", metavar="HOST:PORT",
                        help="stream the largest person's pose to a VMC receiver from the start, e.g. "
                             f"127.0.0.1:{DEFAULT_PORT} (the Stream button toggles it)")
    parser.add_argument("--show", choices=SHOW_CHOICES, default=SHOW_CHOICES[0],
                        help="what the 3D view draws of each person at the start (the Show box changes it; "
                             "default %(default)s)")
    parser.add_argument("--out", default="recordings", metavar="DIR",
                        help="where the Record button writes (default ./recordings/<time>/)")
    parser.add_argument("--recordings", dest="out", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # old name


def _use_offscreen_if_no_display() -> None:
    """Qt and Open3D need to be told when there is no display at all (CI, ssh)."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")  # Open3D segfaults without it
    if "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        print("no display found: running offscreen (QT_QPA_PLATFORM=offscreen, EGL_PLATFORM=surfaceless)",
              flush=True)


def run(args: argparse.Namespace) -> int:
    problem = pipeline_problem(args)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.screenshot and os.path.isdir(args.screenshot):  # found only after every frame, naming a temp file
        print(f"--screenshot {safe_text(args.screenshot)}: is a folder; give a .png file name", file=sys.stderr)
        return 2
    if args.vmc is not None:
        try:
            VmcSender(args.vmc).close()  # malformed, unresolvable or unroutable: one line before any window
        except VmcError as exc:
            print(exc, file=sys.stderr)
            return 2
    _use_offscreen_if_no_display()
    # app.processor imported cv2, which points Qt at OpenCV's own (incompatible) Qt plugins.
    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow
    from app.ui.scripted import ScriptedRun

    scripted = None
    if args.max_frames is not None or args.screenshot:
        scripted = ScriptedRun(max_frames=args.max_frames, screenshot=args.screenshot)
    config = pipeline_config(
        args,
        source=args.source,
        loop=scripted is None,  # a person watching gets an endless clip; a scripted run ends
        realtime=True,  # play files at their own rate, as a camera would deliver them
    )
    note = camera_note(config)
    if note:
        print(note, file=sys.stderr, flush=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow(config, scripted, recordings_dir=args.out, vmc=args.vmc)
    window.controls.show_combo.setCurrentText(args.show)

    def excepthook(kind, value, tb):
        # PyQt aborts the process on an exception in a slot; log it and keep the app (or fail the run).
        traceback.print_exception(kind, value, tb)
        window.show_error(f"internal error: {kind.__name__}: {value}")
        if scripted is not None:
            window.exit_code = 1
            window.close()

    sys.excepthook = excepthook
    # Ctrl+C and SIGTERM (timeout, docker stop, a service manager) close cleanly: recordings are finished, a
    # scripted run saves its screenshot of what was drawn, and the exit code says which (130, 143), as for
    # every command (model.commands). Run from the event loop: the handler itself may interrupt a paint.
    def stop(signum, frame) -> None:
        print("interrupted" if signum == signal.SIGINT else "terminated", file=sys.stderr, flush=True)
        QTimer.singleShot(0, lambda: window.stop(EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_TERMINATED))

    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, stop)
    window.show()
    app.exec()
    sys.excepthook = sys.__excepthook__
    return window.exit_code
