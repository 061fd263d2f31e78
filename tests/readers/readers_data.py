"""Tiny copies of the published layouts, written by the tests: a few records per file, with the
quirks the readers must handle (restval, records without raw answers, "True"/"False" labels, TVQA
string spans, subtitles with padding, choices ending in a dot, YC2C without ts); shared helpers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from vlpeft.data.readers import ReadResult
from vlpeft.data.readers.schema import validate_rows
from vlpeft.tasks import SPLITS, TASKS, source_text, target_texts, visual_ids

REPO = Path(__file__).resolve().parents[2]
MANIFEST_DIR = REPO / "config" / "data"


def dump(path: Path, obj, lines: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(o) + "\n" for o in obj) if lines else json.dumps(obj)
    path.write_text(text, encoding="utf-8")


def vqa_record(qid: int, img: str, label: dict, answers: list | None = None) -> dict:
    rec = {
        "answer_type": "other",
        "img_id": img,
        "label": label,
        "question_id": qid,
        "question_type": "what is",
        "sent": f"What is thing {qid}? ",
        "is_topk_optimal": True,
    }
    if answers is not None:
        rec["answers"] = answers
    return rec


TEN = ["net"] * 7 + ["mesh"] * 2 + ["netting"]
VQA = {
    "train": [
        vqa_record(
            11,
            "COCO_train2014_000000000011",
            {"net": 1, "mesh": 0.6},
            [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1} for i, a in enumerate(TEN)],
        ),
        vqa_record(2, "COCO_train2014_000000000002", {"two": 0.9}, ["two"] * 10),
        vqa_record(3, "COCO_train2014_000000000003", {}, ["zzz"] * 10),
    ],  # out of vocabulary
    "val": [
        vqa_record(21, "COCO_val2014_000000000021", {"yes": 1}),  # raw answers from the official file
        vqa_record(22, "COCO_val2014_000000000022", {}, ["qqq"] * 10),
    ],
    "test": [vqa_record(31, "COCO_val2014_000000000031", {"red": 0.3, "blue": 1}, ["blue"] * 9 + ["red"])],
}
VQA_OFFICIAL_VAL = {
    "annotations": [
        {
            "question_id": 21,
            "answer_type": "yes/no",
            "question_type": "is",
            "answers": [{"answer": "yes", "answer_id": i + 1} for i in range(10)],
        }
    ]
}

GQA = {
    "train": [{"img_id": "2375429", "sent": "What is on the wall?", "question_id": "07333408", "label": {"pipe": 1.0}}],
    "valid": [{"img_id": "2375430", "sent": "Is it red?", "question_id": "07333409", "label": {"no": 1.0}}],
    "testdev": [
        {"img_id": "n161313", "sent": "Who wears the hat?", "question_id": "20968379", "label": {"man": 1.0}},
        {"img_id": "n161314", "sent": "Is the sky blue?", "question_id": "20968380", "label": {"yes": 1.0}},
    ],
}

NLVR_VLT5 = {
    "train": [
        {
            "identifier": "train-10171-0-0",
            "img0": "train-10171-0-img0",
            "img1": "train-10171-0-img1",
            "label": 0,
            "sent": "An image shows one pencil case.",
            "uid": "nlvr2_train_0",
        },
        {
            "identifier": "train-10171-0-1",
            "img0": "train-10171-0-img0",
            "img1": "train-10171-0-img1",
            "label": 1,
            "sent": "There are two dogs.",
            "uid": "nlvr2_train_1",
        },
    ],
    "valid": [
        {
            "identifier": "dev-5-1-0",
            "img0": "dev-5-1-img0",
            "img1": "dev-5-1-img1",
            "label": 1,
            "sent": "Both images show a bird.",
            "uid": "nlvr2_dev_0",
        }
    ],
    "test": [
        {
            "identifier": "test1-7-2-1",
            "img0": "test1-7-2-img0",
            "img1": "test1-7-2-img1",
            "label": 0,
            "sent": "The left image has more cats.",
            "uid": "nlvr2_test_0",
        }
    ],
}
NLVR_OFFICIAL = {
    "train": [
        {
            "identifier": "train-3-0-0",
            "sentence": "One dog.",
            "label": "True",
            "left_url": "http://x/l.jpg",
            "right_url": "http://x/r.jpg",
            "writer": "103",
            "synset": "dog",
            "query": "dog",
        }
    ],
    "dev": [
        {"identifier": "dev-850-0-0", "sentence": "No birds.", "label": "False", "left_url": "u", "right_url": "v"}
    ],
    "test1": [
        {"identifier": "test1-1-1-3", "sentence": "Two cats.", "label": "True", "left_url": "u", "right_url": "v"}
    ],
}


def coco_image(cocoid: int, folder: str, split: str, n: int = 5) -> dict:
    return {
        "filepath": folder,
        "filename": f"COCO_{folder}_{cocoid:012d}.jpg",
        "cocoid": cocoid,
        "imgid": cocoid,
        "split": split,
        "sentids": list(range(n)),
        "sentences": [
            {"raw": f"A caption {k} of image {cocoid}. ", "tokens": ["a"], "imgid": cocoid, "sentid": k}
            for k in range(n)
        ],
    }


COCO = {
    "dataset": "coco",
    "images": [
        coco_image(391895, "val2014", "test"),
        coco_image(522418, "val2014", "restval"),
        coco_image(184613, "val2014", "val"),
        coco_image(318219, "train2014", "train"),
    ],
}


def write_vlt5(root: Path) -> Path:
    """The VL-T5 / VL-Adapter ``datasets/`` layout of the four image tasks."""
    for split, recs in VQA.items():
        dump(root / "vqa" / f"karpathy_{split}.json", recs)
    dump(root / "vqa" / "v2_mscoco_val2014_annotations.json", VQA_OFFICIAL_VAL)
    for split, recs in GQA.items():
        dump(root / "GQA" / f"{split}.json", recs)
    for split, recs in NLVR_VLT5.items():
        dump(root / "nlvr" / f"{split}.json", recs)
    dump(root / "COCO" / "dataset_coco.json", COCO)
    return root


def write_nlvr_official(root: Path) -> Path:
    for split, recs in NLVR_OFFICIAL.items():
        dump(root / "nlvr2" / "data" / f"{split}.json", recs, lines=True)  # JSON lines named .json
    return root


TV_SUBS = [
    {
        "vid_name": "s03e02_seg02_clip_10",
        "sub": [
            {"text": " Howard : Hi. ", "start": 0.862, "end": 1.862},
            {"text": "Raj : Hello!", "start": 2.0, "end": 3.5},
        ],
    },
    {"vid_name": "friends_s01e01_seg02_clip_00", "sub": [{"text": "Joey : How you doin'?", "start": 1, "end": 2}]},
]
HOW2_SUBS = [{"vid_name": "how2_vid_a", "sub": [{"text": "first we chop", "start": 0.5, "end": 2.5}]}]
YC2_SUBS = [
    {"vid_name": "yc2_clip_0", "sub": [{"text": "add the salt", "start": 3.0, "end": 4.0}]},
    {"vid_name": "yc2_clip_1", "sub": []},
]


def qa_record(qid: int, vid: str, n: int, answer: int, ts) -> dict:
    rec = {"qid": qid, "q": f" Why question {qid}? ", "answer_idx": answer, "ts": ts, "vid_name": vid}
    rec.update({f"a{k}": f"Choice {k} of {qid}. " for k in range(n)})
    return rec


TVQA = {
    "train": [{**qa_record(7, "s03e02_seg02_clip_10", 5, 2, "20.16-25.12"), "show_name": "The Big Bang Theory"}],
    "val": [{**qa_record(122039, "friends_s01e01_seg02_clip_00", 5, 4, "0.5-3"), "show_name": "Friends"}],
}
HOW2QA = {
    "train": [qa_record(1, "how2_vid_a", 4, 3, [0.5, 10.0])],
    "val": [qa_record(2, "how2_vid_a", 4, 0, "1.0-2.0")],
}


def cap_record(clip_id: int, vid: str, descs: list[tuple[int, str]], ts=None, duration: float = 60.0) -> dict:
    rec = {
        "vid_name": vid,
        "duration": duration,
        "clip_id": clip_id,
        "descs": [{"desc": d, "desc_id": i, "type": "v", "from_retrieval": False} for i, d in descs],
    }
    if ts is not None:
        rec["ts"] = ts
    return rec


TVC = {
    "train": [
        cap_record(5, "s03e02_seg02_clip_10", [(62633, "Howard waves. "), (62634, "Raj says hello.")], ts=[35.73, 40.9])
    ],
    "val": [
        cap_record(
            6,
            "friends_s01e01_seg02_clip_00",
            [(9, "Joey smiles."), (10, "Joey talks."), (11, "A man sits."), (12, "Joey grins.")],
            ts=[1.0, 2.5],
        )
    ],
}
YC2C = {
    "train": [cap_record(100, "yc2_clip_0", [(500, "add salt to the pot")], duration=12.5)],
    "val": [cap_record(101, "yc2_clip_1", [(501, "stir the soup")], ts=[0.0, 8.0])],
}


def write_value(root: Path) -> Path:
    """The VALUE release under VL-Adapter's ``datasets/video/`` (annotations, subtitles, clip-vit)."""
    ann = root / "ann"
    dump(ann / "tv_subtitles.jsonl", TV_SUBS, lines=True)
    dump(ann / "how2_subtitles.jsonl", HOW2_SUBS, lines=True)
    dump(ann / "yc2_subtitles.jsonl", YC2_SUBS, lines=True)
    for split, recs in TVQA.items():
        dump(ann / "tvqa" / f"tvqa_{split}.jsonl", recs, lines=True)
    for name, table in (("how2qa", HOW2QA), ("tvc", TVC), ("yc2c", YC2C)):
        for split, recs in table.items():
            dump(ann / name / f"{name}_{split}_release.jsonl", recs, lines=True)
    write_npz_features(root / "vis_features" / "tv" / "clip-vit", [s["vid_name"] for s in TV_SUBS])
    return root


def npz_array(vid: str, length: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(sum(map(ord, vid)))
    return rng.standard_normal((length or 3 + len(vid) % 4, 512)).astype(np.float32)


def write_npz_features(folder: Path, vids: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for vid in vids:
        np.savez(folder / f"{vid}.npz", features=npz_array(vid))


# --- assertions and runners shared by the tests ---------------------------------------------


def assert_usable(task: str, result: ReadResult) -> None:
    """Every split present, rows valid per the schema and usable by the task registry."""
    spec = TASKS[task]
    assert set(result.rows[task]) == set(SPLITS)
    for split, rows in result.rows[task].items():
        validate_rows(spec.family, rows, f"{task} {split}")
        for row in rows:
            assert source_text(spec, row, use_task_prompt=True)
            assert visual_ids(spec, row)
            if split == "train" and row.get("label") != {}:  # VQA: an empty label stays, with weight 0
                assert target_texts(spec, row)


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in rows}


def run_verb(module, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))
