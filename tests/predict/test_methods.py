"""`vlpeft predict` works for every method family (not only LoRA): the answer equals evaluate's."""

import pytest
from predictworld import train
from tinyworld import evaluate_tiny

from vlpeft.io import read_jsonl
from vlpeft.predict import Inputs, predict
from vlpeft.tasks import TASKS
from vlpeft.train.data import load_examples

# one method per family that lora_single (test_predict) does not cover; small sizes for the tiny backbone
FAMILIES = {
    "full_finetuning": {},
    "adapter_multiple": {},
    "hyperformer": {"task_embedding_dim": 8, "task_hidden_dim": 4},
    "prompt_multiple": {"prompt_len": 3, "mid_dim": 8},
    "vl_pet_large": {"r": 4, "gate_dim": 4, "decoder_vpa_dim": 4},
}


@pytest.mark.parametrize("method", sorted(FAMILIES))
def test_every_family_predicts_what_evaluate_decodes(pworld, tmp_path, method):
    run = train(pworld, tmp_path / method, "image", method, ["vqa", "nlvr"], FAMILIES[method])
    evaluate_tiny(pworld, run, batch_size=2, meteor=False)
    for task in ("vqa", "nlvr"):
        ex = load_examples(pworld["data"], TASKS[task], "test")[1]
        want = {r["id"]: r["prediction"] for r in read_jsonl(run / "predictions" / f"{task}.jsonl")}[ex["id"]]
        images = ex.get("image_ids") or [ex["image_id"]]
        inputs = Inputs(
            images=[str(pworld["images"] / f"{i}.png") for i in images],
            question=ex.get("question"),
            statement=ex.get("sentence"),
        )
        got = predict(run, task, inputs, backbone=str(pworld["t5"]), clip=str(pworld["clip_rn"]), device="cpu")
        assert got["prediction"] == want
