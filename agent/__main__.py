"""``python -m agent`` is ``campuswatch-agent``."""

import sys

from agent.cli import main

sys.exit(main())
