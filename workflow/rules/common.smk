# Config validation, paths and the target list: the only Python in the workflow.
import os
import shlex
import sys

from snakemake.utils import validate

validate(config, "../schemas/config.schema.yaml")

from vlpeft.workflow_config import check_config, method_set_args  # noqa: E402

check_config(config)

VLPEFT = f"{shlex.quote(sys.executable)} -m vlpeft"
DS = config["dataset"]
DATA = f"data/{DS}"
LOGS = f"logs/{DS}"
DATA_SOURCE = config.get("data", {}).get("source", "demo")
# Where the images / videos of the data set are: the demo world's folders, or the user's for real data.
IMAGES_DIR = f"{DATA}/images" if DATA_SOURCE == "demo" else config["data"].get("images", "")
VIDEOS_DIR = f"{DATA}/videos" if DATA_SOURCE == "demo" else config["data"].get("videos", "")
VIDEO_FEATURES = config.get("data", {}).get("video_features")  # precomputed VALUE features, if any


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
    return f"runs/{group}/{backbone}/{method}/seed{seed}"


def all_runs():
    for group, spec in sorted(config["groups"].items()):
        for backbone in spec["backbones"]:
            for method in spec["methods"]:
                for seed in config["seeds"]:
                    yield group, backbone, method, seed


def final_targets():
    tables = [
        f"results/tables/{group}_{backbone}.md"
        for group, spec in sorted(config["groups"].items())
        for backbone in spec["backbones"]
    ]
    return tables + ["results/metrics/summary.json", "results/plots/efficiency.png"]
