"""`vlpeft export`: a folder PEFT loads with the same logits, a merge with the same logits, a model
card, and a folder `vlpeft predict` runs from."""

import json

import pytest
import torch

from vlpeft.cli import main
from vlpeft.export import export_run
from vlpeft.pet import load_adapter
from vlpeft.predict import Inputs, open_source, predict
from vlpeft.tasks import TASKS
from vlpeft.train.build import build_run_model
from vlpeft.train.data import load_examples


def _ours(pworld, run):
    source = open_source(run)
    model, _, _ = build_run_model(source.spec, str(pworld["t5"]), source.feat_dim)
    load_adapter(source.adapter, model)
    return model.eval(), source


def _inputs_embeds(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    d = model.config.d_model
    embeds = torch.randn(2, 7, d, generator=g)
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 5:] = 0
    dec = torch.randint(3, 50, (2, 4), generator=g)
    return {"inputs_embeds": embeds, "attention_mask": mask, "decoder_input_ids": dec}


@pytest.fixture(scope="module")
def exported(pworld, tmp_path_factory):
    from tinyworld import evaluate_tiny

    evaluate_tiny(pworld, pworld["image_run"], batch_size=2, meteor=False)  # metrics.json for the card
    root = tmp_path_factory.mktemp("exports")
    out = {
        "lora": export_run(pworld["image_run"], root / "lora", backbone=str(pworld["t5"])),
        "merged": export_run(pworld["image_run"], root / "merged", backbone=str(pworld["t5"]), merge=True),
    }
    return out


def test_peft_loads_the_lora_with_the_same_logits(pworld, exported):
    from peft import PeftModel

    from vlpeft.export import stock_backbone

    model, _ = _ours(pworld, pworld["image_run"])
    d = exported["lora"]
    assert (d / "adapter_config.json").is_file() and (d / "adapter_model.safetensors").is_file()
    config = json.loads((d / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4 and config["base_model_name_or_path"] == str(pworld["t5"])
    base = stock_backbone(str(pworld["t5"]), model.backbone.get_input_embeddings().num_embeddings)
    inputs = _inputs_embeds(model)
    with torch.no_grad():
        stock_logits = base(**inputs).logits
        peft_model = PeftModel.from_pretrained(base, str(d)).eval()
        theirs = peft_model(**inputs).logits
        ours = model.backbone(**inputs).logits
    assert not torch.allclose(ours, stock_logits, atol=1e-4)  # the LoRA does something
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)


def test_merge_gives_the_same_logits_and_predictions(pworld, exported):
    model, source = _ours(pworld, pworld["image_run"])
    merged_dir = exported["merged"]
    assert not (merged_dir / "adapter.safetensors").exists() and (merged_dir / "backbone" / "config.json").is_file()
    from vlpeft.models import build_model, load_visual_embedding

    merged = build_model(merged_dir / "backbone", feat_dim=source.feat_dim)
    assert load_visual_embedding(merged, merged_dir / "backbone", "image")
    merged.eval()
    inputs = _inputs_embeds(model, seed=1)
    vis = torch.randn(2, 1, 49, source.feat_dim, generator=torch.Generator().manual_seed(2))
    ids = torch.randint(3, 50, (2, 5), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(merged.backbone(**inputs).logits, model.backbone(**inputs).logits, rtol=0, atol=1e-5)
        full = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "vis_feats": vis,
            "task": "vqa",
            "decoder_input_ids": inputs["decoder_input_ids"],
        }
        torch.testing.assert_close(merged(**full).logits, model(**full).logits, rtol=0, atol=1e-5)
    # predict runs from both exports and agrees with the run
    for task in ("vqa", "nlvr", "caption"):
        ex = load_examples(pworld["data"], TASKS[task], "test")[0]
        ids_ = ex.get("image_ids") or [ex["image_id"]]
        inp = Inputs(
            images=[str(pworld["images"] / f"{i}.png") for i in ids_],
            question=ex.get("question"),
            statement=ex.get("sentence"),
        )
        want = predict(
            pworld["image_run"], task, inp, backbone=str(pworld["t5"]), clip=str(pworld["clip_rn"]), device="cpu"
        )["prediction"]
        for d in exported.values():
            assert predict(d, task, inp, clip=str(pworld["clip_rn"]), device="cpu")["prediction"] == want


def test_model_card_and_config(pworld, exported):
    card = (exported["lora"] / "README.md").read_text()
    for text in (
        "lora_single",
        "vqa, gqa, nlvr, caption",
        "trainable parameters",
        "## Metrics",
        "## Paper row",
        "PeftModel.from_pretrained",
        "library_name: peft",
        "license: mit",
        "**LoRA**",
    ):
        assert text in card, text
    metrics = json.loads((pworld["image_run"] / "metrics.json").read_text())
    scores = " | ".join(f"{v[TASKS[t].metric]:.2f}" for t, v in metrics["tasks"].items())
    assert f"| score | {scores} | {metrics['average']:.2f} |" in card and "vqa (vqa_score)" in card
    info = json.loads((exported["lora"] / "export.json").read_text())
    assert info["run"]["method"] == "lora_single" and info["method_config"]["r"] == 4
    assert info["feat_dim"] == open_source(pworld["image_run"]).feat_dim
    assert 0 < info["params"]["percent"] < 100 and info["peft"] == ["."]
    assert info["features"]["encoder"] == "clip_rn.pt"
    # deterministic: a second export writes the same bytes
    again = export_run(pworld["image_run"], exported["lora"].parent / "again", backbone=str(pworld["t5"]))
    for name in (
        "adapter_model.safetensors",
        "adapter.safetensors",
        "visual_embedding.safetensors",
        "adapter_config.json",
        "run.json",
    ):
        assert (exported["lora"] / name).read_bytes() == (again / name).read_bytes(), name
    second = json.loads((again / "export.json").read_text())
    assert {**second, "name": "lora"} == info
    assert (again / "README.md").read_text().replace("again", "lora") == card


def test_paper_row_in_the_card_of_a_paper_backbone():
    from vlpeft.export import paper_rows_for

    rows = paper_rows_for("lora_single", "image", "bart", "bart")
    assert rows and {r["row"] for r in rows} <= {"LoRA", "Single LoRA"}
    assert {"VL-PET/table2_image_text", "VL-Adapter/table1_image_text_VL-BART"} <= {r["table"] for r in rows}
    t5 = paper_rows_for("lora_single", "image", "t5", "t5")
    assert t5 and not any("BART" in r["table"] for r in t5)
    assert {r["table"]: r["scores"]["vqa"] for r in t5} != {r["table"]: r["scores"]["vqa"] for r in rows}


def test_export_errors(pworld, exported, capsys, tmp_path):
    # merge needs a single LoRA
    other = tmp_path / "adapter_run"
    from predictworld import train

    train(pworld, other, "image", "adapter_single", ["vqa"])
    assert main(["export", str(other), "--to", str(tmp_path / "x"), "--backbone", str(pworld["t5"]), "--merge"]) == 1
    assert "single LoRA" in capsys.readouterr().err
    # a non-LoRA method exports without PEFT files, and predict runs from it
    out = export_run(other, tmp_path / "adapter_export", backbone=str(pworld["t5"]))
    assert not (out / "adapter_config.json").exists() and "PEFT files: none" in (out / "README.md").read_text()
    ex = load_examples(pworld["data"], TASKS["vqa"], "test")[0]
    inp = Inputs(images=[str(pworld["images"] / f"{ex['image_id']}.png")], question=ex["question"])
    assert (
        predict(out, "vqa", inp, clip=str(pworld["clip_rn"]), device="cpu")["prediction"]
        == predict(other, "vqa", inp, backbone=str(pworld["t5"]), clip=str(pworld["clip_rn"]), device="cpu")[
            "prediction"
        ]
    )
    # an occupied folder is not overwritten
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "keep.txt").write_text("x")
    assert main(["export", str(other), "--to", str(tmp_path / "occupied"), "--backbone", str(pworld["t5"])]) == 1
    assert "not an earlier export" in capsys.readouterr().err
    assert (tmp_path / "occupied" / "keep.txt").read_text() == "x"


