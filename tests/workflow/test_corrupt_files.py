"""A corrupt or truncated file is ONE error line naming the file, per format: safetensors (adapter,
visual projection), HDF5 (feature and frame caches), JSON (run record, metrics), JSONL (annotations).
Checkpoints: tests/train/test_finish_crash.py."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from vlpeft.io import read_json_object, read_jsonl


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def one_line_naming(err, path):
    message = str(err.value)
    assert str(path) in message and "\n" not in message, message
    return message


def test_truncated_adapter_safetensors(tmp_path):
    from vlpeft.pet.adapter_io import read_adapter_header

    path = tmp_path / "adapter.safetensors"
    save_file({"w": torch.zeros(64, 64)}, str(path), metadata={"vlpeft": "{}"})
    with pytest.raises(ValueError) as err:
        read_adapter_header(truncate(path))
    one_line_naming(err, path)


def test_truncated_visual_projection_safetensors(tmp_path):
    from vlpeft.models.build import load_visual_embedding

    path = tmp_path / "visual_embedding.safetensors"
    save_file({"image.proj.weight": torch.zeros(64, 64)}, str(path))
    truncate(path)
    with pytest.raises(ValueError) as err:
        load_visual_embedding(None, tmp_path, "image")
    one_line_naming(err, path)


def test_truncated_hdf5_cache(tmp_path):
    import h5py

    from vlpeft.features.cache import H5Reader

    path = tmp_path / "image.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=np.zeros((49, 64), dtype=np.float32))
    with pytest.raises(ValueError) as err:
        H5Reader(truncate(path)).keys()
    one_line_naming(err, path)


def test_truncated_json(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"a": 1, "b": [1, 2, 3]}))
    with pytest.raises(ValueError) as err:
        read_json_object(truncate(path), "metrics")
    one_line_naming(err, path)


def test_truncated_run_record(tmp_path):
    from vlpeft.train.build import RunSpec

    RunSpec(group="image", backbone="t5", method="bitfit").write(tmp_path)
    path = truncate(tmp_path / "run.json")
    with pytest.raises(ValueError) as err:
        RunSpec.read(tmp_path)
    one_line_naming(err, path)


def test_non_utf8_annotation_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'{"id": 1}\n{"id": "\xff\xfe"}\n')
    with pytest.raises(ValueError) as err:
        read_jsonl(path)
    assert one_line_naming(err, path).startswith(f"{path}:2: not UTF-8")


def test_verb_reports_a_corrupt_file_in_one_line_without_traceback(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text('{"group": "image", ')
    proc = subprocess.run([sys.executable, "-m", "vlpeft", "tables", "--runs", str(path), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in proc.stderr, proc.stderr


def test_truncated_backbone_safetensors(tmp_path):
    from transformers import T5Config, T5ForConditionalGeneration

    from vlpeft.models.build import build_model

    folder = tmp_path / "t5"
    config = T5Config(vocab_size=64, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_heads=2)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    truncate(folder / "model.safetensors")
    with pytest.raises(ValueError) as err:
        build_model(folder, feat_dim=8)
    assert "corrupt or truncated" in one_line_naming(err, folder)
