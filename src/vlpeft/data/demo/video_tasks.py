"""Annotations of the video tasks: TVQA/How2QA-like multiple choice and TVC/YC2C-like captions.

Question makers take ``(video, rng)`` and return ``(question_type, question, answer, distractors,
ts)`` or None; the distractors come most plausible first (other objects and events of the same
video, then near misses). The position of the correct choice is balanced over each split.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from .sampling import check_count, draw_balanced
from .scene import COLORS, SHAPES
from .text import DIR_PHRASE, DIRECTIONS, NAMES, ROLES, event_paraphrases, event_text, noun, sequence_captions
from .video import Event, Video

Videos = Sequence[tuple[str, Video]]
MC = tuple[str, str, str, list[str], list[float]] | None
STILL = "it does not move"


def _shuffled(rng: random.Random, items) -> list:
    items = list(items)
    rng.shuffle(items)
    return items


def describe(v: Video, e: Event) -> tuple[str, str, str, str | None]:
    o = v.objects[e.obj]
    return e.kind, o.color, o.shape, e.direction


def phrase(v: Video, e: Event) -> str:
    """The canonical phrase of an event: ``the red square moves to the left``."""
    return event_text(*describe(v, e))


def span(*events: Event) -> list[float]:
    return [events[0].start, events[-1].end]


def _absent_kinds(v: Video, rng: random.Random) -> list[tuple[str, str]]:
    """(colour, shape) pairs whose colour is not in the video, shuffled."""
    used = {o.color for o in v.objects}
    return _shuffled(rng, [(c, s) for c in COLORS if c not in used for s in SHAPES])


def object_options(v: Video, i: int, rng: random.Random) -> list[str]:
    """Wrong noun phrases for object ``i``: objects of colours the video never shows (version 2: the
    choice is told apart by what is seen, not by when; version 1 offered the video's other objects)."""
    return [noun(c, s) for c, s in _absent_kinds(v, rng)]


def event_options(v: Video, e: Event, rng: random.Random) -> list[str]:
    """Wrong descriptions of event ``e``: the same kind of event by objects of colours the video never
    shows (version 2, as ``object_options``)."""
    kind, _, _, direction = describe(v, e)
    return [event_text(kind, c, s, direction) for c, s in _absent_kinds(v, rng)]


def static_objects(v: Video, e: Event) -> list[int]:
    """Objects visible and still during the whole step of event ``e``."""
    out = []
    for j in range(len(v.objects)):
        gone = [x.mid for x in v.events if x.obj == j and x.kind == "disappear"]
        if j != e.obj and v.appear_time(j) < e.start and (not gone or gone[0] > e.end):
            out.append(j)
    return out


def _moves(v: Video) -> list[Event]:
    return [e for e in v.events if e.kind == "move"]


def _direction(e: Event) -> str:
    assert e.direction is not None, "a move event has a direction"
    return e.direction


def _appears(v: Video) -> list[Event]:
    return [e for e in v.events if e.kind == "appear"]


# ----- TVQA-like makers ----------------------------------------------------------------------------


def tv_direction(v: Video, rng: random.Random) -> MC:
    still = [(e, j) for e in _moves(v) for j in static_objects(v, e)]
    if still and rng.random() < 0.25:
        e, j = rng.choice(still)
        answer = STILL
    else:
        e = rng.choice(_moves(v))
        j, answer = e.obj, _direction(e)
    o = v.objects[j]
    return (
        "direction",
        f"which way does {noun(o.color, o.shape)} move?",
        answer,
        _shuffled(rng, DIRECTIONS + (STILL,)),
        span(e),
    )


def tv_moving_color(v: Video, rng: random.Random) -> MC:
    e = rng.choice(_moves(v))
    color = v.objects[e.obj].color
    in_video = [o.color for o in v.objects]
    return (
        "moving_color",
        f"what color is the shape that moves {DIR_PHRASE[_direction(e)]}?",
        color,
        _shuffled(rng, [c for c in COLORS if c not in in_video]),
        span(e),
    )


def tv_order(v: Video, rng: random.Random) -> MC:
    appears = _appears(v)
    which = rng.choice(("first", "second", "last"))
    e = appears[{"first": 0, "second": 1, "last": -1}[which]]
    o = v.objects[e.obj]
    return (
        "order",
        f"which shape appears {which}?",
        noun(o.color, o.shape),
        object_options(v, e.obj, rng),
        [0.0, appears[-1].end],
    )


def tv_event(v: Video, rng: random.Random) -> MC:
    e = rng.choice(v.events)
    return "event", "what happens in this moment?", phrase(v, e), event_options(v, e, rng), span(e)


def _count_question(v: Video, question: str) -> MC:
    n = len(_appears(v))
    near = sorted((k for k in range(1, len(COLORS) + 1) if k != n), key=lambda k: (abs(k - n), k))
    return "count", question, str(n), [str(k) for k in near], [0.0, v.seconds]


def tv_count(v: Video, rng: random.Random) -> MC:
    return _count_question(v, "how many shapes appear in the video?")


def _fact_question(v: Video, rng: random.Random, qtype: str, template: str, pool: Sequence[str]) -> MC:
    obj, word, line = rng.choice(v.facts)
    o = v.objects[obj]
    told = [w for _, w, _ in v.facts if w != word]
    sub = v.subtitles[line]
    return (
        qtype,
        template.format(noun(o.color, o.shape)),
        word,
        told + _shuffled(rng, [w for w in pool if w != word and w not in told]),
        [sub["start"], sub["end"]],
    )


def tv_owner(v: Video, rng: random.Random) -> MC:
    """Answerable only from the subtitles: a character says the object is theirs."""
    return _fact_question(v, rng, "subtitle_owner", "whose is {}?", NAMES)


TVQA_MAKERS = (tv_direction, tv_moving_color, tv_order, tv_event, tv_count, tv_owner)


# ----- How2QA-like makers ----------------------------------------------------------------------------


def h_direction(v: Video, rng: random.Random) -> MC:
    e = rng.choice(_moves(v))
    o = v.objects[e.obj]
    return (
        "direction",
        f"which way do we move {noun(o.color, o.shape)}?",
        _direction(e),
        _shuffled(rng, DIRECTIONS),
        span(e),
    )


def h_moved_object(v: Video, rng: random.Random) -> MC:
    e = rng.choice(_moves(v))
    o = v.objects[e.obj]
    return (
        "moved_object",
        f"which shape do we move {DIR_PHRASE[_direction(e)]}?",
        noun(o.color, o.shape),
        object_options(v, e.obj, rng),
        span(e),
    )


def h_next_step(v: Video, rng: random.Random) -> MC:
    k = rng.randrange(len(v.events) - 1)
    e, nxt = v.events[k], v.events[k + 1]
    return (
        "next_step",
        f"what happens after {phrase(v, e)}?",
        phrase(v, nxt),
        event_options(v, nxt, rng),
        span(e, nxt),
    )


def h_first_step(v: Video, rng: random.Random) -> MC:
    e = v.events[0]
    return "first_step", "what is the first step?", phrase(v, e), event_options(v, e, rng), span(e)


def h_step(v: Video, rng: random.Random) -> MC:
    e = rng.choice(v.events)
    return "event", "what happens in this step?", phrase(v, e), event_options(v, e, rng), span(e)


def h_role(v: Video, rng: random.Random) -> MC:
    """Answerable only from the subtitles: the instructor names the object."""
    return _fact_question(v, rng, "subtitle_role", "what do we call {}?", ROLES)


HOW2QA_MAKERS = (h_direction, h_moved_object, h_next_step, h_first_step, h_step, h_role)


def qa_rows(
    task: str,
    split: str,
    videos: Videos,
    n: int,
    num_choices: int,
    makers: Sequence[Callable[[Video, random.Random], MC]],
    rng: random.Random,
) -> list[dict]:
    """Multiple-choice rows; the correct index is spread evenly over the ``num_choices`` positions."""
    seen: set[tuple] = set()

    def make(maker: Callable, video: tuple[str, Video]) -> tuple | None:
        vid, v = video
        mc = maker(v, rng)
        if mc is None:
            return None
        qtype, question, answer, options, ts = mc
        wrong = [o for o in dict.fromkeys(options) if o != answer][: num_choices - 1]
        if len(wrong) < num_choices - 1 or (vid, question, tuple(ts)) in seen:
            return None
        seen.add((vid, question, tuple(ts)))
        return vid, v, qtype, question, answer, wrong, ts

    raw = draw_balanced(n, videos, makers, rng, make)
    positions = [i % num_choices for i in range(len(raw))]
    rng.shuffle(positions)
    rows = []
    for i, ((vid, v, qtype, question, answer, wrong, ts), pos) in enumerate(zip(raw, positions)):
        choices = _shuffled(rng, wrong)
        choices.insert(pos, answer)
        rows.append(
            {
                "id": f"{task}-{split}-{i:05d}",
                "video_id": vid,
                "question": question,
                "question_type": qtype,
                "choices": choices,
                "answer_idx": pos,
                "ts": ts,
                "subtitles": list(v.subtitles),
            }
        )
    return check_count(task, split, rows, n)


# ----- TVC / YC2C-like captions --------------------------------------------------------------------


def tvc_rows(split: str, videos: Videos, n: int, n_refs: int, rng: random.Random) -> list[dict]:
    """Moment captions: a single step or two consecutive steps, with all the video's subtitles."""
    moments = [
        (vid, v, ks)
        for vid, v in videos
        for k in range(len(v.events))
        for ks in ([k], [k, k + 1])
        if ks[-1] < len(v.events)
    ]
    rows = []
    for i, (vid, v, ks) in enumerate(rng.sample(moments, min(n, len(moments)))):
        evs = [v.events[k] for k in ks]
        caps = (
            event_paraphrases(*describe(v, evs[0]), "tv", n_refs, rng)
            if len(evs) == 1
            else sequence_captions([describe(v, e) for e in evs], "tv", n_refs, rng)
        )
        rows.append(
            {
                "id": f"tvc-{split}-{i:05d}",
                "video_id": vid,
                "ts": span(*evs),
                "subtitles": list(v.subtitles),
                "captions": caps,
            }
        )
    return check_count("tvc", split, rows, n)


def yc2c_rows(split: str, videos: Videos, n: int, n_refs: int, rng: random.Random) -> list[dict]:
    """Step captions in the instructor's words, with the subtitles said during the step."""
    steps = [(vid, v, e) for vid, v in videos for e in v.events]
    rows = []
    for i, (vid, v, e) in enumerate(rng.sample(steps, min(n, len(steps)))):
        subs = [s for s in v.subtitles if s["start"] < e.end and s["end"] > e.start]
        rows.append(
            {
                "id": f"yc2c-{split}-{i:05d}",
                "video_id": vid,
                "ts": span(e),
                "subtitles": subs,
                "captions": event_paraphrases(*describe(v, e), "howto", n_refs, rng),
            }
        )
    return check_count("yc2c", split, rows, n)


def video_caption_rows(videos: Videos, n_refs: int, rng: random.Random) -> list[dict]:
    """Pre-training captions of whole videos: the sequence of their events."""
    return [
        {
            "id": f"vidcap-pretrain-{i:05d}",
            "video_id": vid,
            "captions": sequence_captions([describe(v, e) for e in v.events], v.style, n_refs, rng),
        }
        for i, (vid, v) in enumerate(videos)
    ]