def test_peft_per_task_lora_with_biases_on_bart(pworld, tmp_path_factory):
    """lora_multiple on BART: one PEFT folder per task, the trained biases (quirk F2) carried by bias="all"."""
    from peft import PeftModel
    from predictworld import train
    from tinyworld import write_backbone

    from vlpeft.export import stock_backbone

    root = tmp_path_factory.mktemp("bart")
    bart = write_backbone(pworld["data"], root / "bart", "bart")
    world = {**pworld, "t5": bart}
    run = train(world, root / "run", "image", "lora_multiple", ["vqa", "caption"], {"r": 4, "alpha": 8, "dropout": 0.0})
    out = export_run(run, root / "export", backbone=str(bart))
    info = json.loads((out / "export.json").read_text())
    assert info["peft"] == ["peft/caption", "peft/vqa"]
    model, _ = _ours(world, run)
    n_vocab = model.backbone.get_input_embeddings().num_embeddings
    inputs = _inputs_embeds(model, seed=4)
    stock = dict(stock_backbone(str(bart), n_vocab).named_parameters())
    moved = [
        n
        for n, p in model.backbone.named_parameters()
        if n.endswith("bias") and "lora_" not in n and not torch.equal(p, stock[n.replace(".base_layer", "")])
    ]
    assert moved  # training moved biases: without them the PEFT logits would differ
    for task in ("vqa", "caption"):
        config = json.loads((out / "peft" / task / "adapter_config.json").read_text())
        assert config["bias"] == "all"
        with torch.no_grad():
            model.task_context.task = task
            ours = model.backbone(**inputs).logits
            theirs = (
                PeftModel.from_pretrained(stock_backbone(str(bart), n_vocab), str(out / "peft" / task))
                .eval()(**inputs)
                .logits
            )
        torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)
    assert main(["export", str(run), "--to", str(root / "m"), "--backbone", str(bart), "--merge"]) == 1


