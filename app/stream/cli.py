"""`main.py stream`: live poses from a camera or a file, streamed headless to a VMC receiver (Blender, Unity, VSeeFace...).

One performer is streamed (the largest person, or --track ID), one OSC bundle per processed frame
(app.stream.vmc). Exit codes (docs/cli.md): 0 done, 1 the source broke mid-way, 2 the command cannot start
(bad option, a source that cannot be opened, bad or unreachable --vmc target, backend that cannot load),
130 after Ctrl-C, 143 after SIGTERM (both print the summary line). A receiver that is not running is no
error: UDP packets are simply lost.
"""

import argparse
import sys
import time

from app.backends.base import BackendError
from app.options import add_pipeline_arguments, camera_note, pipeline_config, pipeline_problem
from app.processor import FrameProcessor, iter_results
from app.sources import SOURCE_HELP, SourceError, open_source
from app.stream.performer import Streamer
from app.stream.vmc import DEFAULT_PORT, VmcError, VmcSender
from model.commands import EXIT_TERMINATED, Terminated, safe_text

EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vmc", required=True, metavar="HOST:PORT",
                        help=f"where the VMC receiver listens, e.g. 127.0.0.1:{DEFAULT_PORT} (its usual port)")
    parser.add_argument("--source", default="",
                        help=SOURCE_HELP)
    parser.add_argument("--track", type=int, default=None, metavar="ID",
                        help="stream this track id only (default: the largest person, kept while tracked)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N processed frames")
    parser.add_argument("--loop", action="store_true", help="replay a file source forever")
    parser.add_argument("--no-pacing", action="store_true",
                        help="stream a file as fast as it is processed (default: at the file's own frame rate)")
    add_pipeline_arguments(parser, smoothing_help="stream raw per-frame poses (no One-Euro filter)")


def _error(message: str) -> None:
    print(f"error: {safe_text(message)}", file=sys.stderr, flush=True)  # a name with a newline stays one line


def _check(args: argparse.Namespace) -> str | None:
    """The first problem with the options, as one line, or None."""
    problem = pipeline_problem(args)
    if problem:
        return problem
    if args.track is not None and args.track < 0:
        return f"--track {args.track}: track ids are 0 or more"
    return None


def run(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem:
        _error(problem)
        return EXIT_USAGE
    try:
        sender = VmcSender(args.vmc)  # before the models load: a typo costs no waiting
    except VmcError as exc:
        _error(str(exc))
        return EXIT_USAGE
    config = pipeline_config(args, source=args.source, loop=args.loop, realtime=not args.no_pacing)
    note = camera_note(config)
    if note:
        print(note, file=sys.stderr)
    streamer = Streamer(sender, args.track)
    try:
        try:
            source = open_source(config.source, loop=config.loop, realtime=config.realtime, live=config.live)
        except SourceError as exc:  # missing or not a video: bad input, as in `process` and the app
            _error(str(exc))
            return EXIT_USAGE
        try:
            processor = FrameProcessor(config)
        except BackendError as exc:
            source.close()
            _error(str(exc))
            return EXIT_USAGE
        return _stream(processor, source, streamer, args)
    finally:
        streamer.close()


def _stream(processor: FrameProcessor, source, streamer: Streamer, args: argparse.Namespace) -> int:
    """Process and send every frame; prints one summary line; returns the exit code."""
    if source.fallback_reason:
        print(source.fallback_reason, flush=True)
    if source.is_camera:  # a live source that reconnects after a gap says so in one line
        source.on_event = lambda line: print(f"warning: {line}", file=sys.stderr, flush=True)
    code, processed, start = EXIT_OK, 0, time.perf_counter()
    try:  # from the first line on, a stop gets the summary line
        print(f"streaming {source.description} to {streamer.sender.target} (VMC); Ctrl-C stops", flush=True)
        for result in iter_results(processor, source, args.max_frames):
            processed += 1
            streamer.send(result)
    except SourceError as exc:
        _error(str(exc))
        code = EXIT_SOURCE_FAILED
    except VmcError as exc:
        _error(str(exc))
        code = EXIT_USAGE
    except Terminated:  # SIGTERM (model.commands.run_command raises it): finish as for Ctrl-C, exit 143
        code = EXIT_TERMINATED
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        source.close()
        processor.close()
    elapsed = max(time.perf_counter() - start, 1e-9)
    sender = streamer.sender
    print(f"done: {processed} frames processed, {sender.frames_sent} sent "
          f"({sender.frames_with_performer} with a performer) to {sender.target}, {processed / elapsed:.1f} fps"
          + (" (interrupted)" if code in (EXIT_INTERRUPTED, EXIT_TERMINATED) else ""), flush=True)
    return code
