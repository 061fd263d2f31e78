"""The prior row of every table: what a model scores without looking at the picture or video.

For each task one constant prediction is chosen on the data set's own ``train`` split and scored on
the evaluation split with the same metric code the runs use (``vlpeft.eval.metrics.score_task``):

- vqa, gqa: the constant answer with the best train score among the ``MAX_CANDIDATES`` most
  frequent consensus answers (the top-scored answer of each row's label; ties by text);
- nlvr: ``true`` or ``false``, whichever scores best on train (the majority label);
- tvqa, how2qa: the constant choice ``a<i>`` that scores best on train (the majority answer index);
- caption, tvc, yc2c: the best constant caption: among the ``MAX_CANDIDATES`` most frequent train
  reference captions, the one with the highest CIDEr-D on (at most ``MAX_FIT_ROWS`` rows of) train.

Ties are broken by the candidate's text, so the prior is a pure function of the annotation files.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlpeft.io import read_jsonl
from vlpeft.tasks import get_task, target_texts

MAX_CANDIDATES = 50  # constant answers / captions tried on train
MAX_FIT_ROWS = 2000  # caption rows the constant caption is chosen on (real COCO has 113k)
FIT_SPLIT = "train"


def _rows(data_dir: Path, task: str, split: str) -> list[dict[str, Any]]:
    path = data_dir / "annotations" / task / f"{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: annotation file not found (prior of task {task}, split {split})")
    rows = read_jsonl(path)
    if not rows:
        raise ValueError(f"{path}: no examples (prior of task {task})")
    return rows


def _ranked(counts: Counter) -> list[str]:
    """Most frequent first, ties by text; at most MAX_CANDIDATES."""
    return [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:MAX_CANDIDATES]


def _candidates(task: str, rows: list[dict[str, Any]]) -> list[str]:
    spec = get_task(task)
    if spec.family == "nlvr":
        return ["false", "true"]
    if spec.family == "video_qa":
        return [f"a{i}" for i in range(max(len(r["choices"]) for r in rows))]
    if spec.family == "image_qa":
        return _ranked(Counter(target_texts(spec, r)[0][0] for r in rows))
    return _ranked(Counter(c for r in rows for c in r["captions"]))


def _best(scored: dict[str, float]) -> tuple[str, float]:
    """The best-scoring candidate, ties by text."""
    answer = min(scored, key=lambda a: (-scored[a], a))
    return answer, scored[answer]


def _fit_caption(candidates: list[str], rows: list[dict[str, Any]]) -> tuple[str, float]:
    """The candidate caption with the best CIDEr-D over ``rows`` (tokenised once, as pycocoevalcap)."""
    from pycocoevalcap.cider.cider import Cider

    from vlpeft.eval.caption import ptb_tokenize

    rows = sorted(rows, key=lambda r: str(r["id"]))[:MAX_FIT_ROWS]
    gts = ptb_tokenize({str(r["id"]): list(r["captions"]) for r in rows})
    cands = ptb_tokenize({str(i): [c] for i, c in enumerate(candidates)})
    scored = {}
    for i, cand in enumerate(candidates):
        res = {k: cands[str(i)] for k in gts}
        with contextlib.redirect_stdout(io.StringIO()):
            scored[cand] = 100.0 * float(Cider().compute_score(gts, res)[0])
    return _best(scored)


def task_prior(data_dir: str | os.PathLike, task: str, split: str = "test") -> dict[str, Any]:
    """The prior of one task: ``{"metric", "score", "prediction", "fit_split", "fit_score"}``."""
    from vlpeft.eval.metrics import score_task

    data_dir = Path(data_dir)
    spec = get_task(task)
    fit_rows, eval_rows = _rows(data_dir, task, FIT_SPLIT), _rows(data_dir, task, split)
    candidates = _candidates(task, fit_rows)
    if spec.family in ("caption", "video_caption"):
        prediction, fit_score = _fit_caption(candidates, fit_rows)
    else:
        prediction, fit_score = _best(
            {c: score_task(task, {str(r["id"]): c for r in fit_rows}, fit_rows)[spec.metric] for c in candidates}
        )
    scores = score_task(task, {str(r["id"]): prediction for r in eval_rows}, eval_rows, meteor=False)
    return {
        "metric": spec.metric,
        "score": float(scores[spec.metric]),
        "prediction": prediction,
        "fit_split": FIT_SPLIT,
        "fit_score": fit_score,
        "split": split,
        "examples": len(eval_rows),
    }


def compute_prior(data_dir: str | os.PathLike, tasks: Sequence[str], split: str = "test") -> dict[str, dict[str, Any]]:
    """``{task: task_prior(...)}`` for every task, in the given order."""
    return {task: task_prior(data_dir, task, split) for task in dict.fromkeys(tasks)}
