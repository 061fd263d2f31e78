"""Text noising of the demo backbones' denoising objective (T5 span corruption, BART text infilling)
and the batching of (source, target) id pairs."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import torch

from vlpeft.models.configs import NUM_EXTRA_IDS


def _partition(total: int, parts: int, rng: random.Random) -> list[int]:
    """A uniformly random split of ``total`` into ``parts`` positive integers."""
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0] + cuts, cuts + [total])]


def span_corrupt(
    ids: list[int], rng: random.Random, sentinels: list[int], eos_id: int, density: float = 0.15, mean_span: float = 3.0
) -> tuple[list[int], list[int]]:
    """T5 span corruption (our own: transformers ships it only in its Flax examples).

    About ``density`` of the tokens, in spans of mean length ``mean_span``, are cut out of the input
    and replaced by ``<extra_id_k>``; the target lists each sentinel followed by its span. A
    one-token text (an answer: "true", "a3", "white") is corrupted whole, so that answer tokens are
    trained as decoder targets, as every word of a real backbone's vocabulary is.
    """
    n = len(ids)
    if n == 1:
        return [sentinels[0], eos_id], [sentinels[0], ids[0], eos_id]
    n_noise = min(max(1, round(n * density)), n - 1)
    n_spans = max(1, min(round(n_noise / mean_span), n_noise, n - n_noise, len(sentinels)))
    keep, noise = _partition(n - n_noise, n_spans, rng), _partition(n_noise, n_spans, rng)
    src, tgt, pos = [], [], 0
    for k, (a, b) in enumerate(zip(keep, noise)):
        src += ids[pos : pos + a] + [sentinels[k]]
        tgt += [sentinels[k]] + ids[pos + a : pos + a + b]
        pos += a + b
    return src + [eos_id], tgt + [eos_id]


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's Poisson sampler (the span lengths of BART's text infilling)."""
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def text_infill(
    ids: list[int], rng: random.Random, mask_id: int, bos_id: int, eos_id: int, ratio: float = 0.3, lam: float = 3.0
) -> tuple[list[int], list[int]]:
    """BART text infilling (our own: transformers has no BART noising collator).

    Spans with Poisson(``lam``) lengths covering about ``ratio`` of the tokens are each replaced by a
    single ``<mask>`` (a 0-length span inserts one); the target is the whole original text.
    """
    n = len(ids)
    masked, inserts, spent = [False] * n, set(), 0
    while spent < max(1, round(n * ratio)):
        length, start = _poisson(rng, lam), rng.randrange(n)
        if length == 0:
            inserts.add(start)
        for j in range(start, min(n, start + length)):
            masked[j] = True
        spent += max(1, length)
    src, prev_masked = [], False
    for i, tok in enumerate(ids):
        if i in inserts and not prev_masked and not masked[i]:
            src.append(mask_id)
        if masked[i]:
            if not prev_masked:
                src.append(mask_id)
        else:
            src.append(tok)
        prev_masked = masked[i]
    return [bos_id] + src + [eos_id], [bos_id] + ids + [eos_id]


def make_denoiser(tokenizer, arch: str) -> Callable[[list[int], random.Random], tuple[list[int], list[int]]]:
    """The arch's denoising objective as ``f(ids, rng) -> (encoder ids, label ids)``."""
    if arch == "t5":
        sentinels = tokenizer.convert_tokens_to_ids([f"<extra_id_{i}>" for i in range(NUM_EXTRA_IDS)])
        return lambda ids, rng: span_corrupt(ids, rng, sentinels, tokenizer.eos_token_id)
    return lambda ids, rng: text_infill(
        ids, rng, tokenizer.mask_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id
    )


def random_window(ids: list[int], max_len: int, rng: random.Random) -> list[int]:
    """A random window of at most ``max_len`` tokens (long subtitle texts)."""
    if len(ids) <= max_len:
        return ids
    start = rng.randrange(len(ids) - max_len + 1)
    return ids[start : start + max_len]


def _pad(seqs: list[list[int]], value: int):
    width = max(len(s) for s in seqs)
    return torch.tensor([s + [value] * (width - len(s)) for s in seqs], dtype=torch.long)


def collate(pairs: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    """Encoder ids, attention mask and labels (padding ignored as -100) of (source, target) pairs."""
    input_ids = _pad([p[0] for p in pairs], pad_id)
    return {
        "input_ids": input_ids,
        "attention_mask": (input_ids != pad_id).long(),
        "labels": _pad([p[1] for p in pairs], -100),
    }
