"""`vlpeft evaluate` round trip on the tiny world: train briefly, decode, score, write."""

import json
from pathlib import Path

import pytest
import torch
from tinyworld import evaluate_tiny, image_train_config

from vlpeft.cli import main
from vlpeft.eval.decode import generation_kwargs, true_false_ids
from vlpeft.eval.metrics import average, score_task
from vlpeft.features.cache import FeatureReader
from vlpeft.io import read_jsonl
from vlpeft.models import load_tokenizer
from vlpeft.pet import count_parameters, load_adapter
from vlpeft.tasks import TASKS
from vlpeft.train import RunSpec, train_run
from vlpeft.train.build import build_run_model
from vlpeft.train.data import Collator, TaskData, TextOptions, load_examples


@pytest.fixture(scope="module")
def image_run(world, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "image"
    spec = RunSpec(group="image", backbone="t5", method="adapter_single", seed=4, tasks=["vqa", "gqa", "nlvr"])
    train_run(image_train_config(world, out, spec, epochs=1, lr=1e-2))
    return out


def _evaluate(world, run, **kw):
    return evaluate_tiny(world, run, features_video=str(world["video"]), batch_size=3, **kw)


def test_round_trip_writes_sorted_predictions_and_consistent_metrics(world, image_run):
    metrics = _evaluate(world, image_run)
    assert set(metrics) == {"group", "backbone", "method", "seed", "params", "tasks", "average", "vqa_scorer"}
    assert metrics["vqa_scorer"] == "official2021"  # the CLI default; paper configs pick vladapter2017
    assert (metrics["group"], metrics["backbone"], metrics["method"], metrics["seed"]) == (
        "image",
        "t5",
        "adapter_single",
        4,
    )
    assert json.loads((image_run / "metrics.json").read_text()) == metrics
    for task in ("vqa", "gqa", "nlvr"):
        rows = read_jsonl(image_run / "predictions" / f"{task}.jsonl")
        examples = load_examples(world["data"], TASKS[task], "test")
        assert [r["id"] for r in rows] == sorted(ex["id"] for ex in examples)
        assert all(set(r) == {"id", "prediction"} for r in rows)
        preds = {r["id"]: r["prediction"] for r in rows}
        assert score_task(task, preds, examples) == metrics["tasks"][task]
        if task == "nlvr":
            assert set(preds.values()) <= {"true", "false"}
    assert metrics["average"] == pytest.approx(average(metrics["tasks"]))
    # deterministic bytes
    first = (image_run / "metrics.json").read_bytes(), (image_run / "predictions" / "vqa.jsonl").read_bytes()
    _evaluate(world, image_run)
    assert first == ((image_run / "metrics.json").read_bytes(), (image_run / "predictions" / "vqa.jsonl").read_bytes())


def test_params_and_nlvr_decision_match_the_model(world, image_run):
    spec = RunSpec.read(image_run)
    model, tok, cfg = build_run_model(spec, str(world["t5"]), feat_dim=8)
    load_adapter(image_run / "adapter.safetensors", model)
    model.eval()
    trainable, total, percent = count_parameters(model)
    metrics = json.loads((image_run / "metrics.json").read_text())
    assert metrics["params"] == {"trainable": trainable, "total": total, "percent": percent}
    # NLVR2: logit("true") vs logit("false") at the first decoder step, by hand
    data = TaskData(
        TASKS["nlvr"],
        load_examples(world["data"], TASKS["nlvr"], "test"),
        FeatureReader(world["image"]),
        TextOptions(True),
        spec.seed,
    )
    batch = Collator(tok, {"nlvr": TASKS["nlvr"]})([data.item(i) for i in range(len(data))])
    true_id, false_id = (
        tok.convert_tokens_to_ids(tok.tokenize("true"))[0],
        tok.convert_tokens_to_ids(tok.tokenize("false"))[0],
    )
    start = torch.full((len(data), 1), model.config.decoder_start_token_id)
    with torch.no_grad():
        logits = model(
            batch["input_ids"], batch["attention_mask"], batch["vis_feats"], "nlvr", decoder_input_ids=start
        ).logits[:, 0]
    expected = {
        i: "true" if t > f else "false" for i, t, f in zip(batch["ids"], logits[:, true_id], logits[:, false_id])
    }
    got = {r["id"]: r["prediction"] for r in read_jsonl(image_run / "predictions" / "nlvr.jsonl")}
    assert got == expected


def test_true_false_prefix_follows_the_training_targets(world):
    from vlpeft.models.tokenizer_train import train_tokenizer

    t5 = load_tokenizer(world["t5"])
    prefix, t, f = true_false_ids(t5)
    assert prefix == [] and t5.decode([t]).strip() != t5.decode([f]).strip()
    bart = train_tokenizer(["true false maybe true"] * 20, "bart", vocab_size=300)
    prefix, t, f = true_false_ids(bart)
    assert prefix == [bart.bos_token_id]  # BART targets are <s> true </s>: "true" is the 2nd label


def test_decoding_settings_per_task():
    assert generation_kwargs(TASKS["vqa"]) == {"num_beams": 1, "do_sample": False, "max_length": 20}
    assert generation_kwargs(TASKS["caption"])["num_beams"] == 5
    assert generation_kwargs(TASKS["caption"])["max_length"] == 40
    assert generation_kwargs(TASKS["tvc"])["max_length"] == 20
    # video QA: qa_predict generates with the scripts' --num_beams 5 and the default length 20
    for task in ("tvqa", "how2qa"):
        assert generation_kwargs(TASKS[task]) == {"num_beams": 5, "do_sample": False, "max_length": 20}
    with pytest.raises(ValueError, match="nlvr"):
        generation_kwargs(TASKS["nlvr"])


def test_checkpoint_generation_settings_as_transformers_4_2_1_applied():
    """facebook/bart-base's config sets no_repeat_ngram_size=3, early_stopping, num_beams 4 and
    forced_bos_token_id 0: 4.2.1 applied the first two (num_beams is always passed), not the BOS
    forcing (4.3+); BART forced EOS at the last step in beam search only (docs/methods.md C.6)."""
    from vlpeft.models import build_model

    torch.manual_seed(0)
    bart = build_model("tiny-bart", feat_dim=8, from_config=True)
    gen = bart.backbone.generation_config
    gen.no_repeat_ngram_size, gen.early_stopping, gen.num_beams, gen.forced_bos_token_id = 3, True, 4, 0
    beam = generation_kwargs(TASKS["caption"], bart)
    assert beam["num_beams"] == 5 and beam["max_length"] == 40
    assert beam["no_repeat_ngram_size"] == 3 and beam["early_stopping"] is True
    assert beam["forced_bos_token_id"] is None and beam["forced_eos_token_id"] == bart.config.eos_token_id
    greedy = generation_kwargs(TASKS["vqa"], bart)
    assert greedy["num_beams"] == 1 and greedy["no_repeat_ngram_size"] == 3
    assert greedy["forced_eos_token_id"] is None and greedy["forced_bos_token_id"] is None
    ids = torch.randint(3, 90, (2, 5))
    out = bart.generate(ids, torch.ones_like(ids), torch.randn(2, 1, 49, 8), "vqa", **greedy)
    for row in out.tolist():  # no trigram repeats under no_repeat_ngram_size=3
        grams = [tuple(row[i : i + 3]) for i in range(len(row) - 2)]
        assert len(grams) == len(set(grams))
    assert not bool((out[:, 1] == 0).all())  # the configured forced BOS (id 0) is not applied
    forced = bart.generate(ids, torch.ones_like(ids), torch.randn(2, 1, 49, 8), "vqa", num_beams=1, max_length=20)
    assert bool((forced[:, 1] == 0).all())  # ... which the checkpoint's config alone would apply
    t5 = build_model("tiny-t5", feat_dim=8, from_config=True)
    assert "no_repeat_ngram_size" not in generation_kwargs(TASKS["caption"], t5)
    assert generation_kwargs(TASKS["caption"], t5)["forced_eos_token_id"] is None


def test_video_run_via_cli(world, tmp_path, capsys):
    out = tmp_path / "video"
    common = [
        "--data",
        str(world["data"]),
        "--features-video",
        str(world["video"]),
        "--backbone",
        str(world["t5"]),
        "--device",
        "cpu",
        "--no-progress",
    ]
    assert (
        main(
            [
                "train",
                *common,
                "--method",
                "lora_single",
                "--group",
                "video",
                "--tasks",
                "tvqa,yc2c",
                "--out",
                str(out),
                "--epochs",
                "1",
                "--batch-size",
                "3",
                "--max-steps",
                "2",
            ]
        )
        == 0
    )
    assert main(["evaluate", "--run", str(out), *common, "--tasks", "tvqa", "--split", "val"]) == 0
    metrics = json.loads((out / "metrics_val.json").read_text())
    assert list(metrics["tasks"]) == ["tvqa"] and "accuracy" in metrics["tasks"]["tvqa"]
    preds = read_jsonl(out / "predictions_val" / "tvqa.jsonl")
    assert [p["id"] for p in preds] == [f"tvqa-val-{i}" for i in range(3)]
    assert "tvqa: accuracy" in capsys.readouterr().out


def test_caption_beam_decoding_runs(world):
    from vlpeft.eval.decode import decode_task

    spec = RunSpec(group="image", backbone="t5", method="adapter_single", tasks=["caption"])
    model, tok, _ = build_run_model(spec, str(world["t5"]), feat_dim=8)
    data = TaskData(
        TASKS["caption"],
        load_examples(world["data"], TASKS["caption"], "test")[:2],
        FeatureReader(world["image"]),
        TextOptions(True),
        spec.seed,
    )
    preds = decode_task(model, tok, data, batch_size=2, device=torch.device("cpu"), progress=False)
    assert sorted(preds) == ["caption-test-0", "caption-test-1"]
    assert all(len(tok(p)["input_ids"]) <= 40 for p in preds.values())


def test_missing_run_files_are_named(world, tmp_path):
    with pytest.raises(FileNotFoundError, match="run.json"):
        _evaluate(world, tmp_path)
    RunSpec(group="image", backbone="t5", method="adapter_single").write(tmp_path)
    with pytest.raises(FileNotFoundError, match="adapter.safetensors"):
        _evaluate(world, tmp_path)
    with pytest.raises(KeyError, match="tvqa"):
        _evaluate(world, tmp_path, tasks=["tvqa"])
