"""GQA / NLVR2 / TVQA / How2QA accuracies, headline keys, the average, and bad input."""

import pytest

from vlpeft.eval.metrics import average, headline, score_task
from vlpeft.tasks import TASKS

ONE_EXAMPLE = {  # a right prediction per non-caption task (caption tasks need Java: test_caption_metrics.py)
    "vqa": ({"id": "1", "answers": ["dog"] * 10}, "dog"),
    "gqa": ({"id": "1", "answers": ["dog"]}, "dog"),
    "nlvr": ({"id": "1", "label": True}, "true"),
    "tvqa": ({"id": "1", "answer_idx": 2}, "a2"),
    "how2qa": ({"id": "1", "answer_idx": 0}, "a0"),
}


@pytest.mark.parametrize("task", sorted(ONE_EXAMPLE))
def test_headline_is_the_key_score_task_returns_and_average_reads(task):
    example, right = ONE_EXAMPLE[task]
    scores = score_task(task, {"1": right}, [example])
    assert list(scores) == [headline(task)] and scores[headline(task)] == pytest.approx(100.0)
    assert average({task: scores}) == pytest.approx(100.0)
    assert average({task: score_task(task, {"1": "zebra"}, [example])}) == 0.0


def test_every_task_has_a_headline_and_caption_tasks_report_cider():
    assert set(ONE_EXAMPLE) | {t for t in TASKS if headline(t) == "CIDEr"} == set(TASKS)


def test_gqa_exact_match_after_strip_lower():
    examples = [
        {"id": "a", "answers": ["Yes"]},
        {"id": "b", "answers": ["left"]},
        {"id": "c", "answers": ["red"]},
        {"id": "d", "answers": ["two"]},
    ]
    preds = {"a": " yes", "b": "LEFT\n", "c": "the red", "d": "2"}  # no VQA normalisation in GQA
    assert score_task("gqa", preds, examples) == {"exact_match": pytest.approx(50.0)}


def test_nlvr_accuracy():
    examples = [{"id": str(i), "label": lab} for i, lab in enumerate([True, False, True, False])]
    preds = {"0": "true", "1": "false", "2": "false", "3": "maybe"}
    assert score_task("nlvr", preds, examples) == {"accuracy": pytest.approx(50.0)}


@pytest.mark.parametrize("task", ["tvqa", "how2qa"])
def test_video_qa_accuracy(task):
    examples = [{"id": "x", "answer_idx": 3}, {"id": "y", "answer_idx": 0}, {"id": "z", "answer_idx": 1}]
    preds = {"x": "a3", "y": " a0 ", "z": "a2"}
    assert score_task(task, preds, examples) == {"accuracy": pytest.approx(200 / 3)}


def test_missing_predictions_name_the_ids_and_task():
    examples = [{"id": f"q{i}", "answers": ["x"]} for i in range(9)]
    with pytest.raises(KeyError) as err:
        score_task("gqa", {"q0": "x"}, examples)
    msg = str(err.value)
    assert "gqa" in msg and "8 example id(s)" in msg and "q1" in msg and "q5" in msg
    assert "q8" not in msg and "..." in msg  # at most a few ids


def test_missing_field_is_named():
    with pytest.raises(KeyError, match="'answer_idx'"):
        score_task("tvqa", {"x": "a1"}, [{"id": "x"}])


def test_unknown_task_and_no_examples():
    with pytest.raises(KeyError, match="unknown task"):
        score_task("okvqa", {}, [{"id": "1"}])
    with pytest.raises(ValueError, match="no examples"):
        score_task("nlvr", {}, [])


def test_average_of_headline_metrics():
    metrics = {
        "vqa": {"vqa_score": 60.0},
        "gqa": {"exact_match": 50.0},
        "nlvr": {"accuracy": 70.0},
        "caption": {"CIDEr": 120.0, "BLEU-4": 1.0, "SPICE": None},
    }
    assert average(metrics) == pytest.approx(75.0)
    with pytest.raises(KeyError, match="CIDEr"):
        average({"tvc": {"BLEU-4": 3.0}})
