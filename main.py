"""Entry point: `python main.py [gui options]` opens the app; sub-commands run the other jobs.

Sub-commands (each module defines add_arguments(parser) and run(args) -> exit code):
  (none)/gui  the live desktop app               app.ui.cli
  process     videos -> JSON/BVH/CSV tracks      app.process
  stream      live poses -> a VMC receiver       app.stream.cli
  train       train the cascaded network         model.training.train
  eval        evaluate a checkpoint on a dataset model.training.evaluate
  export      checkpoint -> ONNX/TensorRT + card export.cli
  distill     build the distillation set         model.data.distill
  synth       synthetic people with exact labels model.data.synth.generate

`python main.py --list-cameras` lists the cameras (index, name, sizes and rates) that --source can name.

Global option: --verbose shows the libraries' own log lines (Open3D, MediaPipe, TensorFlow Lite, Qt),
which are kept off the terminal by default (app/quiet.py).
"""

import argparse
import importlib
import sys

from app.quiet import quiet_library_logs
from model.commands import run_command

COMMANDS = {
    "gui": ("app.ui.cli", "open the live desktop app (the default)"),
    "process": ("app.process", "process video files headless into JSON/BVH/CSV pose tracks"),
    "stream": ("app.stream.cli", "stream one performer's pose live to a VMC receiver (Blender, Unity, VSeeFace, Warudo)"),
    "train": ("model.training.train", "train the cascaded dimension-lifting network"),
    "eval": ("model.training.evaluate", "evaluate a checkpoint on a dataset"),
    "export": ("export.cli", "export a checkpoint to ONNX / TensorRT with a model card"),
    "distill": ("model.data.distill", "build the distillation training set from offline footage"),
    "synth": ("model.data.synth.generate", "render synthetic people with exact 2D/3D labels (resumable shards; requirements-synth.txt)"),
}


def main(argv: list[str] | None = None, quiet: bool = False) -> int:
    """Run a command; quiet=True (the command line) filters the libraries' chatter from this process's output."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("\n`python main.py COMMAND --help` for a command's options; no command opens the app.")
        return 0
    if argv and argv[0] == "--list-cameras":
        from app.cameras import print_cameras

        return print_cameras()
    verbose = "--verbose" in argv
    argv = [a for a in argv if a != "--verbose"]
    if quiet:  # not for in-process callers (tests): it re-routes the process's stdout/stderr descriptors
        quiet_library_logs(verbose)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "gui"
    module_name, help_text = COMMANDS[command]
    module = importlib.import_module(module_name)
    prog = "main.py" if command == "gui" else f"main.py {command}"
    parser = argparse.ArgumentParser(prog=prog, description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(argv)
    return run_command(lambda: module.run(args))


if __name__ == "__main__":
    sys.exit(main(quiet=True))
