"""`python main.py [COMMAND] [OPTIONS]` in a checkout: the same command line as the installed `cascade3d` (app.main).

`python main.py --help` lists the commands; no command opens the desktop app.
"""

import sys

try:
    from app.main import COMMANDS, main  # noqa: F401  (COMMANDS: for callers that list the commands)
except KeyboardInterrupt:  # Ctrl-C in the first half second, before main() answers for it: the same line and code
    print("interrupted", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(main(quiet=True, prog="main.py"))
