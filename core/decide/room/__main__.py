"""``python -m core.decide.room upgrade URL``: the same upgrade as ``python -m core.storage.schema
upgrade URL`` (the room's tables are migrated with the rest of ours)."""

import sys

from core.storage.schema import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
