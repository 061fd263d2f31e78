"""Evaluation: task metrics (``metrics``) on a 0-100 scale; decoding lives in ``eval.cli``."""

from vlpeft.eval.metrics import average, headline, score_task

__all__ = ["average", "headline", "score_task"]
