"""COCO caption metrics (CIDEr-D, BLEU-4, METEOR, ROUGE-L) through pycocoevalcap, x100.

The scorers are pycocoevalcap's own. Only two pieces are ours:

- ``ptb_tokenize`` runs the very same Stanford PTBTokenizer jar with the same flags and punctuation
  filter as ``pycocoevalcap.tokenizer.ptbtokenizer.PTBTokenizer``, but through a pipe: the library
  writes a temporary file into its own installed package folder (garbage on a crash, fails on a
  read-only install) and ignores the text encoding;
- ``_meteor`` always stops the METEOR Java process, even when scoring fails (the library's
  ``compute_score`` keeps its lock on an error, so its ``__del__`` would hang).

SPICE is not computed: it downloads Stanford CoreNLP models at run time, impossible offline. It is
reported as ``"SPICE": None`` with a ``"SPICE_note"``, not as a failure.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer import ptbtokenizer

SPICE_NOTE = "SPICE not computed: it downloads Stanford CoreNLP at run time, impossible offline"
_LINE_BREAKS = ("\r\n", "\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c")


def require_java() -> str:
    """Path of the ``java`` executable; a clear error if it is missing."""
    java = shutil.which("java")
    if java is None:
        raise FileNotFoundError(
            "`java` not found on PATH: the COCO caption metrics (PTB tokenizer, METEOR) need a Java "
            "runtime (Debian: apt-get install default-jre-headless)"
        )
    return java


def _one_line(text: str) -> str:
    for br in _LINE_BREAKS:
        text = text.replace(br, " ")
    return text


def ptb_tokenize(captions: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Tokenize ``{key: [sentence, ...]}`` like pycocoevalcap's PTBTokenizer (lower-cased, PTB
    tokens, punctuation tokens removed), keys and order preserved."""
    keys = [k for k, sents in captions.items() for _ in sents]
    sentences = [_one_line(s) for sents in captions.values() for s in sents]
    jar = os.path.join(os.path.dirname(ptbtokenizer.__file__), ptbtokenizer.STANFORD_CORENLP_3_4_1_JAR)
    cmd = [
        require_java(),
        "-cp",
        jar,
        "edu.stanford.nlp.process.PTBTokenizer",
        "-preserveLines",
        "-lowerCase",
        "-encoding",
        "utf-8",
    ]
    proc = subprocess.run(
        cmd, input="".join(s + "\n" for s in sentences).encode("utf-8"), capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"PTBTokenizer failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    lines = proc.stdout.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if len(lines) != len(sentences):  # one line out per line in, or captions would be misattributed
        raise RuntimeError(f"PTBTokenizer returned {len(lines)} lines for {len(sentences)} sentences")
    punct = set(ptbtokenizer.PUNCTUATIONS)
    out: dict[str, list[str]] = {k: [] for k in captions}
    for key, line in zip(keys, lines):
        out[key].append(" ".join(w for w in line.rstrip().split(" ") if w not in punct))
    return out


@contextlib.contextmanager
def _meteor() -> Iterator[Meteor]:
    """A pycocoevalcap Meteor scorer whose Java process is always stopped on exit."""
    require_java()
    scorer = Meteor()
    try:
        yield scorer
    finally:
        scorer.lock = threading.Lock()  # released even if compute_score failed half-way
        scorer.__del__()  # closes stdin, kills and reaps the java process now, not at GC time


def caption_scores(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]], meteor: bool = True
) -> dict[str, float | str | None]:
    """Corpus-level CIDEr (CIDEr-D), BLEU-4, METEOR and ROUGE-L on a 0-100 scale.

    ``predictions[key]`` is one generated caption, ``references[key]`` its reference captions. CIDEr's
    document frequencies come from all references of the evaluated corpus, as in pycocoevalcap.
    ``meteor=False`` skips METEOR (its Java start-up loads paraphrase tables for seconds).
    """
    keys = sorted(references)
    if sorted(predictions) != keys:
        raise ValueError("caption_scores: predictions and references must have the same keys")
    empty = [k for k in keys if not references[k]]
    if empty:
        raise ValueError(f"caption_scores: no reference caption for id(s) {empty[:5]}")
    gts = ptb_tokenize({k: list(references[k]) for k in keys})
    res = ptb_tokenize({k: [predictions[k]] for k in keys})
    with contextlib.redirect_stdout(io.StringIO()):  # the scorers print progress; keep logs clean
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
        cider, _ = Cider().compute_score(gts, res)
        rouge, _ = Rouge().compute_score(gts, res)
        out: dict[str, float | str | None] = {
            "CIDEr": 100.0 * float(cider),
            "BLEU-4": 100.0 * float(bleu[3]),
            "ROUGE_L": 100.0 * float(rouge),
        }
        out["METEOR"] = None  # skipped on request
        if meteor:
            with _meteor() as scorer:
                out["METEOR"] = 100.0 * float(scorer.compute_score(gts, res)[0])
    return {**out, "SPICE": None, "SPICE_note": SPICE_NOTE}
