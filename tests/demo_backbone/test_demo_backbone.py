"""`vlpeft backbone-demo`: tokenizer, objectives, pre-training, saved directory, determinism, errors."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from vlpeft.cli import main
from vlpeft.features.cache import add_dataset, h5_writer
from vlpeft.io import read_jsonl
from vlpeft.models.tokenizer_train import collect_corpus, train_tokenizer
from vlpeft.pretrain import PretrainSettings, build_demo_backbone, span_corrupt, text_infill

torch.set_num_threads(1)
TINY = dict(vocab_size=400, d_model=32, layers=1, heads=4, d_ff=64, steps=20, batch_size=8, lr=3e-3)
SAVED = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "pretrain.json",
    "pretrain_log.jsonl",
    "visual_embedding.safetensors",
)


def _features(path: Path, keys: list[str], shape: tuple[int, int]) -> Path:
    rng = np.random.default_rng(0)
    with h5_writer(path, {"encoder": "test", "kind": "image" if shape[0] == 49 else "video"}) as f:
        for key in keys:
            add_dataset(f, key, rng.standard_normal(shape).astype(np.float16))
    return path


@pytest.fixture(scope="module")
def feature_files(world, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("features")
    rows = {g: read_jsonl(world / "annotations" / "pretrain" / f"{g}_captions.jsonl") for g in ("image", "video")}
    return (
        _features(root / "image.h5", sorted(r["image_id"] for r in rows["image"]), (49, 16)),
        _features(root / "video.h5", sorted(r["video_id"] for r in rows["video"]), (5, 12)),
    )


@pytest.fixture(scope="module", params=["t5", "bart"])
def built(request, world, feature_files, tmp_path_factory) -> tuple[str, Path, dict]:
    out = tmp_path_factory.mktemp(request.param) / "backbone"
    summary = build_demo_backbone(world, out, PretrainSettings(arch=request.param, **TINY), *feature_files)
    return request.param, out, summary


def test_corpus_reads_train_and_pretrain_only(world):
    corpus = collect_corpus(world)
    text = " ".join(corpus.tokenizer_texts())
    assert "zyzzyva" not in text  # test split never read
    for piece in (
        "what color is the cube?",
        "a0: the red cube.",
        "[Subs] look at the red cube",
        "someone moves the blue ball",
        "one ball that is red",
        "vqa: ",
        "gpa: ",
        "[Choices]",
        "what shape is the red object?",
    ):
        assert piece in text, piece
    assert sorted(corpus.files) == sorted(
        [f"annotations/{t}/train.jsonl" for t in ("caption", "gqa", "how2qa", "nlvr", "tvc", "tvqa", "vqa", "yc2c")]
        + [
            "annotations/pretrain/image_captions.jsonl",
            "annotations/pretrain/image_qa.jsonl",
            "annotations/pretrain/video_captions.jsonl",
        ]
    )
    assert corpus.qa[0] == {"key": "pimg0", "question": "what shape is the red object?", "answer": "cube"}


@pytest.mark.parametrize("arch", ["t5", "bart"])
def test_tokenizer_training_is_deterministic(world, arch):
    texts = collect_corpus(world).tokenizer_texts()
    a, b = (train_tokenizer(texts, arch, 300).backend_tokenizer.to_str() for _ in range(2))
    assert a == b


def test_span_corruption_round_trips():
    ids, sentinels = list(range(10, 40)), [900 - i for i in range(100)]
    src, tgt = span_corrupt(ids, random.Random(0), sentinels, eos_id=1)
    assert src[-1] == tgt[-1] == 1 and set(src) & set(sentinels)
    # filling each sentinel of the input with its span from the target gives the text back
    spans, cur = {}, None
    for t in tgt[:-1]:
        if t in sentinels:
            cur = spans.setdefault(t, [])
        else:
            cur.append(t)
    assert [x for t in src[:-1] for x in (spans[t] if t in sentinels else [t])] == ids


def test_one_token_answers_become_decoder_targets():
    # answers ("true", "a3", "white") are one-token texts: pre-training must teach the decoder to emit them
    src, tgt = span_corrupt([42], random.Random(0), [900, 899], eos_id=1)
    assert src == [900, 1] and tgt == [900, 42, 1]
    for seed in range(5):
        src, tgt = text_infill([42], random.Random(seed), mask_id=7, bos_id=0, eos_id=2)
        assert tgt == [0, 42, 2] and src[0] == 0 and 7 in src and src[-1] == 2


def test_text_infilling_masks_spans():
    ids = list(range(10, 60))
    src, tgt = text_infill(ids, random.Random(0), mask_id=7, bos_id=0, eos_id=2)
    assert tgt == [0] + ids + [2]
    assert src[0] == 0 and src[-1] == 2 and 7 in src
    assert [t for t in src[1:-1] if t != 7] == [t for t in ids if t in src]  # kept tokens in order
    assert len(src) < len(tgt)
    assert all(not (a == b == 7) for a, b in zip(src, src[1:]))  # adjacent masks collapse


def test_saved_directory_loads_offline(built):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    arch, out, summary = built
    assert sorted(p.name for p in out.iterdir()) == sorted(SAVED)
    model = AutoModelForSeq2SeqLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.config.model_type == arch
    n = len(tok)
    assert model.get_input_embeddings().weight.shape[0] == n == summary["tokenizer_size"]
    vocab = tok.get_vocab()
    for i in (0, 50, 99):
        assert vocab[f"<vis_extra_id_{i}>"] == n - 1 - i
        assert vocab[f"<extra_id_{i}>"] == n - 101 - i
    assert tok("the red cube <extra_id_0>")["input_ids"][-2:] == ([vocab["<extra_id_0>"], tok.eos_token_id])
    if arch == "bart":
        assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
        assert tok.mask_token_id == n - 201
    else:
        assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    assert not any("visual_embedding" in k for k in model.state_dict())  # projection discarded
    # no dropout (PretrainSettings.dropout), and fine-tuning keeps the saved config's
    rates = {k: v for k, v in model.config.to_dict().items() if k.endswith("dropout") or k == "dropout_rate"}
    assert rates and set(rates.values()) == {0.0}, rates
    assert summary["settings"]["dropout"] == 0.0


def test_build_model_accepts_it(built):
    from vlpeft.models.build import build_model

    arch, out, _ = built
    from transformers import AutoModelForSeq2SeqLM

    vl = build_model(out, feat_dim=16)  # no resize needed: the saved vocabulary is already the B.0 one
    assert vl.arch == arch
    ref = AutoModelForSeq2SeqLM.from_pretrained(out)
    assert torch.equal(vl.backbone.get_input_embeddings().weight, ref.get_input_embeddings().weight)


def test_loss_decreases(built):
    arch, out, summary = built
    assert summary["objectives"] == ["denoise", "caption_image", "qa_image", "caption_video"]
    for name in summary["objectives"]:
        assert summary["eval_loss"]["after"][name] < summary["eval_loss"]["before"][name] - 0.3, name
    log = read_jsonl(out / "pretrain_log.jsonl")
    assert [r["step"] for r in log] == list(range(1, TINY["steps"] + 1))
    assert {r["objective"] for r in log} == set(summary["objectives"])
    assert json.loads((out / "pretrain.json").read_text()) == summary


def test_training_starts_from_the_pretrained_projection(built):
    from safetensors.torch import load_file

    from vlpeft.train.build import RunSpec, build_run_model

    arch, out, _ = built
    saved = load_file(out / "visual_embedding.safetensors")
    assert {k.split(".")[0] for k in saved} == {"image", "video"}
    spec = RunSpec(group="image", backbone=arch, method="adapter_single", seed=1, tasks=["vqa"])
    model, _, _ = build_run_model(spec, str(out), feat_dim=16)
    state = model.visual_embedding.state_dict()
    assert state and all(torch.equal(v, saved[f"image.{k}"]) for k, v in state.items())
    assert all(p.requires_grad for p in model.visual_embedding.parameters())  # trained on, as in every method
    with pytest.raises(ValueError, match="the image visual projection does not fit this model"):
        build_run_model(spec, str(out), feat_dim=24)


def test_two_runs_give_identical_bytes(built, world, feature_files, tmp_path):
    arch, first, _ = built
    again = build_demo_backbone(world, tmp_path / "again", PretrainSettings(arch=arch, **TINY), *feature_files)
    assert again["eval_loss"] == built[2]["eval_loss"]
    for name in SAVED:
        assert (tmp_path / "again" / name).read_bytes() == (first / name).read_bytes(), name


def test_rerun_replaces_existing_output(world, tmp_path):
    out = tmp_path / "t5"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    settings = PretrainSettings(arch="t5", **{**TINY, "steps": 2})
    build_demo_backbone(world, out, settings)
    assert not (out / "stale.txt").exists() and (out / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t5"]  # no temporary or set-aside directory left


def test_cli_missing_inputs_name_the_path(world, tmp_path, capsys):
    base = ["backbone-demo", "--arch", "bart", "--out", str(tmp_path / "out"), "--steps", "1"]
    assert main(base + ["--data", str(tmp_path / "nowhere")]) == 1
    assert f"data directory not found: {tmp_path / 'nowhere'}" in capsys.readouterr().err

    broken = tmp_path / "broken"
    shutil.copytree(world, broken)
    (broken / "annotations" / "tvqa" / "train.jsonl").unlink()
    assert main(base + ["--data", str(broken)]) == 1
    assert str(broken / "annotations" / "tvqa" / "train.jsonl") in capsys.readouterr().err

    shutil.rmtree(broken / "annotations" / "tvqa")  # the other video tasks still need the video captions
    (broken / "annotations" / "pretrain" / "video_captions.jsonl").unlink()
    assert main(base + ["--data", str(broken)]) == 1
    assert str(broken / "annotations" / "pretrain" / "video_captions.jsonl") in capsys.readouterr().err

    assert main(base + ["--data", str(world), "--features-image", str(tmp_path / "img.h5")]) == 1
    assert str(tmp_path / "img.h5") in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_row_names_file_and_key(world, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(world, broken)
    path = broken / "annotations" / "vqa" / "train.jsonl"
    path.write_text(json.dumps({"id": "q1", "image_id": "i", "label": {}}) + "\n")
    with pytest.raises(KeyError, match=r"vqa/train.jsonl: row 'q1' has no key 'question'"):
        collect_corpus(broken)
