"""`python main.py [COMMAND] [OPTIONS]` in a checkout: the same command line as the installed `cascade3d` (app.main).

`python main.py --help` lists the commands; no command opens the desktop app.
"""

import sys

from app.main import COMMANDS, main  # noqa: F401  (COMMANDS: for callers that list the commands)

if __name__ == "__main__":
    sys.exit(main(quiet=True, prog="main.py"))
