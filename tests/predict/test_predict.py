"""`vlpeft predict` on the user's own files gives what `vlpeft evaluate` gives on the same example
(features through the run's CLIP, frames through `vlpeft.video`, every task family)."""

import json

import numpy as np
import pytest
from tinyworld import evaluate_tiny

from vlpeft.cli import main
from vlpeft.features.cache import FeatureReader
from vlpeft.features.clip_loader import load_clip
from vlpeft.io import read_jsonl
from vlpeft.predict import Inputs, image_features, open_source, predict, sampling_spec, video_features
from vlpeft.tasks import TASKS
from vlpeft.train.data import load_examples


@pytest.fixture(scope="module")
def evaluated(pworld):
    """Test-split predictions of both runs, as `vlpeft evaluate` writes them."""
    out = {}
    for run in ("image_run", "video_run"):
        evaluate_tiny(pworld, pworld[run], features_video=str(pworld["video"]), batch_size=2, meteor=False)
        for task in open_source(pworld[run]).spec.tasks:
            out[task] = {r["id"]: r["prediction"] for r in read_jsonl(pworld[run] / "predictions" / f"{task}.jsonl")}
    return out


def _inputs(pworld, task: str, ex: dict) -> Inputs:
    fam = TASKS[task].family
    if fam == "image_qa":
        return Inputs(images=[str(pworld["images"] / f"{ex['image_id']}.png")], question=ex["question"])
    if fam == "nlvr":
        return Inputs(images=[str(pworld["images"] / f"{i}.png") for i in ex["image_ids"]], statement=ex["sentence"])
    if fam == "caption":
        return Inputs(images=[str(pworld["images"] / f"{ex['image_id']}.png")])
    common = {
        "video": str(pworld["videos"] / f"{ex['video_id']}.mp4"),
        "ts": tuple(ex["ts"]),
        "subtitles": [s["text"] for s in ex["subtitles"]],
    }
    if fam == "video_qa":
        return Inputs(question=ex["question"], choices=list(ex["choices"]), **common)
    return Inputs(**common)


def _clip(pworld, task: str) -> str:
    return str(pworld["clip_vit" if TASKS[task].is_video else "clip_rn"])


@pytest.mark.parametrize("task", list(TASKS))
def test_predict_equals_evaluate_on_the_same_example(pworld, evaluated, task):
    run = pworld["video_run" if TASKS[task].is_video else "image_run"]
    examples = load_examples(pworld["data"], TASKS[task], "test")
    for ex in examples[:1]:
        result = predict(
            run, task, _inputs(pworld, task, ex), backbone=str(pworld["t5"]), clip=_clip(pworld, task), device="cpu"
        )
        assert result["prediction"] == evaluated[task][ex["id"]]
        if TASKS[task].family == "video_qa":
            k = int(result["prediction"][1:]) if result["prediction"][1:].isdigit() else None
            assert result["answer"] == (ex["choices"][k] if k is not None and k < len(ex["choices"]) else None)


def test_features_equal_the_cache(pworld):
    """Same CLIP, same preprocessing, same frame sampling (read from the run's record) as the cache."""
    source = open_source(pworld["video_run"])
    assert source.features["frames_num_frames"] == 3 and source.features["encoder"] == "clip_vit.pt"
    vit, pre = load_clip(pworld["clip_vit"], "cpu")
    feats, attrs = video_features(
        vit, pre, str(pworld["videos"] / "vid2.mp4"), sampling_spec(source, None, None, None, None), "cpu"
    )
    with FeatureReader(pworld["video"]) as cache:
        np.testing.assert_allclose(feats.astype(np.float32), cache.get("vid2"), atol=2e-3)
        assert len(attrs["timestamps"]) == 3
    rn, pre = load_clip(pworld["clip_rn"], "cpu")
    (grid,) = image_features(rn, pre, [str(pworld["images"] / "img4.png")], "cpu")
    with FeatureReader(pworld["image"]) as cache:
        np.testing.assert_array_equal(grid.astype(np.float32), cache.get("img4"))