@pytest.mark.parametrize("method", ["prompt_single", "prompt_multiple"])
def test_peft_prompt_tuning_gives_the_same_logits(pworld, tmp_path, method):
    """Our backbone on [prompt; inputs_embeds] = PEFT's prompt tuning on inputs_embeds."""
    from peft import PeftModel
    from predictworld import train

    from vlpeft.export import stock_backbone

    run = train(pworld, tmp_path / "run", "image", method, ["vqa", "caption"], {"prompt_len": 3, "mid_dim": 8})
    out = export_run(run, tmp_path / "export", backbone=str(pworld["t5"]))
    dirs = json.loads((out / "export.json").read_text())["peft"]
    assert dirs == (["."] if method == "prompt_single" else ["peft/caption", "peft/vqa"])
    model, _ = _ours(pworld, run)
    n_vocab = model.backbone.get_input_embeddings().num_embeddings
    inputs = _inputs_embeds(model, seed=5)
    for task, sub in zip(["vqa", "caption"] if method == "prompt_single" else ["caption", "vqa"], dirs * 2):
        config = json.loads((out / sub / "adapter_config.json").read_text())
        assert config["peft_type"] == "PROMPT_TUNING" and config["num_virtual_tokens"] == 3
        with torch.no_grad():
            prompt = model.prompt(task, 2)
            ours = model.backbone(
                inputs_embeds=torch.cat([prompt, inputs["inputs_embeds"]], 1),
                attention_mask=torch.cat([torch.ones(2, 3, dtype=torch.long), inputs["attention_mask"]], 1),
                decoder_input_ids=inputs["decoder_input_ids"],
            ).logits
            peft_model = PeftModel.from_pretrained(stock_backbone(str(pworld["t5"]), n_vocab), str(out / sub)).eval()
            theirs = peft_model(**inputs).logits
            stock = stock_backbone(str(pworld["t5"]), n_vocab)(**inputs).logits
        assert not torch.allclose(stock, ours, atol=1e-4)
        torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)


def test_peft_carries_the_rows_added_to_a_stock_vocabulary(pworld, tmp_path):
    """A stock checkpoint with fewer rows than the prepared tokenizer (as t5-base / bart-base have):
    our rows for the added tokens are saved with the adapter, and PEFT loads them back."""
    import shutil

    from peft import PeftModel
    from predictworld import train
    from transformers import T5ForConditionalGeneration

    small = tmp_path / "t5_small_vocab"
    shutil.copytree(pworld["t5"], small)
    stock = T5ForConditionalGeneration.from_pretrained(str(pworld["t5"]))
    n = stock.get_input_embeddings().num_embeddings
    stock.resize_token_embeddings(n - 5)
    stock.save_pretrained(str(small))
    world = {**pworld, "t5": small}
    run = train(world, tmp_path / "run", "image", "lora_single", ["vqa"], {"r": 4, "alpha": 8, "dropout": 0.0})
    out = export_run(run, tmp_path / "export", backbone=str(small))
    info = json.loads((out / "export.json").read_text())
    assert (info["vocab_size"], info["stock_vocab_size"]) == (n, n - 5)
    assert f"base.resize_token_embeddings({n})" in (out / "README.md").read_text()
    model, _ = _ours(world, run)
    base = T5ForConditionalGeneration.from_pretrained(str(small))
    base.resize_token_embeddings(n)
    inputs = _inputs_embeds(model, seed=6)
    with torch.no_grad():
        theirs = PeftModel.from_pretrained(base, str(out)).eval()(**inputs).logits
        ours = model.backbone(**inputs).logits
    assert theirs.shape[-1] == n
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)


def test_video_export_predicts_like_the_run(pworld, tmp_path):
    """A merged export of a video run answers a video question as the run does (frame sampling from the record)."""
    out = export_run(pworld["video_run"], tmp_path / "video_merged", backbone=str(pworld["t5"]), merge=True)
    for task in ("tvqa", "yc2c"):
        ex = load_examples(pworld["data"], TASKS[task], "test")[0]
        inp = Inputs(
            video=str(pworld["videos"] / f"{ex['video_id']}.mp4"),
            question=ex.get("question"),
            choices=list(ex.get("choices", [])),
            subtitles=[s["text"] for s in ex["subtitles"]],
            ts=tuple(ex["ts"]),
        )
        want = predict(
            pworld["video_run"], task, inp, backbone=str(pworld["t5"]), clip=str(pworld["clip_vit"]), device="cpu"
        )
        got = predict(out, task, inp, clip=str(pworld["clip_vit"]), device="cpu")
        assert got["prediction"] == want["prediction"] and got["frames"] == want["frames"]
