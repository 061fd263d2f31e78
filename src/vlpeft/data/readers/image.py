"""Readers of the image-text datasets as VL-T5 / VL-Adapter distribute them (and the official
NLVR2 release): VQAv2 (Karpathy splits), GQA, NLVR2, COCO Karpathy captions.

Split mapping (docs/methods.md C.3):

- vqa: ``karpathy_train`` -> train, ``karpathy_val`` -> val, ``karpathy_test`` -> test.
- gqa: ``train`` + ``valid`` -> train; ``testdev`` -> val **and** test (the papers train on
  train,valid and validate and report on test-dev; there is no other labelled GQA split).
- nlvr: ``train`` / ``valid`` / ``test`` (test-P) of VL-T5, or ``train`` / ``dev`` / ``test1`` of
  the official release.
- caption: Karpathy ``train`` + ``restval`` -> train, ``val`` -> val, ``test`` -> test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlpeft.progress import progress_bar as tqdm

from .base import ReadResult
from .manifest import DatasetFiles, where_to_get
from .records import RecordError, field, id_field, load_records, parse_bool, record_list, sort_rows, text_field

# --- VQAv2 -------------------------------------------------------------------------------------
# VL-T5 vqa/karpathy_{train,val,test}.json, a JSON list of
#   {"img_id": "COCO_train2014_000000458752", "sent": "What is this photo taken looking through?",
#    "question_id": 458752000, "label": {"net": 1}, "answer_type": "other",
#    "question_type": "what is this", "is_topk_optimal": true}
# "label" holds VL-T5's soft scores of the normalised answers (kept as published). The raw human
# answers ("answers": [{"answer": "net", ...}] or [str]) are read from the record when present,
# else from the official v2_mscoco_{train,val}2014_annotations.json ({"annotations": [{
# "question_id", "answers": [{"answer"}], ...}]}), which VL-T5's evaluate_raw also reads.
VQA_IMAGE = ("img_id", "image_id")
VQA_QUESTION = ("sent", "question")
VQA_QID = ("question_id", "qid")
VQA_LABEL = "label"
VQA_ANSWERS = "answers"
VQA_ANSWER = "answer"  # the text inside an answer object
VQA_OFFICIAL_LIST = "annotations"
VQA_EXTRA = ("answer_type", "question_type")  # copied to the rows when present
VQA_SPLITS = {"train": "train", "val": "val", "test": "test"}  # split -> manifest role
VQA_OFFICIAL_ROLES = ("official_train", "official_val")

# --- GQA ---------------------------------------------------------------------------------------
# VL-T5 GQA/{train,valid,testdev}.json, a JSON list of
#   {"img_id": "2375429", "sent": "What is on the white wall?", "question_id": "07333408",
#    "label": {"pipe": 1.0}}
GQA_IMAGE, GQA_QUESTION, GQA_QID, GQA_LABEL = VQA_IMAGE, VQA_QUESTION, VQA_QID, VQA_LABEL
GQA_SPLITS = {"train": ("train", "valid"), "val": ("testdev",), "test": ("testdev",)}

# --- NLVR2 -------------------------------------------------------------------------------------
# VL-T5 nlvr/{train,valid,test}.json, a JSON list of
#   {"identifier": "train-10171-0-0", "img0": "train-10171-0-img0", "img1": "train-10171-0-img1",
#    "label": 0, "sent": "An image shows one leather pencil case ...", "uid": "nlvr2_train_0"}
# or the official lil-lab/nlvr nlvr2/data/{train,dev,test1}.json, JSON lines of
#   {"identifier": "train-10171-0-0", "sentence": "...", "label": "False", "left_url": ..., ...}
# whose images are named <identifier without its last part>-img0 / -img1.
NLVR_ID = "identifier"
NLVR_SENTENCE = ("sent", "sentence")
NLVR_LABEL = "label"
NLVR_LEFT, NLVR_RIGHT = "img0", "img1"
NLVR_SPLITS = ("train", "val", "test")  # manifest roles = splits

# --- COCO captions (Karpathy) -------------------------------------------------------------------
# dataset_coco.json: {"images": [{"filepath": "val2014", "filename": "COCO_val2014_000000391895.jpg",
#   "cocoid": 391895, "split": "train" | "restval" | "val" | "test",
#   "sentences": [{"raw": "A man with a red helmet ...", "tokens": [...]}, ...]}, ...]}
# The image id is the file name without extension (VL-T5's img_id, also the VQA image ids).
COCO_IMAGES = "images"
COCO_FILENAME = "filename"
COCO_SPLIT = "split"
COCO_SENTENCES = "sentences"
COCO_RAW = "raw"
COCO_EXTRA = ("cocoid",)
COCO_SPLIT_MAP = {"train": "train", "restval": "train", "val": "val", "test": "test"}


def _records(files: DatasetFiles, role: str, key: str | None = None) -> tuple[Path, list[dict]]:
    path = files.path(role)
    return path, record_list(load_records(path), path, key)


def _bar(records: list[dict], what: str, progress: bool):
    return tqdm(enumerate(records), total=len(records), desc=what, unit="rec", disable=not progress)


def _label(rec: dict, path: Path, index: int) -> dict[str, float]:
    label = field(rec, VQA_LABEL, path, index)
    if not isinstance(label, dict) or not all(
        isinstance(s, (int, float)) and not isinstance(s, bool) and 0 <= s <= 1 for s in label.values()
    ):
        raise RecordError(
            f"{path}: record {index}: {VQA_LABEL!r} should map answers to scores in [0, 1], got {label!r}"
        )
    return {str(a): float(s) for a, s in label.items()}


def _answer_texts(value: Any, path: Path, index: int) -> list[str]:
    if not isinstance(value, list):
        raise RecordError(f"{path}: record {index}: {VQA_ANSWERS!r} should be a list, got {value!r}")
    out = []
    for a in value:
        text = a.get(VQA_ANSWER) if isinstance(a, dict) else a
        if not isinstance(text, str):
            raise RecordError(f"{path}: record {index}: bad answer {a!r} (a string or {{{VQA_ANSWER!r}: str}})")
        out.append(text)
    return out


class _OfficialAnswers:
    """question id -> raw answers from the official VQA annotation files, loaded on first use."""

    def __init__(self, files: DatasetFiles):
        self.files = files
        self._table: dict[str, list[str]] | None = None

    def get(self, qid: str, path: Path, index: int) -> list[str]:
        if self._table is None:
            self._table = self._load()
        if qid not in self._table:
            roles = [r for r in VQA_OFFICIAL_ROLES if r in self.files.manifest.files]
            hint = "; ".join(
                f"{self.files.manifest.files[r].path}: {where_to_get(self.files.manifest.files[r])}" for r in roles
            )
            raise RecordError(
                f"{path}: record {index} (question_id {qid}): no {VQA_ANSWERS!r} in the record "
                f"and none in the official annotations ({hint or 'none declared'})"
            )
        return self._table[qid]

    def _load(self) -> dict[str, list[str]]:
        table: dict[str, list[str]] = {}
        for role in VQA_OFFICIAL_ROLES:
            if not self.files.has(role):
                continue
            path, records = _records(self.files, role, VQA_OFFICIAL_LIST)
            for i, rec in enumerate(records):
                table[id_field(rec, VQA_QID, path, i)] = _answer_texts(field(rec, VQA_ANSWERS, path, i), path, i)
        return table


def read_vqa(files: DatasetFiles, progress: bool = False) -> ReadResult:
    """VQAv2 Karpathy splits -> ``vqa`` rows (soft labels kept; raw answers for the VQA score)."""
    result, official = ReadResult(), _OfficialAnswers(files)
    for split, role in VQA_SPLITS.items():
        path, records = _records(files, role)
        rows, empty = [], 0
        for i, rec in _bar(records, f"vqa {split}", progress):
            row = {
                "id": id_field(rec, VQA_QID, path, i),
                "image_id": id_field(rec, VQA_IMAGE, path, i),
                "question": text_field(rec, VQA_QUESTION, path, i),
                "label": _label(rec, path, i),
                **{k: rec[k] for k in VQA_EXTRA if k in rec},
            }
            # An empty soft label (no answer in VL-T5's vocabulary) stays: the original trains on it
            # with an empty target of weight 0, so it fills batch slots (docs/methods.md C.9).
            empty += split == "train" and not row["label"]
            row["answers"] = (
                _answer_texts(rec[VQA_ANSWERS], path, i) if VQA_ANSWERS in rec else official.get(row["id"], path, i)
            )
            rows.append(row)
        if empty:
            result.notes.append(f"vqa {split}: {empty} records with an empty soft label kept (weight 0 in training)")
        result.add("vqa", split, sort_rows(rows, str(path)), [role])
    return result


def _gqa_rows(files: DatasetFiles, role: str, progress: bool) -> tuple[list[dict], int]:
    """The rows of one GQA file, and how many records had an empty label (left out)."""
    path, records = _records(files, role)
    rows, empty = [], 0
    for i, rec in _bar(records, f"gqa {role}", progress):
        label = _label(rec, path, i)
        if not label:
            empty += 1
            continue
        best = max(label.values())
        rows.append(
            {
                "id": id_field(rec, GQA_QID, path, i),
                "image_id": id_field(rec, GQA_IMAGE, path, i),
                "question": text_field(rec, GQA_QUESTION, path, i),
                "answers": sorted(a for a, s in label.items() if s == best),
                "label": label,
            }
        )
    return rows, empty


def read_gqa(files: DatasetFiles, progress: bool = False) -> ReadResult:
    """GQA: train + valid -> train; testdev -> val and test."""
    result, read = ReadResult(), {}
    for split, roles in GQA_SPLITS.items():
        for role in roles:
            if role not in read:
                read[role] = _gqa_rows(files, role, progress)
        rows = [row for role in roles for row in read[role][0]]
        result.drop("gqa", split, sum(read[role][1] for role in roles), "empty answer label")
        result.add("gqa", split, sort_rows(rows, " + ".join(files.entry(r).path for r in roles)), list(roles))
    return result


def _nlvr_images(rec: dict, identifier: str, path: Path, index: int) -> list[str]:
    if NLVR_LEFT in rec or NLVR_RIGHT in rec:
        return [id_field(rec, NLVR_LEFT, path, index), id_field(rec, NLVR_RIGHT, path, index)]
    stem, sep, _ = identifier.rpartition("-")  # official: "train-10171-0-0" -> "train-10171-0"
    if not sep or not stem:
        raise RecordError(
            f"{path}: record {index}: cannot derive image names from identifier {identifier!r} "
            f"(and no {NLVR_LEFT!r}/{NLVR_RIGHT!r} keys)"
        )
    return [f"{stem}-img0", f"{stem}-img1"]


def read_nlvr(files: DatasetFiles, progress: bool = False) -> ReadResult:
    """NLVR2 (VL-T5 JSON or official JSON lines) -> ``nlvr`` rows with boolean labels."""
    result = ReadResult()
    for split in NLVR_SPLITS:
        path, records = _records(files, split)
        rows = []
        for i, rec in _bar(records, f"nlvr {split}", progress):
            identifier = id_field(rec, NLVR_ID, path, i)
            rows.append(
                {
                    "id": identifier,
                    "image_ids": _nlvr_images(rec, identifier, path, i),
                    "sentence": text_field(rec, NLVR_SENTENCE, path, i),
                    "label": parse_bool(field(rec, NLVR_LABEL, path, i), path, i),
                }
            )
        result.add("nlvr", split, sort_rows(rows, str(path)), [split])
    return result


def read_caption(files: DatasetFiles, progress: bool = False) -> ReadResult:
    """COCO Karpathy captions -> ``caption`` rows, one per image with all its references."""
    path, records = _records(files, "karpathy", COCO_IMAGES)
    rows: dict[str, list[dict]] = {split: [] for split in ("train", "val", "test")}
    for i, rec in _bar(records, "coco captions", progress):
        published = field(rec, COCO_SPLIT, path, i)
        if published not in COCO_SPLIT_MAP:
            raise RecordError(f"{path}: record {i}: unknown split {published!r} (known: {', '.join(COCO_SPLIT_MAP)})")
        image_id = Path(text_field(rec, COCO_FILENAME, path, i)).stem
        sentences = field(rec, COCO_SENTENCES, path, i)
        if not isinstance(sentences, list) or not sentences:
            raise RecordError(f"{path}: record {i}: {COCO_SENTENCES!r} should be a non-empty list")
        captions = [
            text_field(s, COCO_RAW, path, i) if isinstance(s, dict) else _bad_sentence(s, path, i) for s in sentences
        ]
        rows[COCO_SPLIT_MAP[published]].append(
            {"id": image_id, "image_id": image_id, "captions": captions, **{k: rec[k] for k in COCO_EXTRA if k in rec}}
        )
    result = ReadResult()
    for split, split_rows in rows.items():
        result.add("caption", split, sort_rows(split_rows, str(path)), ["karpathy"])
    return result


def _bad_sentence(value: Any, path: Path, index: int) -> str:
    raise RecordError(f"{path}: record {index}: a sentence should be an object with {COCO_RAW!r}, got {value!r}")
