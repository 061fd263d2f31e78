"""frames.backend reaches every workflow rule that decodes video (issue: clip_demo used to ignore it)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vlpeft.cli import VERBS
from vlpeft.video import BACKENDS, DECODING_VERBS

ROOT = Path(__file__).resolve().parents[2]


def test_decoding_verbs_are_the_ones_with_a_backend_option():
    import argparse
    import importlib

    with_backend = set()
    for verb, (module, _) in VERBS.items():
        parser = argparse.ArgumentParser()
        importlib.import_module(module).add_arguments(parser)
        opts = {o for a in parser._actions for o in a.option_strings}
        if "--backend" in opts:
            with_backend.add(verb)
            action = next(a for a in parser._actions if "--backend" in a.option_strings)
            assert set(action.choices) == set(BACKENDS), verb
            assert action.default in ("torchcodec", None), verb  # None: predict decodes as the run did
    assert with_backend == set(DECODING_VERBS)


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_config_backend_reaches_every_rule_that_decodes(tmp_path, backend):
    assert yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["frames"]["backend"] == "torchcodec"
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg.setdefault("frames", {})["backend"] = backend
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "-p",
            "--forceall",
            "--nolock",
            "--configfile",
            str(tmp_path / "cfg.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    commands = [line for line in (proc.stdout + proc.stderr).splitlines() if "-m vlpeft " in line]
    seen = set()
    for cmd in commands:
        verb = re.search(r"-m vlpeft (\S+)", cmd).group(1)
        if verb in DECODING_VERBS:
            seen.add(verb)
            assert f"--backend {backend} " in cmd, cmd
        else:
            assert "--backend" not in cmd, cmd
    # every decoding step of the pipeline is in the test DAG and got the backend (predict is run by
    # users on their own videos, not by the workflow)
    assert seen == set(DECODING_VERBS) - {"predict"}
