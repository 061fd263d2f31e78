# Config loading and checks, paths, code fingerprints and the target list: the only Python in the workflow.
#
# config/config.yaml is the default; every --configfile (config/test.yaml, config/paper/*.yaml) is a
# small override file merged over it (vlpeft.workflow_config: mappings merge key by key, a null removes
# a key). The merged result is validated against workflow/schemas/config.schema.yaml and checked before
# any job starts; an error is one line naming the file, the key path and the value.
import os
import shlex
import sys

from vlpeft.fingerprint import fingerprint
from vlpeft.workflow_config import DEFAULT_CONFIG, SPLIT_METRICS, ConfigError, method_set_args, validated


def _shown(path):
    """A config file as the user named it: relative to the working directory when inside it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


try:
    _checked = validated(
        [DEFAULT_CONFIG] + [_shown(str(f)) for f in workflow.overwrite_configfiles if _shown(str(f)) != DEFAULT_CONFIG],
        cli=dict(workflow.config_settings.config),
    )
except ConfigError as _e:
    sys.exit(f"config error: {_e}")  # one line, no traceback, before any job
config.clear()
config.update(_checked)

VLPEFT = f"{shlex.quote(sys.executable)} -m vlpeft"
DS = config["dataset"]
NAME = config.get("name", DS)  # runs/, results/ and run logs of this config
DATA = f"data/{DS}"
LOGS = f"logs/{DS}"  # logs of the data set's steps (data, frames, features, demo models)
RUNS = f"runs/{NAME}"
RESULTS = f"results/{NAME}"
RUN_LOGS = f"logs/{NAME}"
DATA_SOURCE = config["data"].get("source", "demo")
# Where the images / videos of the data set are: the demo world's folders, or the user's for real data.
IMAGES_DIR = f"{DATA}/images" if DATA_SOURCE == "demo" else config["data"].get("images", "")
VIDEOS_DIR = f"{DATA}/videos" if DATA_SOURCE == "demo" else config["data"].get("videos", "")
VIDEO_FEATURES = config["data"].get("video_features")  # precomputed VALUE features, if any
SPLIT = config["evaluate"]["split"]
METRICS_FILE = SPLIT_METRICS[SPLIT]  # what `vlpeft evaluate --split` writes

# Code-aware reruns: each rule has `code=CODE[<verb>]` as a param, the fingerprint of the package code its
# verb runs (vlpeft.fingerprint), so the params trigger reruns it when that code changes, and only then.
VERB_MODULES = {
    "demo": "vlpeft.data.cli",
    "data-check": "vlpeft.data.check",
    "data-prepare": "vlpeft.data.prepare",
    "data-features": "vlpeft.data.readers.convert",
    "frames": "vlpeft.video.cli",
    "clip-demo": "vlpeft.features.demo_clip",
    "features": "vlpeft.features.cli",
    "backbone-demo": "vlpeft.models.demo_backbone",
    "train": "vlpeft.train.cli",
    "evaluate": "vlpeft.eval.cli",
    "tables": "vlpeft.report.cli",
}


def code(*verbs):
    return fingerprint(*(VERB_MODULES[v] for v in verbs))


def clip_checkpoint(kind):
    """The CLIP checkpoint of a tower: the pipeline's own demo CLIP, or a name/path from config."""
    value = config["clip"][kind]
    return f"models/{DS}/clip_{'rn' if kind == 'image' else 'vit'}.pt" if value == "demo" else value


def clip_input(kind):
    value = config["clip"][kind]
    return [clip_checkpoint(kind)] if value == "demo" else []


def backbone_path(key):
    value = config["backbones"][key]
    return f"models/{DS}/{key}" if value == "demo" else value


def backbone_input(wildcards):
    return [f"models/{DS}/{wildcards.backbone}"] if config["backbones"][wildcards.backbone] == "demo" else []


def group_features(wildcards):
    """The feature cache a run reads: image grids for the image group, frame features for video."""
    return f"features/{DS}/{wildcards.group}.h5"


def epochs(method):
    return config["train"].get("method_epochs", {}).get(method, config["train"]["epochs"])


def run_dir(group, backbone, method, seed):
    return f"{RUNS}/{group}/{backbone}/{method}/seed{seed}"


def all_runs():
    for group, spec in sorted(config["groups"].items()):
        for backbone in spec["backbones"]:
            for method in spec["methods"]:
                for seed in config["seeds"]:
                    yield group, backbone, method, seed


def final_targets():
    tables = [
        f"{RESULTS}/tables/{group}_{backbone}.md"
        for group, spec in sorted(config["groups"].items())
        for backbone in spec["backbones"]
    ]
    return tables + [f"{RESULTS}/metrics/summary.json", f"{RESULTS}/plots/efficiency.png"]


def stage_inputs(stage):
    """What DVC's stage `stage` (dvc.yaml) builds under this config: the targets of rule stage_<stage>."""
    groups = config["groups"]
    if stage == "data":
        frames = "video" in groups and not VIDEO_FEATURES
        return [f"{DATA}/manifest.json"] + ([f"frames/{DS}/frames.h5"] if frames else [])
    used = {key for spec in groups.values() for key in spec["backbones"]}
    demo = [f"models/{DS}/{key}" for key in sorted(used) if config["backbones"][key] == "demo"]
    return [f"features/{DS}/{group}.h5" for group in sorted(groups)] + demo
