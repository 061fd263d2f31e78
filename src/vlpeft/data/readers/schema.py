"""JSON schemas of the annotation rows, one per task family, as the ``vlpeft.tasks`` docstring
defines them (extra keys allowed). ``data-prepare`` checks rows it writes against them."""

from __future__ import annotations

import jsonschema

STR_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
SPAN = {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 2, "maxItems": 2}
SUBS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["start", "end", "text"],
        "properties": {"start": {"type": "number"}, "end": {"type": "number"}, "text": {"type": "string"}},
    },
}
ID = {"type": "string", "minLength": 1}
SCORES = {"type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}}

ROW_SCHEMAS = {
    # label may be empty outside train (VQA questions whose answers are out of VL-T5's vocabulary:
    # scored on the raw answers, never trained on)
    "image_qa": {
        "required": ["id", "image_id", "question", "answers", "label"],
        "properties": {"id": ID, "image_id": ID, "question": {"type": "string"}, "answers": STR_LIST, "label": SCORES},
    },
    "nlvr": {
        "required": ["id", "image_ids", "sentence", "label"],
        "properties": {
            "id": ID,
            "image_ids": {**STR_LIST, "minItems": 2, "maxItems": 2},
            "sentence": {"type": "string"},
            "label": {"type": "boolean"},
        },
    },
    "caption": {
        "required": ["id", "image_id", "captions"],
        "properties": {"id": ID, "image_id": ID, "captions": STR_LIST},
    },
    "video_qa": {
        "required": ["id", "video_id", "question", "choices", "answer_idx", "ts", "subtitles"],
        "properties": {
            "id": ID,
            "video_id": ID,
            "question": {"type": "string"},
            "choices": STR_LIST,
            "answer_idx": {"type": "integer", "minimum": 0},
            "ts": SPAN,
            "subtitles": SUBS,
        },
    },
    "video_caption": {
        "required": ["id", "video_id", "ts", "subtitles", "captions"],
        "properties": {"id": ID, "video_id": ID, "ts": SPAN, "subtitles": SUBS, "captions": STR_LIST},
    },
}

_VALIDATORS = {fam: jsonschema.Draft7Validator({"type": "object", **s}) for fam, s in ROW_SCHEMAS.items()}


def validate_rows(family: str, rows: list[dict], where: str, limit: int | None = None) -> None:
    """``ValueError`` naming ``where``, the row index and id, and the first schema violation.

    ``limit``: check at most that many rows, evenly spaced (jsonschema costs ~0.5 ms a row; the
    readers build rows field by field, so this guards against reader bugs, not input errors)."""
    validator = _VALIDATORS[family]
    step = max(1, len(rows) // limit) if limit else 1
    for i in range(0, len(rows), step):
        if validator.is_valid(rows[i]):
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(rows[i]))
        at = "/".join(map(str, error.absolute_path)) or "(row)"
        raise ValueError(f"{where}: row {i} (id {rows[i].get('id')!r}): {at}: {error.message}")
