"""`vlpeft <verb>`: one verb per pipeline step. Each verb lives in its own module, which exposes
``add_arguments(parser)`` and ``run(args) -> int``; modules are imported lazily so that
`vlpeft --help` and light verbs do not pay for importing torch."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# verb -> (module, one-line help)
VERBS: dict[str, tuple[str, str]] = {
    "demo": ("vlpeft.data.cli", "generate the deterministic demo world (images, videos, annotations)"),
    "data-check": ("vlpeft.data.check", "verify a copy of a real data set against its manifest (config/data)"),
    "data-prepare": ("vlpeft.data.prepare", "read real data sets into the project's task schema"),
    "data-features": ("vlpeft.data.readers.convert", "convert published precomputed features to the HDF5 cache"),
    "doctor": ("vlpeft.doctor", "check this machine: video decoders, ffmpeg, Java, CUDA, torch threads"),
    "frames": ("vlpeft.video.cli", "decode videos and sample frames uniformly"),
    "clip-demo": ("vlpeft.features.demo_clip", "prepare the tiny demo CLIP checkpoint (RN and ViT towers)"),
    "features": ("vlpeft.features.cli", "cache CLIP image grid / video frame features in HDF5"),
    "params": ("vlpeft.pet.cli", "parameter accounting: trainable %% of a method on a backbone"),
    "backbone-demo": ("vlpeft.pretrain.cli", "prepare a tiny pre-trained T5/BART for the demo"),
    "train": ("vlpeft.train.cli", "train one (group, backbone, method, seed) run"),
    "evaluate": ("vlpeft.eval.cli", "decode and score a trained run"),
    "tables": ("vlpeft.report.cli", "paper-style tables and plots from run metrics"),
    "flat-metrics": ("vlpeft.report.flat", "flat score files and training curves for DVC metrics and plots"),
    "determinism": ("vlpeft.repro", "build twice from clean with dvc repro and compare every tracked output"),
    "predict": ("vlpeft.predict", "answer or caption your own image(s) or video with a trained run or an export"),
    "export": ("vlpeft.export", "a self-contained, hub-ready folder of a run (PEFT files for LoRA, model card)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vlpeft",
        description="Reproducible parameter-efficient tuning of "
        "vision-and-language models: one verb per pipeline step.",
    )
    from vlpeft import __version__

    parser.add_argument("--version", action="version", version=f"vlpeft {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, (_, help_) in VERBS.items():
        sub.add_parser(verb, help=help_, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from vlpeft.progress import quiet_library_bars

    quiet_library_bars()  # in a log file: no carriage-return bars from transformers
    if not argv or argv[0] in ("-h", "--help", "--version") or argv[0] not in VERBS:
        build_parser().parse_args(argv)  # prints help / the error for an unknown verb
        return 2
    verb = argv[0]
    module = importlib.import_module(VERBS[verb][0])
    parser = argparse.ArgumentParser(prog=f"vlpeft {verb}", description=VERBS[verb][1])
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except (FileNotFoundError, ValueError, KeyError) as e:
        # Bad input: one clear line naming the file or key, no traceback.
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"vlpeft {verb}: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
