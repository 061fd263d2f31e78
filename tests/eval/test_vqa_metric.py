"""The official VQA normalisation and leave-one-out accuracy, on hand-computed cases."""

import pytest

from vlpeft.eval.metrics import score_task
from vlpeft.eval.vqa_norm import normalize_answer, process_digit_article, process_punctuation, vqa_accuracy

NORMALISED = [
    ("Two", "2"),
    ("a dog.", "dog"),
    ("The  Cat", "cat"),
    ("an apple", "apple"),
    ("none", "0"),
    ("ten", "10"),
    ("1,000", "1000"),  # digit-comma rule: every punctuation mark is deleted
    ("yes, it is", "yes it is"),  # punctuation next to a space is deleted
    ("black/white", "black white"),  # other punctuation becomes a space
    ("x-ray", "x ray"),
    ("3.5", "3.5"),  # a period before a digit stays
    ("dont", "don't"),  # contraction map
    ("isnt it", "isn't it"),
    ("somebody'd", "somebodyd"),  # sic: the official table's typo
    ("  red\tcar\n", "red car"),
]


@pytest.mark.parametrize("raw, expected", NORMALISED)
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected


@pytest.mark.parametrize("scorer", ["official2021", "vladapter2017"])
@pytest.mark.parametrize("raw, expected", NORMALISED)
def test_the_scoring_path_normalises_the_prediction_with_normalize_answer(raw, expected, scorer):
    """score_task("vqa") matches the prediction after normalize_answer: three of four (disagreeing)
    human answers say ``expected``, so a prediction normalising to it scores (3 * 2/3 + 1) / 4 = 75."""
    examples = [{"id": "q", "answers": [expected] * 3 + ["zebra"]}]
    assert score_task("vqa", {"q": raw}, examples, vqa_scorer=scorer) == {"vqa_score": pytest.approx(75.0)}


def test_punctuation_then_digits_order():
    assert process_punctuation("(two)") == " two "
    assert process_digit_article(" two ") == "2"


@pytest.mark.parametrize(
    "n_match, expected",
    [
        # n matching answers out of 10; leave-one-out: a matching answer left out leaves n-1 matches,
        # a non-matching one leaves n.  expected = (n*min(1,(n-1)/3) + (10-n)*min(1,n/3)) / 10
        (0, 0.0),
        (1, (1 * 0 + 9 * (1 / 3)) / 10),  # 0.3
        (2, (2 * (1 / 3) + 8 * (2 / 3)) / 10),  # 0.6
        (3, (3 * (2 / 3) + 7 * 1) / 10),  # 0.9
        (4, 1.0),
        (10, 1.0),
    ],
)
def test_leave_one_out(n_match, expected):
    answers = ["dog"] * n_match + ["cat"] * (10 - n_match)
    assert vqa_accuracy("dog", answers) == pytest.approx(expected)


def test_hand_computed_values():
    assert vqa_accuracy("dog", ["dog"] * 2 + ["cat"] * 8) == pytest.approx(0.6)
    assert vqa_accuracy("dog", ["dog"] * 3 + ["cat"] * 7) == pytest.approx(0.9)


def test_normalisation_applies_to_prediction_and_answers():
    # "Two" and "two" and "2" all normalise to "2": 4 matches -> 1.0
    answers = ["Two", "two", "2", "2 ", "three", "3", "3", "3", "3", "3"]
    assert vqa_accuracy("2", answers) == 1.0
    # 2 matches ("a dog.", "dog") among 10 -> 0.6
    answers = ["a dog.", "dog"] + ["cat"] * 8
    assert vqa_accuracy("The dog", answers) == pytest.approx(0.6)


def test_official_quirk_no_normalisation_when_answers_agree():
    # all ten humans agree: the official evaluator only strips, so the case matters
    assert vqa_accuracy("yes ", ["yes"] * 10) == 1.0
    assert vqa_accuracy("Yes", ["yes"] * 10) == 0.0


def test_score_task_vqa_mean_on_0_100_scale():
    examples = [
        {"id": "q1", "answers": ["dog"] * 2 + ["cat"] * 8},  # 0.6
        {"id": "q2", "answers": ["2"] * 10},  # "2" -> 1.0
    ]
    out = score_task("vqa", {"q1": "dog", "q2": "2", "extra": "ignored"}, examples)
    assert out == {"vqa_score": pytest.approx(80.0)}


def test_no_answers_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        vqa_accuracy("dog", [])


def test_vladapter2017_scorer_differs_from_official2021():
    """VL-Adapter's evaluate_raw (the 2017 evaluator) normalises the prediction always but the human
    answers only by punctuation, so "two" among the answers no longer matches a prediction that
    normalises to "2" (docs/methods.md C.7)."""
    from vlpeft.eval.vqa_norm import vqa_accuracy, vqa_accuracy_vladapter2017, vqa_scorer

    answers = ["two", "two", "two", "2"]
    assert vqa_accuracy("two", answers) == pytest.approx(1.0)  # 2021: answers normalised too
    assert vqa_accuracy_vladapter2017("two", answers) == pytest.approx((3 * (1 / 3) + 0) / 4)
    # all answers agree: 2021 compares after strip() only; 2017 still normalises the prediction
    assert vqa_accuracy("the cat", ["the cat"] * 10) == pytest.approx(1.0)
    assert vqa_accuracy_vladapter2017("the cat", ["the cat"] * 10) == 0.0
    assert vqa_accuracy_vladapter2017("Cat.", ["cat"] * 10) == pytest.approx(1.0)
    assert vqa_scorer("vladapter2017") is vqa_accuracy_vladapter2017 and vqa_scorer("official2021") is vqa_accuracy
    with pytest.raises(ValueError, match="vqa_scorer"):
        vqa_scorer("official2019")


def test_score_task_takes_the_scorer():
    from vlpeft.eval.metrics import score_task

    ex = [{"id": "1", "answers": ["two", "two", "two", "2"]}]
    assert score_task("vqa", {"1": "two"}, ex)["vqa_score"] == pytest.approx(100.0)
    assert score_task("vqa", {"1": "two"}, ex, vqa_scorer="vladapter2017")["vqa_score"] == pytest.approx(25.0)
