"""`python -m model.synth ...`: the same command as `python main.py synth ...`."""

import sys

from model.synth.generate import main

sys.exit(main())
