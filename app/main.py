"""The command line: `cascade3d COMMAND` (installed) or `python main.py COMMAND` (a checkout); no command opens the app.

Every sub-command is a module with add_arguments(parser) and run(args) -> exit code, run through
model.commands.run_command so that exit codes mean the same everywhere (docs/cli.md): 0 done, 1 failed,
2 bad usage or input, 130 Ctrl-C, 143 SIGTERM.
"""

import argparse
import difflib
import importlib
import sys

from app import __version__
from app.quiet import quiet_library_logs
from model.commands import EXIT_USAGE, run_command, safe_text

COMMANDS = {  # name: (module, one line for the help)
    "gui": ("app.ui.cli", "open the live desktop app (the default)"),
    "process": ("app.process", "videos, image folders or a live source -> JSON/BVH/CSV pose tracks, headless"),
    "stream": ("app.stream.cli", "stream one performer's pose live to a VMC receiver (Blender, Unity, VSeeFace, Warudo)"),
    "train": ("model.training.train", "train the cascaded dimension-lifting network"),
    "eval": ("model.training.evaluate", "evaluate a checkpoint on a dataset"),
    "export": ("export.cli", "export a checkpoint to ONNX (and TensorRT) with a model card"),
    "distill": ("model.data.distill", "build the distillation training set from offline footage"),
    "synth": ("model.data.synth.generate", "render synthetic people with exact 2D/3D labels (extra: synth)"),
}


def usage(prog: str) -> str:
    """The top-level help: what each command does, never which module runs it."""
    width = max(map(len, COMMANDS))
    lines = [f"usage: {prog} [COMMAND] [OPTIONS]   (no command: the desktop app)", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "options without a command:",
              "  --list-cameras  list the cameras (index, name, sizes, rates) that --source can name",
              "  --verbose       show the libraries' own log lines (Open3D, MediaPipe, TensorFlow Lite, Qt)",
              "  --version       print the version",
              "  -h, --help      this help",
              "", f"`{prog} COMMAND --help` shows a command's options; exit codes and conventions: docs/cli.md"]
    return "\n".join(lines)


def unknown_command(word: str) -> str:
    """One line for a first word that is no command: the nearest command when one is close."""
    near = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
    hint = f"did you mean '{near[0]}'?" if near else f"commands: {', '.join(COMMANDS)}"
    return f"unknown command '{safe_text(word)}'; {hint}"


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit 2, as every other bad input (the usage is under --help)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {safe_text(message)} (--help lists the options)\n")


def main(argv: list[str] | None = None, quiet: bool = False, prog: str | None = None) -> int:
    """Run a command; quiet=True (the command line) filters the libraries' chatter from this process's output."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = prog or "cascade3d"
    if argv and argv[0] in ("-h", "--help"):
        print(usage(prog))
        return 0
    if argv and argv[0] == "--version":
        print(f"cascade3d {__version__}")
        return 0
    if argv and argv[0] == "--list-cameras":
        from app.cameras import print_cameras

        return print_cameras()
    verbose = "--verbose" in argv
    argv = [a for a in argv if a != "--verbose"]
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        print(unknown_command(argv[0]), file=sys.stderr)  # the app takes options only: a bare word is a typo
        return EXIT_USAGE
    if quiet:  # not for in-process callers (tests): it re-routes the process's stdout/stderr descriptors
        quiet_library_logs(verbose)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "gui"
    module_name, help_text = COMMANDS[command]

    def start() -> int:
        module = importlib.import_module(module_name)
        parser = OneLineParser(prog=prog if command == "gui" else f"{prog} {command}", description=help_text)
        module.add_arguments(parser)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help (0) or a bad option (2, one line printed): a code, also in-process
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        return module.run(args)

    # The imports too run under run_command: Ctrl-C while they load (seconds) is 130, never a traceback or lost.
    return run_command(start)


def cli() -> None:
    """The `cascade3d` console command."""
    sys.exit(main(quiet=True, prog="cascade3d"))