def test_cli_json_and_text(pworld, evaluated, capsys):
    ex = load_examples(pworld["data"], TASKS["vqa"], "test")[0]
    image = str(pworld["images"] / f"{ex['image_id']}.png")
    args = [
        "predict",
        str(pworld["image_run"]),
        "--task",
        "vqa",
        "--image",
        image,
        "--question",
        ex["question"],
        "--backbone",
        str(pworld["t5"]),
        "--clip",
        str(pworld["clip_rn"]),
        "--device",
        "cpu",
    ]
    assert main(args + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prediction"] == evaluated["vqa"][ex["id"]] and out["task"] == "vqa"
    assert main(args) == 0
    assert capsys.readouterr().out == evaluated["vqa"][ex["id"]] + "\n"


def _err(capsys, args) -> str:
    assert main(["predict", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("vlpeft predict: error: ")
    return last


def test_clear_errors(pworld, capsys, tmp_path):
    run, img = str(pworld["image_run"]), str(pworld["images"] / "img0.png")
    base = ["--task", "vqa", "--image", img, "--question", "what?", "--device", "cpu"]
    # the run records the CLIP's file name only (no paths in artifacts): --clip is needed here
    assert "pass --clip" in _err(capsys, [run, *base, "--backbone", str(pworld["t5"])])
    base += ["--clip", str(pworld["clip_rn"])]
    # no backbone for a run directory (it records only the name)
    assert "pass --backbone" in _err(capsys, [run, *base])
    # a CLIP that is not the run's: its sha256 differs from the recorded one
    err = _err(capsys, [run, *base[:-2], "--backbone", str(pworld["t5"]), "--clip", str(pworld["other_clip"])])
    assert "other_clip_rn.pt" in err and "clip_rn.pt" in err and "sha256" in err
    # a missing CLIP file
    err = _err(capsys, [run, *base[:-2], "--backbone", str(pworld["t5"]), "--clip", str(tmp_path / "nope.pt")])
    assert "nope.pt" in err
    # a backbone that is not there
    assert "no_such_backbone" in _err(capsys, [run, *base, "--backbone", str(tmp_path / "no_such_backbone")])
    # a backbone the run was not trained on
    bad = tmp_path / "bad_t5"
    from tinyworld import write_backbone

    from vlpeft.pretrain import PretrainSettings, build_demo_backbone

    build_demo_backbone(
        pworld["data"],
        bad,
        PretrainSettings(
            arch="t5", vocab_size=120, d_model=24, layers=1, heads=2, d_ff=32, max_len=16, steps=1, batch_size=2, seed=1
        ),
    )
    assert write_backbone  # the fixture's own helper builds the matching one
    capsys.readouterr()
    err = _err(capsys, [run, *base, "--backbone", str(bad)])
    assert "not the backbone this run was trained on" in err and "bad_t5" in err
    # inputs that do not fit the task
    assert "2 images" in _err(
        capsys, [run, "--task", "nlvr", "--image", img, "--statement", "x", "--backbone", str(pworld["t5"])]
    )
    assert "--question" in _err(capsys, [run, "--task", "gqa", "--image", img, "--backbone", str(pworld["t5"])])
    vid = str(pworld["videos"] / "vid0.mp4")
    assert "5 answer choices" in _err(
        capsys,
        [
            str(pworld["video_run"]),
            "--task",
            "tvqa",
            "--video",
            vid,
            "--question",
            "q",
            "--choice",
            "a",
            "--backbone",
            str(pworld["t5"]),
        ],
    )
    assert "video task" in _err(
        capsys, [str(pworld["video_run"]), "--task", "tvc", "--image", img, "--backbone", str(pworld["t5"])]
    )
    assert "not trained in this run" in _err(capsys, [run, "--task", "tvc", "--video", vid])
    assert "run.json" in _err(capsys, [str(tmp_path), *base])


def test_predict_cuda_when_present(pworld, evaluated):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    ex = load_examples(pworld["data"], TASKS["caption"], "test")[0]
    result = predict(
        pworld["image_run"],
        "caption",
        _inputs(pworld, "caption", ex),
        backbone=str(pworld["t5"]),
        clip=str(pworld["clip_rn"]),
        device="cuda:0",
    )
    assert isinstance(result["prediction"], str)


def test_source_rejects_a_wrong_flag_early(pworld):
    with pytest.raises(ValueError, match="cuda:N"):
        predict(
            pworld["image_run"],
            "caption",
            Inputs(images=[str(pworld["images"] / "img0.png")]),
            backbone=str(pworld["t5"]),
            device="gpu",
        )


def test_a_run_without_a_features_record_still_gets_one_clear_clip_error(pworld, tmp_path, capsys):
    """An adapter written before runs recorded their features: the width check reads the adapter."""
    import shutil

    from safetensors import safe_open
    from safetensors.torch import save_file

    old = tmp_path / "old_run"
    shutil.copytree(pworld["image_run"], old)
    with safe_open(str(old / "adapter.safetensors"), "pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in list(f.keys())}
    header = json.loads(meta["vlpeft"])
    del header["meta"]["features"]
    save_file(tensors, str(old / "adapter.safetensors"), metadata={"vlpeft": json.dumps(header)})
    assert open_source(old).feat_dim == open_source(pworld["image_run"]).feat_dim
    from vlpeft.features.clip_loader import import_clip
    from vlpeft.features.demo_clip import CONFIGS, save_clip

    wide = tmp_path / "wide_rn.pt"  # a CLIP ResNet twice as wide: 512-d grid features
    save_clip(import_clip().model.CLIP(**{**CONFIGS["rn"], "vision_width": 16}), wide)
    err = _err(
        capsys,
        [
            str(old),
            "--task",
            "caption",
            "--image",
            str(pworld["images"] / "img0.png"),
            "--backbone",
            str(pworld["t5"]),
            "--clip",
            str(wide),
        ],
    )
    assert "trained on 256-d features" in err and "512-d" in err
    assert "pass --clip" in _err(
        capsys,
        [str(old), "--task", "caption", "--image", str(pworld["images"] / "img0.png"), "--backbone", str(pworld["t5"])],
    )
