"""COCO caption metrics through pycocoevalcap: equal to the library, corpus-level CIDEr, hygiene.

The tests that tokenize (PTBTokenizer) or score METEOR need Java (Debian default-jre-headless) and skip
without it; the others run everywhere. METEOR's Java start-up (seconds) happens once, in one test."""

import contextlib
import os
import shutil

import pytest
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer import ptbtokenizer

from vlpeft.eval import caption
from vlpeft.eval.metrics import score_task

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="needs java")

EXAMPLES = [
    {"id": "1", "image_id": "i1", "captions": ["A dog runs on the grass.", "a brown dog running in a field"]},
    {"id": "2", "image_id": "i2", "captions": ["a cat sits on a mat", "The cat is sitting on the mat!"]},
    {"id": "3", "image_id": "i3", "captions": ["two men play tennis", "men playing tennis on a court"]},
]
PREDS = {"1": "a dog runs on the grass", "2": "a cat on a mat", "3": "a red bus"}


@pytest.fixture(scope="module")
def scores():
    """Every metric but METEOR (test_meteor_is_scored_and_its_process_stopped starts it once)."""
    return score_task("caption", PREDS, EXAMPLES, meteor=False)


def _library_tokenize(captions):
    return ptbtokenizer.PTBTokenizer().tokenize({k: [{"caption": c} for c in v] for k, v in captions.items()})


@needs_java
def test_tokenizer_matches_pycocoevalcap():
    caps = {e["id"]: e["captions"] for e in EXAMPLES}
    caps["4"] = ["Hello, World... it's 3:30 -- isn't it?", "naïve café"]
    assert caption.ptb_tokenize(caps) == _library_tokenize(caps)


@needs_java
def test_cider_equals_pycocoevalcap_x100(scores):
    gts = _library_tokenize({e["id"]: e["captions"] for e in EXAMPLES})
    res = _library_tokenize({k: [v] for k, v in PREDS.items()})
    expected, _ = Cider().compute_score(gts, res)
    assert scores["CIDEr"] == pytest.approx(100 * expected, rel=1e-12)


@needs_java
def test_metrics_present_on_0_100_scale(scores):
    for key in ("CIDEr", "BLEU-4", "ROUGE_L"):
        assert isinstance(scores[key], float) and 0 < scores[key]
    for key in ("BLEU-4", "ROUGE_L"):
        assert scores[key] <= 100
    assert scores["METEOR"] is None  # skipped on request is recorded as null
    assert scores["SPICE"] is None and "offline" in scores["SPICE_note"]


@needs_java
def test_cider_is_corpus_level():
    # our caption_scores: an exact match scores > 0 only beside other images (the idf needs a corpus);
    # disjoint words score exactly 0; one image alone scores 0 (idf 0 everywhere)
    refs = {"a": ["a dog runs", "a dog runs"], "b": ["the cat sleeps", "the cat sleeps"]}
    exact_and_disjoint = caption.caption_scores({"a": "a dog runs", "b": "green bus stops"}, refs, meteor=False)
    _, per_image = Cider().compute_score(refs, {"a": ["a dog runs"], "b": ["green bus stops"]})
    assert per_image[0] > 0 and per_image[1] == 0.0
    assert exact_and_disjoint["CIDEr"] == pytest.approx(100 * (per_image[0] + 0.0) / 2, rel=1e-12)  # corpus mean
    disjoint = caption.caption_scores({"a": "green bus stops", "b": "red car parks"}, refs, meteor=False)
    assert disjoint["CIDEr"] == 0.0
    alone = caption.caption_scores({"a": "a dog runs"}, {"a": refs["a"]}, meteor=False)
    assert alone["CIDEr"] == 0.0


@needs_java
def test_deterministic_and_no_garbage(scores):
    tok_dir = os.path.dirname(ptbtokenizer.__file__)
    before = sorted(os.listdir(tok_dir))
    refs = {e["id"]: e["captions"] for e in EXAMPLES}
    again = caption.caption_scores(PREDS, refs, meteor=False)
    assert again == scores
    assert caption.caption_scores(PREDS, refs, meteor=False) == again
    assert sorted(os.listdir(tok_dir)) == before  # no temp files left beside the jar


@needs_java
def test_meteor_is_scored_and_its_process_stopped(scores, monkeypatch):
    """The one METEOR start of this module: scored on 0-100 beside the other metrics (unchanged by it),
    and its Java process stopped once scoring returns."""
    started = []
    real = caption._meteor

    @contextlib.contextmanager
    def recording():
        with real() as scorer:
            started.append(scorer.meteor_p)
            assert scorer.meteor_p.poll() is None
            yield scorer

    monkeypatch.setattr(caption, "_meteor", recording)
    full = score_task("caption", PREDS, EXAMPLES)
    assert isinstance(full["METEOR"], float) and 0 < full["METEOR"] <= 100
    assert full == {**scores, "METEOR": full["METEOR"]}
    assert len(started) == 1 and started[0].poll() is not None


def test_missing_java_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(caption.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="`java`"):
        score_task("tvc", {"v1": "a man cooks"}, [{"id": "v1", "video_id": "v", "captions": ["a man cooks"]}])


def test_missing_prediction_and_empty_references():
    with pytest.raises(KeyError, match="caption: no prediction for 1 example id.*: 3"):
        score_task("caption", {"1": "x", "2": "y"}, EXAMPLES)
    with pytest.raises(ValueError, match="no reference"):
        score_task("yc2c", {"v": "x"}, [{"id": "v", "video_id": "v", "captions": []}])
