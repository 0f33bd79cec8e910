"""`python -m mira_core.cli`."""

import sys

from mira_core.cli import main

sys.exit(main())
