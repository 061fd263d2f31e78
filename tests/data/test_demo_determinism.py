"""Same seed -> the same bytes; a crash or a rerun never leaves a partial or stale world."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from demo_world import MICRO

from vlpeft.data.demo import generate, writer
from vlpeft.io import sha256_file


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(tiny_world: Path, tmp_path: Path) -> None:
    """A second run in a fresh process (another hash seed) through the CLI gives the same bytes."""
    m = json.loads((tiny_world / "manifest.json").read_text())
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in m["params"].items()]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vlpeft",
            "demo",
            "--out",
            str(tmp_path / "again"),
            "--no-progress",
            f"--seed={m['seed']}",
            f"--size={m['size']}",
            *flags,
        ],
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "random"},
        capture_output=True,
    )
    first, second = tree(tiny_world), tree(tmp_path / "again")
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []
    assert any(name.endswith(".mp4") for name in first) and any(name.endswith(".png") for name in first)


def test_another_seed_gives_another_world(tmp_path: Path) -> None:
    generate(tmp_path / "a", seed=1, size="tiny", progress=False, **MICRO)
    generate(tmp_path / "b", seed=2, size="tiny", progress=False, **MICRO)
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert a["images/img-train-00000.png"] != b["images/img-train-00000.png"]
    assert a["annotations/vqa/train.jsonl"] != b["annotations/vqa/train.jsonl"]


def test_manifest_lists_every_file_with_its_checksum(tiny_world: Path) -> None:
    manifest = json.loads((tiny_world / "manifest.json").read_text())
    files = {p.relative_to(tiny_world).as_posix() for p in tiny_world.rglob("*") if p.is_file()}
    assert set(manifest["sha256"]) == files - {"manifest.json"}
    for name, digest in manifest["sha256"].items():
        assert sha256_file(tiny_world / name) == digest, name
    assert manifest["generator"] == "vlpeft.data.demo" and manifest["version"]
    assert list(manifest["images"]) == sorted(manifest["images"])
    assert {f"images/{i}.png" for i in manifest["images"]} == {f for f in files if f.startswith("images/")}
    assert {f"videos/{v}.mp4" for v in manifest["videos"]} == {f for f in files if f.startswith("videos/")}


def test_rerun_replaces_the_old_world(tmp_path: Path) -> None:
    out = tmp_path / "world"
    generate(out, seed=0, size="tiny", progress=False, **{**MICRO, "images_train": 4})
    (out / "notes.txt").write_text("kept")  # not the generator's: left alone
    generate(out, seed=0, size="tiny", progress=False, **MICRO)
    manifest = json.loads((out / "manifest.json").read_text())
    assert not (out / "images" / "img-train-00003.png").exists()  # stale image gone
    assert len(list((out / "images").iterdir())) == len(manifest["images"])
    assert (out / "notes.txt").read_text() == "kept"
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_a_crash_leaves_the_previous_world_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "world"
    generate(out, seed=0, size="tiny", progress=False, **MICRO)
    before = tree(out)

    def broken_encoder(*args, **kwargs):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(writer, "encode_mp4", broken_encoder)
    with pytest.raises(RuntimeError, match="encoder crashed"):
        generate(out, seed=5, size="tiny", progress=False, **MICRO)
    assert tree(out) == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_first_run_crash_leaves_no_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "encode_mp4", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        generate(tmp_path / "world", seed=0, size="tiny", progress=False, **MICRO)
    assert list((tmp_path / "world").iterdir()) == []
