"""Code fingerprints (vlpeft.fingerprint): a rule's fingerprint changes with the code its verb runs,
and only with that code. The fast half of the code-change rerun test (the slow half runs Snakemake
and DVC in tests/workflow/test_e2e.py)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERBS = {"demo": "vlpeft.data.cli", "frames": "vlpeft.video.cli", "clip-demo": "vlpeft.features.demo_clip",
         "features": "vlpeft.features.cli", "backbone-demo": "vlpeft.pretrain.cli",
         "train": "vlpeft.train.cli", "evaluate": "vlpeft.eval.cli", "tables": "vlpeft.report.cli"}


def fingerprints(src: Path) -> dict[str, str]:
    code = ("import json, sys; from vlpeft.fingerprint import fingerprint; "
            f"print(json.dumps({{v: fingerprint(m) for v, m in {VERBS!r}.items()}}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}).stdout
    import json

    return json.loads(out)


@pytest.fixture
def src(tmp_path):
    shutil.copytree(ROOT / "src" / "vlpeft", tmp_path / "vlpeft", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def changed(before, after):
    return sorted(v for v in before if before[v] != after[v])


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def test_prompt_format_reruns_train_and_evaluate_not_frames_or_features(src):
    before = fingerprints(src)
    edit(src / "vlpeft" / "tasks.py", 'return prompt + ex["question"]', 'return prompt + "q: " + ex["question"]')
    # the demo backbones pre-train on the same encoder texts (source_text), so they count too
    assert changed(before, fingerprints(src)) == ["backbone-demo", "evaluate", "train"]


def test_task_names_rerun_everything_that_reads_them(src):
    before = fingerprints(src)
    edit(src / "vlpeft" / "tasks.py", 'SPLITS = ("train", "val", "test")', 'SPLITS = ("train", "val", "test", "x")')
    assert "demo" in changed(before, fingerprints(src)) and "frames" not in changed(before, fingerprints(src))


def test_comments_elsewhere_and_line_shifts_change_nothing(src):
    before = fingerprints(src)
    edit(src / "vlpeft" / "tasks.py", '"""The task registry', '\n\n"""The task registry')  # lines shift
    (src / "vlpeft" / "unused_module.py").write_text("X = 1\n")
    assert changed(before, fingerprints(src)) == []


def test_a_trainer_change_reruns_train_only(src):
    before = fingerprints(src)
    edit(src / "vlpeft" / "train" / "optim.py", "def build_optimizer(", "def build_optimizer(  # edited\n")
    after = fingerprints(src)
    assert "train" in changed(before, after)
    assert not {"demo", "frames", "features", "clip-demo"} & set(changed(before, after))


def test_an_unused_new_function_changes_nothing(src):
    before = fingerprints(src)
    edit(src / "vlpeft" / "train" / "optim.py", "\ndef ", "\ndef _unused_helper():\n    return 1\n\n\ndef ")
    assert changed(before, fingerprints(src)) == []
