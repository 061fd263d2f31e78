"""Every config value that reaches a shell command is quoted: `;`, `||` and spaces in a value stay
one argument, in a project folder whose path has a space."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVIL = "my data; touch PWNED_SEMI || touch PWNED_OR ||"


def test_values_with_semicolons_pipes_and_spaces_stay_one_argument(tmp_path):
    work = tmp_path / "a project with spaces"
    work.mkdir()
    for name in ("workflow", "config"):
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    (work / "evil.yaml").write_text(
        "dataset: evil\n"
        "data: {source: real, root: '" + EVIL + "', datasets: [vqa], images: 'imgs || touch PWNED_IMG ||'}\n"
        "groups: {image: {methods: [bitfit], backbones: [bart]}, video: null}\n"
        "backbones: {bart: 'facebook/bart-base', t5: null}\n"
        "train: {batch_size: {t5: null}}\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "-p", "--configfile", "evil.yaml",
                           "--workflow-profile", "none", "--", "stage_data"],
                          cwd=work, capture_output=True, text=True, timeout=300, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0  # data-check fails: there is no such data root
    assert "data-check --" in out and "--root 'my data; touch PWNED_SEMI || touch PWNED_OR ||'" in out, out[-3000:]
    assert not list(work.rglob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))
    log = (work / "logs" / "evil" / "prepare_real.log").read_text()
    assert EVIL in log  # the whole value reached the verb as one argument, and the verb named it
