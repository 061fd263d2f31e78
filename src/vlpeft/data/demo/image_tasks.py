"""Annotations of the image tasks: VQA-like, GQA-like, NLVR2-like statements and COCO-like captions.

Every answer is computed from the scene that was drawn, so it can be checked on the pixels.
Question makers take ``(scene, rng, want_yes)`` and return ``(question_type, question, answer,
answer_kind)``, or None when the scene offers no unambiguous question of that type; ``want_yes``
steers yes/no questions so that their answers come out balanced.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from .sampling import check_count, draw_balanced
from .scene import COLORS, PLURAL, RELATIONS, SHAPES, Obj, Scene, relation
from .text import image_captions

Images = Sequence[tuple[str, Scene]]
QA = tuple[str, str, str, str] | None
SIDES = ("left", "right", "top", "bottom")


def _pick(rng: random.Random, items: Sequence):
    return rng.choice(list(items)) if items else None


# ----- VQA-like questions ---------------------------------------------------------------------


def q_color_of_shape(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    shape = _pick(rng, [s for s in SHAPES if len(sc.find(shape=s)) == 1])
    return shape and ("color", f"what color is the {shape}?", sc.find(shape=shape)[0].color, "color")


def q_shape_of_color(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    color = _pick(rng, [c for c in COLORS if len(sc.find(color=c)) == 1])
    return color and ("shape", f"what shape is the {color} object?", sc.find(color=color)[0].shape, "shape")


def q_count_shape(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    shape = rng.choice(SHAPES)
    return "count", f"how many {PLURAL[shape]} are there?", str(len(sc.find(shape=shape))), "number"


def q_count_color(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    color = rng.choice(sorted({o.color for o in sc.objects}) if rng.random() < 0.7 else list(COLORS))
    return "count", f"how many {color} objects are there?", str(len(sc.find(color=color))), "number"


def q_count_all(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    return "count", "how many shapes are there?", str(len(sc.objects)), "number"


def q_count(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    return rng.choice((q_count_shape, q_count_color, q_count_all))(sc, rng, want_yes)


def q_exists(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    if want_yes:
        o = rng.choice(sc.objects)
        color, shape = o.color, o.shape
    else:  # an absent object that shares a colour or a shape with a present one
        o = rng.choice(sc.objects)
        absent = [(c, s) for c in COLORS for s in SHAPES if not sc.find(c, s) and (c == o.color or s == o.shape)]
        color, shape = rng.choice(absent)
    return "exist", f"is there a {color} {shape}?", "yes" if want_yes else "no", "yesno"


def q_exists_attr(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    """Is there an object of one colour, or of one shape? (version 2: one attribute, not a pair)"""
    if rng.random() < 0.5:
        pool = sorted({o.color for o in sc.objects}) if want_yes else [c for c in COLORS if not sc.find(color=c)]
        color = _pick(rng, pool)
        return color and ("exist", f"is there a {color} object?", "yes" if want_yes else "no", "yesno")
    pool = sorted({o.shape for o in sc.objects}) if want_yes else [s for s in SHAPES if not sc.find(shape=s)]
    shape = _pick(rng, pool)
    return shape and ("exist", f"is there a {shape}?", "yes" if want_yes else "no", "yesno")


def q_where(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    o = _pick(rng, [o for o in sc.objects if sc.side(o)])
    side = None if o is None else sc.side(o)
    return None if side is None else ("position", f"where is the {o.name}?", side, "side")


# Version 2: only questions whose answer is one visible attribute (colour, shape, presence of a colour
# or a shape, how many shapes in all); counting by colour/shape, (colour, shape) pairs and positions
# were beyond a tiny model in a short schedule.
VQA_MAKERS = (q_color_of_shape, q_shape_of_color, q_exists_attr, q_count_all)


# ----- GQA-like compositional questions ----------------------------------------------------------


def _related(sc: Scene, anchor: Obj, rel: str, shape: str | None = None) -> tuple[list[Obj], bool]:
    """Objects (of ``shape``) that are clearly <rel> the anchor, and whether any case is ambiguous."""
    others = [o for o in sc.find(shape=shape) if o is not anchor]
    verdicts = [relation(o, anchor, rel, sc.rel_margin) for o in others]
    return [o for o, v in zip(others, verdicts) if v], any(v is None for v in verdicts)


def _unique_related(sc: Scene, rng: random.Random, with_shape: bool):
    for anchor in rng.sample(sc.objects, len(sc.objects)):
        for rel in rng.sample(RELATIONS, len(RELATIONS)):
            shape = rng.choice(SHAPES) if with_shape else None
            hits, ambiguous = _related(sc, anchor, rel, shape)
            if len(hits) == 1 and not ambiguous:
                return anchor, rel, shape, hits[0]
    return None


def q_rel_color(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    found = _unique_related(sc, rng, with_shape=False)
    if not found:
        return None
    anchor, rel, _, hit = found
    return "relate_color", f"what color is the shape {rel} the {anchor.name}?", hit.color, "color"


def q_rel_shape(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    found = _unique_related(sc, rng, with_shape=False)
    if not found:
        return None
    anchor, rel, _, hit = found
    return "relate_shape", f"what shape is {rel} the {anchor.name}?", hit.shape, "shape"


def q_rel_filtered_color(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    found = _unique_related(sc, rng, with_shape=True)
    if not found:
        return None
    anchor, rel, shape, hit = found
    return "relate_filter_color", f"what color is the {shape} {rel} the {anchor.name}?", hit.color, "color"


def q_verify_rel(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    pairs = [
        (a, b, rel)
        for a in sc.objects
        for b in sc.objects
        for rel in RELATIONS
        if a is not b and relation(a, b, rel, sc.rel_margin) is want_yes
    ]
    picked = _pick(rng, pairs)
    if picked is None:
        return None
    a, b, rel = picked
    return ("verify_relation", f"is the {a.name} {rel} the {b.name}?", "yes" if want_yes else "no", "yesno")


def q_exist_rel(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    for anchor in rng.sample(sc.objects, len(sc.objects)):
        for rel in rng.sample(RELATIONS, len(RELATIONS)):
            shape = rng.choice(SHAPES)
            hits, ambiguous = _related(sc, anchor, rel, shape)
            if (bool(hits) if want_yes else not hits and not ambiguous) and sc.find(shape=shape):
                return (
                    "exist_relation",
                    f"is there a {shape} {rel} the {anchor.name}?",
                    "yes" if want_yes else "no",
                    "yesno",
                )
    return None


def q_side(sc: Scene, rng: random.Random, want_yes: bool) -> QA:
    o = _pick(rng, [o for o in sc.objects if abs(o.x - sc.size / 2) > sc.size * 0.15])
    return o and ("side", f"on which side is the {o.name}?", "left" if o.x < sc.size / 2 else "right", "side")


GQA_MAKERS = (q_rel_color, q_rel_shape, q_rel_filtered_color, q_verify_rel, q_exist_rel, q_side)


# ----- the example loops -------------------------------------------------------------------------


def _noisy_answer(answer: str, kind: str, rng: random.Random) -> str:
    """A plausible wrong answer of one annotator."""
    if kind == "yesno":
        return "no" if answer == "yes" else "yes"
    if kind == "number":
        n = int(answer)
        return str(n + 1 if n == 0 or rng.random() < 0.5 else n - 1)
    pool = {"color": list(COLORS), "shape": list(SHAPES), "side": list(SIDES)}[kind]
    return rng.choice([a for a in pool if a != answer])


def _annotators(answer: str, kind: str, n: int, noise: float, rng: random.Random) -> list[str]:
    """``n`` human answers, each wrong with probability ``noise``; at most two (and under half)
    are wrong, so the consensus answer is the only one with a full soft score."""
    wrong = [i for i in range(n) if rng.random() < noise][: min(2, (n - 1) // 2)]
    return [_noisy_answer(answer, kind, rng) if i in wrong else answer for i in range(n)]


def soft_label(answers: list[str]) -> dict[str, float]:
    """VQA soft score of each distinct answer: min(1, count / 3)."""
    return {a: min(1.0, answers.count(a) / 3) for a in sorted(set(answers))}


def _qa_rows(
    task: str,
    split: str,
    images: Images,
    n: int,
    makers: Sequence[Callable],
    rng: random.Random,
    to_row: Callable[[str, str], dict],
) -> list[dict]:
    """Question rows over the images, balanced over question types and, within each question maker,
    over yes/no answers (version 3: one count for all makers let GQA's makers, drawn in turn, answer
    "verify_relation" always yes and "exist_relation" always no, a third of GQA known from the text)."""
    seen: set[tuple[str, str]] = set()
    yes_no: dict[Callable, list[int]] = {m: [0, 0] for m in makers}  # yes / no answers so far, per maker

    def make(maker: Callable, image: tuple[str, Scene]) -> dict | None:
        img_id, scene = image
        counts = yes_no[maker]
        qa = maker(scene, rng, counts[0] <= counts[1])
        if qa is None or (img_id, qa[1]) in seen:
            return None
        seen.add((img_id, qa[1]))
        qtype, question, answer, kind = qa
        if answer in ("yes", "no"):
            counts[answer == "no"] += 1
        return {"image_id": img_id, "question": question, "question_type": qtype, **to_row(answer, kind)}

    rows = draw_balanced(n, images, makers, rng, make)
    return check_count(task, split, [{"id": f"{task}-{split}-{i:05d}", **r} for i, r in enumerate(rows)], n)


def vqa_rows(split: str, images: Images, n: int, rng: random.Random, n_answers: int, noise: float) -> list[dict]:
    def to_row(answer: str, kind: str) -> dict:
        answers = _annotators(answer, kind, n_answers, noise, rng)
        return {"answers": answers, "label": soft_label(answers)}

    return _qa_rows("vqa", split, images, n, VQA_MAKERS, rng, to_row)


def gqa_rows(split: str, images: Images, n: int, rng: random.Random) -> list[dict]:
    return _qa_rows(
        "gqa", split, images, n, GQA_MAKERS, rng, lambda answer, kind: {"answers": [answer], "label": {answer: 1.0}}
    )


# ----- NLVR2-like statements over two images --------------------------------------------------------


def _count(sc: Scene, what: str) -> int:
    return len(sc.find(shape=what)) if what in SHAPES else len(sc.find(color=what))


def _has(sc: Scene, what: str) -> bool:
    return _count(sc, what) > 0


def _phrase(what: str) -> str:
    return f"a {what}" if what in SHAPES else f"a {what} object"


def s_side_has(lr: tuple[Scene, Scene], side: int, what: str) -> tuple[str, bool]:
    return f"the {('left', 'right')[side]} image contains {_phrase(what)}", _has(lr[side], what)


def s_both_have(lr: tuple[Scene, Scene], side: int, what: str) -> tuple[str, bool]:
    return f"both images contain {_phrase(what)}", _has(lr[0], what) and _has(lr[1], what)


# Version 2: statements about one attribute (a colour or a shape) of one or both images; the
# comparisons and counts of version 1 were memorised, never generalised.
NLVR_MAKERS = (s_side_has, s_both_have)


def nlvr_rows(split: str, images: Images, n: int, rng: random.Random) -> list[dict]:
    """Statements about random image pairs; half of the labels (shuffled) are true.

    Version 3: each statement (its maker, side, and a colour or a shape, half the time each) is drawn
    before and apart from its label, then image pairs are drawn until one makes it true or false as
    wanted; so the sentence alone tells nothing (version 2 drew the statement from the pair, and a
    text-only reader scored 58 % on its test split).
    """
    rows: list[dict] = []
    seen = set()
    pool = list(images)
    labels = [i % 2 == 0 for i in range(n)] if len(pool) >= 2 else []
    rng.shuffle(labels)
    for i, want in enumerate(labels):
        maker = NLVR_MAKERS[i % len(NLVR_MAKERS)]
        for attempt in range(3000):  # random pairs until one gives the statement the wanted label
            if attempt % 300 == 0:  # a new statement now and then: a small world may have no fitting pair
                side = rng.randrange(2)
                what = rng.choice(list(COLORS)) if rng.random() < 0.5 else rng.choice(SHAPES)
            (a, sa), (b, sb) = rng.sample(pool, 2)
            sentence, truth = maker((sa, sb), side, what)
            if truth == want and (a, b, sentence) not in seen:
                seen.add((a, b, sentence))
                rows.append(
                    {"id": f"nlvr-{split}-{len(rows):05d}", "image_ids": [a, b], "sentence": sentence, "label": truth}
                )
                break
    return check_count("nlvr", split, rows, n)


def pretrain_qa_rows(images: Images, n: int, rng: random.Random) -> list[dict]:
    """Visual QA on the pre-training images (as VL-T5/VL-BART pre-train with QA on their own images):
    ``{"id", "image_id", "question", "answer"}``, VQA- and GQA-like questions in turn, no task rows."""
    makers = [m for pair in zip(VQA_MAKERS + VQA_MAKERS[:2], GQA_MAKERS) for m in pair]
    rows = _qa_rows("imgqa", "pretrain", images, n, makers, rng, lambda answer, kind: {"answer": answer})
    return [{k: r[k] for k in ("id", "image_id", "question", "answer")} for r in rows]


def caption_rows(
    split: str, images: Images, n: int, rng: random.Random, n_refs: int, task: str = "caption"
) -> list[dict]:
    """One row per image (the first ``n`` of a shuffled pool) with ``n_refs`` references."""
    order = rng.sample(list(images), min(n, len(images)))
    rows = [
        {"id": f"{task}-{split}-{i:05d}", "image_id": img_id, "captions": image_captions(scene, n_refs, rng)}
        for i, (img_id, scene) in enumerate(order)
    ]
    return check_count(task, split, rows, n)
