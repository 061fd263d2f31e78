"""COCO caption metrics through pycocoevalcap: equal to the library, corpus-level CIDEr, hygiene.

Needs Java (Debian default-jre-headless); each full scoring starts METEOR (a few seconds)."""

import os
import shutil

import pytest
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer import ptbtokenizer

from vlpeft.eval import caption
from vlpeft.eval.metrics import score_task

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="needs java")

EXAMPLES = [
    {"id": "1", "image_id": "i1", "captions": ["A dog runs on the grass.", "a brown dog running in a field"]},
    {"id": "2", "image_id": "i2", "captions": ["a cat sits on a mat", "The cat is sitting on the mat!"]},
    {"id": "3", "image_id": "i3", "captions": ["two men play tennis", "men playing tennis on a court"]},
]
PREDS = {"1": "a dog runs on the grass", "2": "a cat on a mat", "3": "a red bus"}


@pytest.fixture(scope="module")
def scores():
    return score_task("caption", PREDS, EXAMPLES)


def _library_tokenize(captions):
    return ptbtokenizer.PTBTokenizer().tokenize({k: [{"caption": c} for c in v] for k, v in captions.items()})


def test_tokenizer_matches_pycocoevalcap():
    caps = {e["id"]: e["captions"] for e in EXAMPLES}
    caps["4"] = ["Hello, World... it's 3:30 -- isn't it?", "naïve café"]
    assert caption.ptb_tokenize(caps) == _library_tokenize(caps)


def test_cider_equals_pycocoevalcap_x100(scores):
    gts = _library_tokenize({e["id"]: e["captions"] for e in EXAMPLES})
    res = _library_tokenize({k: [v] for k, v in PREDS.items()})
    expected, _ = Cider().compute_score(gts, res)
    assert scores["CIDEr"] == pytest.approx(100 * expected, rel=1e-12)


def test_all_metrics_present_on_0_100_scale(scores):
    for key in ("CIDEr", "BLEU-4", "METEOR", "ROUGE_L"):
        assert isinstance(scores[key], float) and 0 < scores[key]
    for key in ("BLEU-4", "METEOR", "ROUGE_L"):
        assert scores[key] <= 100
    assert scores["SPICE"] is None and "offline" in scores["SPICE_note"]


def test_cider_hand_checked_properties():
    # identical candidate and references (in a corpus: the idf needs more than one image) score > 0;
    # disjoint words score exactly 0
    gts = {"a": ["a dog runs", "a dog runs"], "b": ["the cat sleeps", "the cat sleeps"]}
    res = {"a": ["a dog runs"], "b": ["green bus stops"]}
    _, per_image = Cider().compute_score(gts, res)
    assert per_image[0] > 0 and per_image[1] == 0.0
    # one image alone has idf 0 everywhere: CIDEr needs the document frequencies of the corpus
    alone, _ = Cider().compute_score({"a": gts["a"]}, {"a": res["a"]})
    assert alone == 0.0


def test_deterministic_and_no_garbage(scores):
    # METEOR is skipped here to keep the test fast (its Java start-up alone takes seconds)
    tok_dir = os.path.dirname(ptbtokenizer.__file__)
    before = sorted(os.listdir(tok_dir))
    refs = {e["id"]: e["captions"] for e in EXAMPLES}
    again = caption.caption_scores(PREDS, refs, meteor=False)
    assert again == {**scores, "METEOR": None}  # skipped METEOR is recorded as null
    assert caption.caption_scores(PREDS, refs, meteor=False) == again
    assert sorted(os.listdir(tok_dir)) == before  # no temp files left beside the jar


def test_meteor_process_is_stopped():
    with caption._meteor() as meteor:
        proc = meteor.meteor_p
        assert proc.poll() is None
    assert proc.poll() is not None


def test_missing_java_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(caption.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="`java`"):
        score_task("tvc", {"v1": "a man cooks"}, [{"id": "v1", "video_id": "v", "captions": ["a man cooks"]}])


def test_missing_prediction_and_empty_references():
    with pytest.raises(KeyError, match="caption: no prediction for 1 example id.*: 3"):
        score_task("caption", {"1": "x", "2": "y"}, EXAMPLES)
    with pytest.raises(ValueError, match="no reference"):
        score_task("yc2c", {"v": "x"}, [{"id": "v", "video_id": "v", "captions": []}])
