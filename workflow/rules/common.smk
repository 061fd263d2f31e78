# Config loading and checks, paths, code fingerprints and the target list: the only Python in the workflow.
#
# config/config.yaml is the default; every --configfile (config/test.yaml, config/paper/*.yaml) is a
# small override file merged over it (vlpeft.workflow_config: mappings merge key by key, a null removes
# a key). The merged result is validated against workflow/schemas/config.schema.yaml and checked before
# any job starts; an error is one line naming the file, the key path and the value.
import os
import shlex
import sys

from vlpeft.cli import VERBS
from vlpeft.fingerprint import fingerprint
from vlpeft.run_files import ADAPTER_FILE, LOG_FILE
from vlpeft.workflow_config import DEFAULT_CONFIG, SPLIT_METRICS, ConfigError, method_override_args, validated


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

# Every rule runs `vlpeft <verb>` with the interpreter running Snakemake (the pinned .venv of
# envs/requirements.txt). `snakemake --lint` (make lint-workflow) warns about two things on purpose:
# - "Shell command directly uses variable VLPEFT": as a param, the interpreter's path would be part of
#   every job's params, and moving the .venv would rerun everything; the code itself is a param (code=).
# - "Specify a conda environment or container for each rule": the software is the pinned .venv
#   (envs/setup.sh), one environment for every rule, as on the SLURM cluster.
VLPEFT = f"{shlex.quote(sys.executable)} -m vlpeft"
# torchrun (train.gpus > 1) runs the same interpreter, named by this variable of the jobs' environment
# rather than by a param (a param holding the .venv's path would rerun every job when it moves). Set
# here, not read: no `envvars:` directive (the jobs of a SLURM run load this file again and set it).
os.environ.update(VLPEFT_PYTHON=sys.executable)
DS = config["dataset"]
NAME = config.get("name", DS)  # runs/, results/ and run logs of this config
DATA = f"data/{DS}"
LOGS = f"logs/{DS}"  # logs of the data set's steps (data, frames, features, demo models)
RUNS = f"runs/{NAME}"
RESULTS = f"results/{NAME}"
RUN_LOGS = f"logs/{NAME}"
# The data set's files, each spelled once: its manifest, the sampled frames, a group's feature cache
# (feature_file), a demo model (demo_model: the backbones t5/bart and the CLIPs clip_rn.pt/clip_vit.pt).
MANIFEST = f"{DATA}/manifest.json"
FRAMES = f"frames/{DS}/frames.h5"


def feature_file(group):
    return f"features/{DS}/{group}.h5"


def demo_model(name):
    return f"models/{DS}/{name}"


DATA_SOURCE = config["data"].get("source", "demo")
# Where the images / videos of the data set are: the demo world's folders, or the user's for real data.
IMAGES_DIR = f"{DATA}/images" if DATA_SOURCE == "demo" else config["data"].get("images", "")
VIDEOS_DIR = f"{DATA}/videos" if DATA_SOURCE == "demo" else config["data"].get("videos", "")
VIDEO_FEATURES = config["data"].get("video_features")  # precomputed VALUE features, if any
IMAGE_FEATURES = config["data"].get("image_features")  # VL-Adapter's released RN101 grids, if any
SPLIT = config["evaluate"]["split"]
METRICS_FILE = SPLIT_METRICS[SPLIT]  # what `vlpeft evaluate --split` writes

# Code-aware reruns: each rule has `code=CODE[<verb>]` as a param, the fingerprint of the package code its
# verb runs (vlpeft.fingerprint), so the params trigger reruns it when that code changes, and only then.
VERB_MODULES = {verb: module for verb, (module, _) in VERBS.items()}  # vlpeft.cli: one list of verbs


def code(*verbs):
    return fingerprint(*(VERB_MODULES[v] for v in verbs))


def clip_checkpoint(kind):
    """The CLIP checkpoint of a tower: the pipeline's own demo CLIP, or a name/path from config."""
    value = config["clip"][kind]
    return demo_model(f"clip_{'rn' if kind == 'image' else 'vit'}.pt") if value == "demo" else value


def clip_param(kind):
    """The --clip value: the demo checkpoint (an input) or the config's name/path."""
    return lambda wildcards, input: (list(input.clip) or [clip_checkpoint(kind)])[0]


def clip_input(kind):
    value = config["clip"][kind]
    return [clip_checkpoint(kind)] if value == "demo" else []


def backbone_path(key):
    value = config["backbones"][key]
    return demo_model(key) if value == "demo" else value


def backbone_input(wildcards):
    return [demo_model(wildcards.backbone)] if config["backbones"][wildcards.backbone] == "demo" else []


