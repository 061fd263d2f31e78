"""Evaluation: task metrics (``metrics``) on a 0-100 scale; decoding and scoring a run in
``eval.evaluate`` (``evaluate_run``)."""

from vlpeft.eval.metrics import average, headline, score_task

__all__ = ["average", "headline", "score_task"]
