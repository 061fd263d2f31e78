import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "predict"))
from predictworld import one_thread, pworld  # noqa: F401  (fixtures)