def group_features(wildcards):
    """The feature cache a run reads: image grids for the image group, frame features for video."""
    return feature_file(wildcards.group)


def epochs(group, method):
    """train.method_epochs[method], else groups.<group>.epochs, else train.epochs."""
    default = config["groups"][group].get("epochs", config["train"]["epochs"])
    return config["train"].get("method_epochs", {}).get(method, default)


# The one spelling of a run's folder: a wildcard pattern for the rules, run_dir() for one run.
RUN_DIR = f"{RUNS}/{{group}}/{{backbone}}/{{method}}/seed{{seed}}"


def run_dir(group, backbone, method, seed):
    return RUN_DIR.format(group=group, backbone=backbone, method=method, seed=seed)


def table_keys():
    """(group, backbone) of every table, in order: the one place that lists the tables."""
    return [(group, backbone) for group, spec in sorted(config["groups"].items()) for backbone in spec["backbones"]]


# The results, each path spelled once (rules/tables.smk writes them, final_targets() asks for them).
SUMMARY = f"{RESULTS}/metrics/summary.json"
EFFICIENCY_PLOT = f"{RESULTS}/plots/efficiency"  # .png and .svg


def table_file(group, backbone, ext):
    return f"{RESULTS}/tables/{group}_{backbone}.{ext}"


def score_file(group, backbone):
    return f"{RESULTS}/scores/{group}_{backbone}.json"


def curve_file(kind, group, backbone, method, seed):
    return f"{RESULTS}/curves/{kind}/{group}_{backbone}_{method}_seed{seed}.csv"


def all_runs():
    for group, spec in sorted(config["groups"].items()):
        for backbone in spec["backbones"]:
            for method in spec["methods"]:
                for seed in config["seeds"]:
                    yield group, backbone, method, seed


def final_targets():
    tables = [table_file(group, backbone, "md") for group, backbone in table_keys()]
    # DVC's metrics (flat scores, one file per table) and plots (curves of every run): rule flat_metrics
    dvc = [score_file(group, backbone) for group, backbone in table_keys()]
    dvc += [curve_file("loss", *run) for run in all_runs()]
    return tables + [SUMMARY, f"{EFFICIENCY_PLOT}.png"] + dvc


def stage_inputs(stage):
    """What DVC's stage `stage` (dvc.yaml) builds under this config: the targets of rule stage_<stage>."""
    groups = config["groups"]
    if stage == "data":
        frames = "video" in groups and not VIDEO_FEATURES
        return [MANIFEST] + ([FRAMES] if frames else [])
    used = {key for spec in groups.values() for key in spec["backbones"]}
    demo = [demo_model(key) for key in sorted(used) if config["backbones"][key] == "demo"]
    return [feature_file(group) for group in sorted(groups)] + demo


# -- helpers of rules/train.smk and rules/tables.smk (functions live here, rules in the phase files)


def _group(wildcards):
    return config["groups"][wildcards.group]


def _train_recipe(wildcards):
    """The recipe flags of a run, as words (the shell command quotes each)."""
    train = config["train"]
    words = ["--epochs", epochs(wildcards.group, wildcards.method), "--lr-scale", train["lr_scale"]]
    words += ["--warmup-ratio", train["warmup_ratio"], "--grad-clip", train["grad_clip"]]
    words += ["--checkpoint-every", train["checkpoint_every"], "--device", train["device"]]
    if train.get("lr") is not None:  # null = the method's paper lr
        words += ["--lr", train["lr"]]
    if train.get("fix_no_decay"):
        words.append("--fix-no-decay")
    if train.get("fix_gqa_prefix"):
        words.append("--fix-gqa-prefix")
    if train.get("keep_best_val"):
        words.append("--keep-best-val")
    words += ["--precision", train.get("precision", "fp32")]
    return [str(w) for w in words]


def _uses_gpu():
    return 1 if config["train"]["device"].startswith("cuda") else 0


def _train_procs():
    """Processes per training run (train.gpus): one, or N under torchrun."""
    return int(config["train"].get("gpus", 1))


def _train_launch(wildcards):
    """What precedes `python -m vlpeft train`: nothing for one process; for N > 1 torchrun with N local
    processes (--standalone: a free rendezvous port per job, so jobs on one node do not collide),
    which then runs the command as given (--no-python). vlpeft.train.distributed joins the group."""
    n = _train_procs()
    if n == 1:
        return ""
    return f'"$VLPEFT_PYTHON" -m torch.distributed.run --standalone --nproc-per-node {n} --no-python '


def _paper_args(wildcards):
    words = []
    for key, value in sorted(config.get("paper", {}).items()):
        words += ["--paper", f"{key}={value}"]
    return words
