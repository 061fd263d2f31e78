"""Train the demo backbones' tokenizers on the demo world's text (the `backbone-demo` step).

The text is read from the annotation files of the ``train`` split of every task found under
``<data_dir>/annotations/`` and from the caption pre-training files ``annotations/pretrain/*.jsonl``;
the ``val`` and ``test`` splits are never read. Task rows are turned into text as the model will see
them (``vlpeft.tasks.source_text`` without the prompt, and ``target_texts``), so questions, statements,
choices, subtitles, captions, answers and the video-format markers are all covered; the tokenizer also
sees every task prompt once.

- T5: a Unigram (SentencePiece-style, Metaspace) model wrapped as ``T5Tokenizer`` (``T5TokenizerFast``
  is the same class in transformers 5):
  ``<pad>=0, </s>=1, <unk>=2``, the learnt pieces, then ``<extra_id_99> .. <extra_id_0>`` (T5's order).
- BART: a byte-level BPE wrapped as ``BartTokenizer`` (``= BartTokenizerFast = RobertaTokenizer``):
  ``<s>=0, <pad>=1, </s>=2, <unk>=3``, the learnt pieces, then ``<mask>`` last (BART's order).

Training is deterministic: the same files give the same ``tokenizer.json`` bytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlpeft.io import read_jsonl, sha256_file
from vlpeft.models.configs import ARCHS, NUM_EXTRA_IDS
from vlpeft.tasks import FIXED_GQA_PROMPT, GROUPS, TASKS, source_text, target_texts

MARKERS = ("[Subs]", "[Q]", "[TS]", "[Choices]")  # video input format, docs/methods.md D
PRETRAIN_FILES = {"image": "image_captions.jsonl", "video": "video_captions.jsonl"}
PRETRAIN_QA_FILE = "image_qa.jsonl"  # optional: visual QA on the pre-training images
TRAIN_SPLIT = "train"


@dataclass
class Corpus:
    """The demo world's text, in a deterministic order (tasks sorted, rows in file order)."""

    task_texts: list[str] = field(default_factory=list)  # encoder inputs and targets of train rows
    captions: list[dict[str, Any]] = field(default_factory=list)  # pretrain rows: {"group", "key", "caption"}
    qa: list[dict[str, Any]] = field(default_factory=list)  # pretrain rows: {"key", "question", "answer"}
    files: dict[str, str] = field(default_factory=dict)  # path relative to data_dir -> sha256

    @property
    def texts(self) -> list[str]:
        """Every text unit for denoising: task texts, then pre-training captions."""
        return self.task_texts + [c["caption"] for c in self.captions]

    @property
    def qa_texts(self) -> list[str]:
        """Questions and answers of the pre-training QA (for the tokenizer only)."""
        return [t for q in self.qa for t in (q["question"], q["answer"])]

    def tokenizer_texts(self) -> list[str]:
        """The tokenizer's training text: the corpus plus every task prompt and video marker."""
        prompts = sorted({t.prompt for t in TASKS.values()} | {FIXED_GQA_PROMPT})
        return self.texts + self.qa_texts + prompts + [" ".join(MARKERS)]


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    rows = read_jsonl(path)
    if not rows:
        raise ValueError(f"{path}: no annotation rows")
    return rows


def _row_field(path: Path, row: dict, key: str) -> Any:
    try:
        return row[key]
    except KeyError:
        raise KeyError(f"{path}: row {row.get('id', '?')!r} has no key {key!r}") from None


def _caption_rows(path: Path, group: str) -> list[dict[str, Any]]:
    """Pre-training captions, one per reference: ``{"id", "image_id"|"video_id", "captions": [str]}``."""
    key_name = "video_id" if group == "video" else "image_id"
    out = []
    for row in _read_rows(path):
        key = _row_field(path, row, key_name)
        for cap in _row_field(path, row, "captions"):
            out.append({"group": group, "key": str(key), "caption": str(cap)})
    return out


