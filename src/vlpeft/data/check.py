"""`vlpeft data-check`: verify a user's copy of published data against data manifests
(``config/data/<dataset>.yaml``): every file present, of the pinned size and sha256.

Prints one line per file; for anything missing or wrong it names the file and where to get it.
Files whose sha256 is not pinned yet (``sha256: null``) get their computed digest printed, so it can
be pinned. Exit status 1 if any required file is missing or wrong, else 0.
"""

from __future__ import annotations

import argparse

from vlpeft.data.readers.build import DEFAULT_MANIFEST_DIR, manifest_path
from vlpeft.data.readers.manifest import check_manifest, load_manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--datasets",
        nargs="+",
        required=True,
        metavar="NAME",
        help="data set names looked up in --manifest-dir (config data.datasets), or manifest files",
    )
    parser.add_argument("--root", required=True, help="folder the manifests' relative paths start from")
    parser.add_argument(
        "--manifest-dir", default=DEFAULT_MANIFEST_DIR, help="where data set names are looked up (default: %(default)s)"
    )
    parser.add_argument(
        "--no-hash", action="store_true", help="check presence and size only (skip sha256, which reads every byte)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    findings = []
    for name in args.datasets:
        manifest = load_manifest(manifest_path(name, args.manifest_dir))
        findings += check_manifest(manifest, args.root, hash_files=not args.no_hash, progress=not args.no_progress)
    for f in findings:
        print(f.line())
    problems = [f for f in findings if f.is_problem]
    unpinned = sum(f.status == "unpinned" for f in findings)
    print(f"{len(findings)} files checked under {args.root}: {len(problems)} problem(s), {unpinned} not pinned")
    return 1 if problems else 0
