import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "train"))
from tinyworld import one_thread, world  # noqa: F401  (fixtures)
