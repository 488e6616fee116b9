"""``python -m campuswatch.agent`` is ``campuswatch-agent``."""

import sys

from campuswatch.agent.cli import main

sys.exit(main())
