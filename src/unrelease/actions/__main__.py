"""``python -m unrelease.actions``: the composite action's entry point."""

import sys

from unrelease.actions import main

sys.exit(main())
