"""The official VQA accuracy (VQAv2 evaluation, ``vqaEval.py`` of the VQA challenge), written from
its published algorithm: answer normalisation (punctuation, number words, articles, contractions)
and ``min(1, #matches / 3)`` averaged over the 10 leave-one-out subsets of the human answers.

No pip package ships this evaluator, so it is written here (docs/methods.md C.7). ``vqa_accuracy``
is the current official ``vqaEval.py`` ("official2021"); ``vqa_accuracy_vladapter2017`` is the 2017
version that VL-Adapter's ``evaluate_raw`` copied, behind the papers' VQA numbers. Quirks of the
official code are kept on purpose because they change numbers:

- the normalisation runs only when the human answers disagree (``len(set(answers)) > 1``); when all
  ten agree, the prediction and the answers are compared after ``strip()`` only;
- punctuation next to a space, or any punctuation in a string containing ``digit,digit``, is
  deleted; other punctuation becomes a space;
- the period regex has a broken look-behind (``(?!<=\\d)``) and ``re.UNICODE`` is passed as the
  ``count`` argument of ``sub``, so at most 32 periods are removed;
- the contraction table maps ``somebody'd`` to ``somebodyd`` (a typo in the original).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

CONTRACTIONS: dict[str, str] = {
    "aint": "ain't",
    "arent": "aren't",
    "cant": "can't",
    "couldve": "could've",
    "couldnt": "couldn't",
    "couldn'tve": "couldn't've",
    "couldnt've": "couldn't've",
    "didnt": "didn't",
    "doesnt": "doesn't",
    "dont": "don't",
    "hadnt": "hadn't",
    "hadnt've": "hadn't've",
    "hadn'tve": "hadn't've",
    "hasnt": "hasn't",
    "havent": "haven't",
    "hed": "he'd",
    "hed've": "he'd've",
    "he'dve": "he'd've",
    "hes": "he's",
    "howd": "how'd",
    "howll": "how'll",
    "hows": "how's",
    "Id've": "I'd've",
    "I'dve": "I'd've",
    "Im": "I'm",
    "Ive": "I've",
    "isnt": "isn't",
    "itd": "it'd",
    "itd've": "it'd've",
    "it'dve": "it'd've",
    "itll": "it'll",
    "let's": "let's",
    "maam": "ma'am",
    "mightnt": "mightn't",
    "mightnt've": "mightn't've",
    "mightn'tve": "mightn't've",
    "mightve": "might've",
    "mustnt": "mustn't",
    "mustve": "must've",
    "neednt": "needn't",
    "notve": "not've",
    "oclock": "o'clock",
    "oughtnt": "oughtn't",
    "ow's'at": "'ow's'at",
    "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at",
    "shant": "shan't",
    "shed've": "she'd've",
    "she'dve": "she'd've",
    "she's": "she's",
    "shouldve": "should've",
    "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've",
    "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've",
    "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll",
    "somebodys": "somebody's",
    "someoned": "someone'd",
    "someoned've": "someone'd've",
    "someone'dve": "someone'd've",
    "someonell": "someone'll",
    "someones": "someone's",
    "somethingd": "something'd",
    "somethingd've": "something'd've",
    "something'dve": "something'd've",
    "somethingll": "something'll",
    "thats": "that's",
    "thered": "there'd",
    "thered've": "there'd've",
    "there'dve": "there'd've",
    "therere": "there're",
    "theres": "there's",
    "theyd": "they'd",
    "theyd've": "they'd've",
    "they'dve": "they'd've",
    "theyll": "they'll",
    "theyre": "they're",
    "theyve": "they've",
    "twas": "'twas",
    "wasnt": "wasn't",
    "wed've": "we'd've",
    "we'dve": "we'd've",
    "weve": "we've",
    "werent": "weren't",
    "whatll": "what'll",
    "whatre": "what're",
    "whats": "what's",
    "whatve": "what've",
    "whens": "when's",
    "whered": "where'd",
    "wheres": "where's",
    "whereve": "where've",
    "whod": "who'd",
    "whod've": "who'd've",
    "who'dve": "who'd've",
    "wholl": "who'll",
    "whos": "who's",
    "whove": "who've",
    "whyll": "why'll",
    "whyre": "why're",
    "whys": "why's",
    "wont": "won't",
    "wouldve": "would've",
    "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've",
    "yall": "y'all",
    "yall'll": "y'all'll",
    "y'allll": "y'all'll",
    "yall'd've": "y'all'd've",
    "y'alld've": "y'all'd've",
    "y'all'dve": "y'all'd've",
    "youd": "you'd",
    "youd've": "you'd've",
    "you'dve": "you'd've",
    "youll": "you'll",
    "youre": "you're",
    "youve": "you've",
}
NUMBER_WORDS: dict[str, str] = {
    "none": "0",
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
ARTICLES = frozenset({"a", "an", "the"})
PUNCTUATION = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")  # sic: the official (broken) look-behind
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")
_MAX_PERIODS = re.UNICODE.value  # sic: the official code passes re.UNICODE (32) as `count`


def process_punctuation(text: str) -> str:
    """Delete or space out punctuation exactly as the official evaluator does."""
    out = text
    digit_comma = _COMMA_STRIP.search(text) is not None
    for p in PUNCTUATION:
        if p + " " in text or " " + p in text or digit_comma:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out, count=_MAX_PERIODS)


def process_digit_article(text: str) -> str:
    """Lower-case, map number words to digits, drop articles, restore contractions."""
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [CONTRACTIONS.get(w, w) for w in words if w not in ARTICLES]
    return " ".join(words)


def clean_whitespace(text: str) -> str:
    """Newlines and tabs to spaces, then strip (the evaluator's first step on every string)."""
    return text.replace("\n", " ").replace("\t", " ").strip()


def normalize_answer(text: str) -> str:
    """The full official normalisation of one answer (whitespace, punctuation, digits, articles): what
    both scorers apply to a prediction (and ``official2021`` to disagreeing human answers)."""
    return process_digit_article(process_punctuation(clean_whitespace(text)))


VQA_SCORERS = ("official2021", "vladapter2017")


def vqa_accuracy_vladapter2017(prediction: str, answers: Sequence[str]) -> float:
    """VL-Adapter's ``VQAEvaluator.evaluate_raw`` (vqa_clip_data.py L581-640), i.e. the 2017 official
    evaluator: the prediction is always whitespace-cleaned, punctuation-processed and
    digit/article-normalised; the human answers are taken as stored and, only when they disagree,
    punctuation-processed (no digit/article step, no strip). Then the same leave-one-out
    ``min(1, #matches / 3)`` average (docs/methods.md C.7)."""
    if not answers:
        raise ValueError("VQA accuracy needs at least one human answer")
    pred = normalize_answer(prediction)
    gts = list(answers)
    if len(set(gts)) > 1:
        gts = [process_punctuation(a) for a in gts]
    matches = sum(g == pred for g in gts)
    accs = [min(1.0, (matches - (g == pred)) / 3.0) for g in gts]
    return sum(accs) / len(accs)


def vqa_scorer(name: str):
    """The per-example VQA accuracy function called ``name`` (``VQA_SCORERS``)."""
    if name == "official2021":
        return vqa_accuracy
    if name == "vladapter2017":
        return vqa_accuracy_vladapter2017
    raise ValueError(f"vqa_scorer: expected one of {', '.join(VQA_SCORERS)}, got {name!r}")


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """Official VQA accuracy in [0, 1] of one prediction against the human answers.

    For each answer i, ``min(1, #(other answers equal to the prediction) / 3)``; the mean over i.
    """
    if not answers:
        raise ValueError("VQA accuracy needs at least one human answer")
    gts = [clean_whitespace(a) for a in answers]
    pred = clean_whitespace(prediction)
    if len(set(gts)) > 1:  # sic: the official evaluator normalises only when answers disagree
        gts = [normalize_answer(a) for a in gts]
        pred = normalize_answer(pred)
    matches = sum(g == pred for g in gts)
    # leave answer i out: it matched (matches - 1 others) or not (matches others)
    accs = [min(1.0, (matches - (g == pred)) / 3.0) for g in gts]
    return sum(accs) / len(accs)
