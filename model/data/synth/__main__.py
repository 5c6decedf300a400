"""`python -m model.data.synth ...`: the same command as `python main.py synth ...`."""

import sys

from model.data.synth.generate import main

sys.exit(main())