def collect_corpus(data_dir: str | os.PathLike) -> Corpus:
    """Read the train and pre-training annotation files of ``data_dir`` (see the module docstring).

    Raises FileNotFoundError naming the missing directory or file: ``data_dir``, its ``annotations/``,
    ``<task>/train.jsonl`` of a task directory that exists, or the pre-training caption file of a
    task group that has a task.
    """
    data_dir = Path(data_dir)
    ann = data_dir / "annotations"
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory not found: {data_dir}")
    if not ann.is_dir():
        raise FileNotFoundError(f"annotation directory not found: {ann}")
    tasks = sorted(t for t in TASKS if (ann / t).is_dir())
    if not tasks:
        raise FileNotFoundError(f"{ann}: no task directory (expected some of {', '.join(TASKS)})")
    corpus = Corpus()
    for task in tasks:
        spec = TASKS[task]
        path = ann / task / f"{TRAIN_SPLIT}.jsonl"
        for row in _read_rows(path):
            try:
                texts = [source_text(spec, row, use_task_prompt=False)]
                texts += [t for t, _ in target_texts(spec, row)]
            except KeyError as e:
                raise KeyError(f"{path}: row {row.get('id', '?')!r} has no key {e.args[0]!r}") from None
            corpus.task_texts += [t.strip() for t in texts if t.strip()]
        corpus.files[path.relative_to(data_dir).as_posix()] = sha256_file(path)
    for group, members in sorted(GROUPS.items()):
        if any(t in tasks for t in members):
            path = ann / "pretrain" / PRETRAIN_FILES[group]
            corpus.captions += _caption_rows(path, group)
            corpus.files[path.relative_to(data_dir).as_posix()] = sha256_file(path)
    qa_path = ann / "pretrain" / PRETRAIN_QA_FILE
    if any(t in tasks for t in GROUPS["image"]) and qa_path.is_file():
        corpus.qa = [
            {
                "key": str(_row_field(qa_path, r, "image_id")),
                "question": str(_row_field(qa_path, r, "question")),
                "answer": str(_row_field(qa_path, r, "answer")),
            }
            for r in _read_rows(qa_path)
        ]
        corpus.files[qa_path.relative_to(data_dir).as_posix()] = sha256_file(qa_path)
    return corpus


def _train_unigram(texts: list[str], vocab_size: int) -> list[tuple[str, float]]:
    """Learnt Unigram pieces with their log-probabilities, T5's three specials first."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    # the same pre-tokenizer as transformers' T5Tokenizer, so the pieces carry the same "▁"
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        ]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>", show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    vocab = [(p, float(s)) for p, s in json.loads(tok.to_str())["model"]["vocab"]]
    return vocab[:3] + _canonical_scores(vocab[3:])


def _canonical_scores(pieces: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Unigram pieces with run-independent scores and order.

    The trainer sums in hash-map order, so scores vary in their last bits, ties come out in any order,
    and the characters it must add after EM get ``min_score + j * 1e-4`` in hash-set order. Here the
    scores are rounded to 6 decimals, that bottom band (every score within ``1e-4`` per single
    character of the minimum, plus a margin) is lifted to one shared floor, and ties are sorted by piece.
    """
    lowest = min(s for _, s in pieces)
    floor = lowest + 1e-4 * sum(len(p) == 1 for p, _ in pieces) + 1e-3
    scored = [(p, round(max(s, floor), 6)) for p, s in pieces]
    return sorted(scored, key=lambda ps: (-ps[1], ps[0]))


def _train_bytelevel_bpe(texts: list[str], vocab_size: int) -> tuple[dict[str, int], list[tuple[str, ...]]]:
    """Learnt byte-level BPE vocabulary and merges, BART's four specials first."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,  # room for <mask>, which BART keeps as its last id
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = dict(sorted(model["vocab"].items(), key=lambda kv: kv[1]))
    vocab["<mask>"] = len(vocab)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return vocab, merges


def train_tokenizer(texts: list[str], arch: str, vocab_size: int = 1024):
    """Train a T5 (Unigram) or BART (byte-level BPE) tokenizer of about ``vocab_size`` learnt entries.

    Returns the transformers tokenizer before the project's added vocabulary (``prepare_tokenizer``);
    the T5 one already holds the 100 ``<extra_id_*>`` sentinels after its pieces.
    """
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one thread: trainer output independent of scheduling
    if arch == "t5":
        from transformers import T5Tokenizer

        pieces = _train_unigram(texts, vocab_size)
        pieces += [(f"<extra_id_{i}>", 0.0) for i in reversed(range(NUM_EXTRA_IDS))]
        return T5Tokenizer(vocab=pieces, extra_ids=NUM_EXTRA_IDS)
    if arch == "bart":
        from transformers import BartTokenizer

        vocab, merges = _train_bytelevel_bpe(texts, vocab_size)
        # transformers annotates merges `str | list[str] | None`; the BPE model it builds takes (a, b) pairs
        return BartTokenizer(vocab=vocab, merges=merges)  # type: ignore[arg-type]
    raise ValueError(f"unknown arch {arch!r}; expected one of {', '.join(ARCHS)}")
