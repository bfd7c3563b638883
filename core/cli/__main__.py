"""``python -m core.cli`` runs the ``tradeoff`` command."""

import sys

from core.cli import main

sys.exit(main())
