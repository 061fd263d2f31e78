"""`data-check`: missing files and size/sha256 mismatches are reported with the file and where to
get it; unpinned files get their digest printed; the exit status says whether anything is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from readers_data import MANIFEST_DIR, run_verb

from vlpeft.data import check as check_verb
from vlpeft.data.readers import check_manifest, load_manifest
from vlpeft.io import sha256_file

HF = "https://huggingface.co/datasets/ylsung/VL-Adapter-datasets"


def pinned_gqa(tmp_path: Path, root: Path, **changes: dict) -> Path:
    """config/data/gqa.yaml with train pinned to the fixture's digest and size, plus ``changes``."""
    doc = yaml.safe_load((MANIFEST_DIR / "gqa.yaml").read_text())
    train = root / "GQA" / "train.json"
    doc["files"]["train"].update(sha256=sha256_file(train), size=train.stat().st_size)
    for role, change in changes.items():
        doc["files"][role].update(change)
    path = tmp_path / "gqa.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_missing_and_mismatched_files_name_the_file_and_source(
    vlt5_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    manifest = pinned_gqa(tmp_path, vlt5_root, valid={"sha256": "0" * 64})
    (vlt5_root / "GQA" / "testdev.json").unlink()
    findings = {f.entry.role: f for f in check_manifest(load_manifest(manifest), vlt5_root)}
    assert findings["train"].status == "ok"
    assert findings["valid"].status == "sha256_mismatch"
    assert findings["testdev"].status == "missing"
    assert findings["features_train"].status == "optional_missing" and not findings["features_train"].is_problem

    assert run_verb(check_verb, ["--datasets", str(manifest), "--root", str(vlt5_root), "--no-progress"]) == 1
    lines = capsys.readouterr().out.splitlines()
    missing = next(line for line in lines if line.startswith("MISSING"))
    assert "gqa:testdev" in missing and "GQA/testdev.json" in missing and f"get it from: {HF}" in missing
    mismatch = next(line for line in lines if line.startswith("SHA256_MISMATCH"))
    valid_digest = sha256_file(vlt5_root / "GQA" / "valid.json")
    assert "GQA/valid.json" in mismatch and f"sha256 {valid_digest}, expected {'0' * 64}" in mismatch
    assert f"get it from: {HF} (annotations/GQA/valid.json)" in mismatch
    assert lines[-1].endswith("2 problem(s), 0 not pinned")


def test_unpinned_files_print_their_digest_and_pass(vlt5_root: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["--datasets", "gqa", "nlvr", "--manifest-dir", str(MANIFEST_DIR), "--root", str(vlt5_root), "--no-progress"]
    assert run_verb(check_verb, argv) == 0
    out = capsys.readouterr().out
    digest = sha256_file(vlt5_root / "nlvr" / "valid.json")
    assert f"UNPINNED         nlvr:val  nlvr/valid.json: not pinned; computed sha256: {digest}" in out
    assert "0 problem(s), 6 not pinned" in out


def test_size_mismatch_and_no_hash(vlt5_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    manifest = pinned_gqa(tmp_path, vlt5_root)
    with (vlt5_root / "GQA" / "train.json").open("a") as f:
        f.write(" ")
    argv = ["--datasets", str(manifest), "--root", str(vlt5_root), "--no-hash", "--no-progress"]
    assert run_verb(check_verb, argv) == 1
    assert "SIZE_MISMATCH    gqa:train  GQA/train.json: size" in capsys.readouterr().out


def test_folders_are_checked(value_root: Path) -> None:
    findings = {f.entry.role: f for f in check_manifest(load_manifest(MANIFEST_DIR / "tvqa.yaml"), value_root)}
    assert findings["features"].status == "ok" and findings["subtitles"].status == "unpinned"
    for npz in (value_root / "vis_features" / "tv" / "clip-vit").iterdir():
        npz.unlink()
    findings = {f.entry.role: f for f in check_manifest(load_manifest(MANIFEST_DIR / "tvqa.yaml"), value_root)}
    assert findings["features"].status == "empty_dir" and findings["features"].is_problem


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(colour="red"), "unknown key 'colour'"),
        (lambda d: d.pop("reader"), "missing key 'reader'"),
        (lambda d: d["files"]["train"].update(sha256="abc"), r"files\.train\.sha256: 'abc' is not 64"),
        (
            lambda d: d["files"]["train"].update(path="/abs/train.json"),
            r"files\.train\.path: '/abs/train.json' must be",
        ),
        (lambda d: d["files"]["valid"].update(size="big"), r"files\.valid: key 'size' has a wrong type"),
        (lambda d: d["files"]["valid"].pop("source"), r"files\.valid: missing key 'source'"),
    ],
)
def test_bad_manifests_name_the_key(tmp_path: Path, edit, message: str) -> None:
    doc = yaml.safe_load((MANIFEST_DIR / "gqa.yaml").read_text())
    edit(doc)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_manifest(path)


def test_every_shipped_manifest_is_valid_and_unpinned_or_pinned_properly() -> None:
    from vlpeft.data.readers import READERS

    names = sorted(p.stem for p in MANIFEST_DIR.glob("*.yaml"))
    assert names == ["caption", "gqa", "how2qa", "nlvr", "nlvr2_official", "tvc", "tvqa", "vqa", "yc2c"]
    for name in names:
        m = load_manifest(MANIFEST_DIR / f"{name}.yaml")
        assert m.dataset == name and m.reader in READERS
        assert set(READERS[m.reader].required_roles) <= set(m.files)
        assert all(e.source for e in m.files.values())


def test_through_the_cli(vlt5_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from vlpeft import cli

    monkeypatch.setitem(cli.VERBS, "data-check", ("vlpeft.data.check", "check data"))
    base = ["data-check", "--root", str(vlt5_root), "--manifest-dir", str(MANIFEST_DIR), "--no-progress"]
    assert cli.main(base + ["--datasets", "nlvr"]) == 0
    assert cli.main(base + ["--datasets", "coco"]) == 1  # unknown name: one error line, no traceback
    assert "vlpeft data-check: error: " in capsys.readouterr().err
