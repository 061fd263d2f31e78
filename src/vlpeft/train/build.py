"""What `train` and `evaluate` share: the run configuration, its ``run.json`` record, and building
the (backbone + visual projection + PET method) model in exactly the same order in both, so that a
backbone built from a config (random frozen weights, seeded) is the same at evaluation time."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from vlpeft.constants import DEFAULT_SEED
from vlpeft.features.cache import FeatureReader
from vlpeft.io import seed_everything, write_json
from vlpeft.run_files import RUN_FILE
from vlpeft.tasks import GROUPS, TaskSpec, get_task, visual_ids
from vlpeft.train.data import TextOptions

LEGACY_KEYS = {"overrides": "method_overrides"}  # run.json of runs trained before the rename


@dataclass
class RunSpec:
    """Identity of a run: what evaluation needs to rebuild the trained model (written to run.json)."""

    group: str
    backbone: str  # the name reported in metrics.json (a path's last component by default)
    method: str
    seed: int = DEFAULT_SEED
    tasks: list[str] = field(default_factory=list)
    method_overrides: dict[str, Any] = field(default_factory=dict)  # --method-override k=v (config method_overrides)
    from_config: bool = False  # backbone built from a project config (random weights), not loaded
    fix_gqa_prefix: bool = False  # quirk F3 switch: "gqa: " instead of the original "gpa: "
    precision: str = "fp32"  # "bf16": opt-in bf16 autocast on CUDA (the originals run fp32, docs/methods.md C.1)

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"group: expected one of {', '.join(GROUPS)}, got {self.group!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision: expected fp32 or bf16, got {self.precision!r}")
        self.tasks = list(self.tasks or GROUPS[self.group])
        for t in self.tasks:
            if get_task(t).group != self.group:
                raise ValueError(
                    f"task {t!r} is not a {self.group} task; {self.group} tasks: {', '.join(GROUPS[self.group])}"
                )

    @property
    def specs(self) -> dict[str, TaskSpec]:
        return {t: get_task(t) for t in self.tasks}

    def write(self, out_dir: str | Path) -> None:
        write_json(Path(out_dir) / RUN_FILE, asdict(self))

    @classmethod
    def read(cls, run_dir: str | Path) -> RunSpec:
        path = Path(run_dir) / RUN_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: run record not found (was the run trained by `vlpeft train`?)")
        from vlpeft.io import read_json_object

        raw = read_json_object(path, "run record")
        raw = {LEGACY_KEYS.get(k, k): v for k, v in raw.items()}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise KeyError(f"{path}: unknown key(s) {', '.join(unknown)}")
        return cls(**raw)


def backbone_display_name(backbone: str) -> str:
    """``facebook/bart-base`` -> ``bart-base``; ``models/demo/t5/`` -> ``t5``."""
    return Path(str(backbone).rstrip("/")).name


FEATURES_IN_MEMORY = 2 << 30  # bytes: feature caches up to this size are read once and kept in memory


def open_features(spec: RunSpec, features_image: str | None, features_video: str | None) -> FeatureReader:
    """The feature cache of the run's group (a clear error when the flag for it is missing)."""
    path = features_video if spec.group == "video" else features_image
    if not path:
        raise ValueError(f"{spec.group} runs need --features-{spec.group}")
    return FeatureReader(path, memory_limit=FEATURES_IN_MEMORY)


def feature_dim(reader: FeatureReader, spec: TaskSpec, example: dict[str, Any]) -> int:
    """Feature width D of the cache, read from the first example's entry (or the cache's first
    entry when the frames step rejected that example's video)."""
    key = str(visual_ids(spec, example)[0])
    if key in reader.rejected_ids():
        key = reader.keys()[0]
    return int(reader.get(key).shape[-1])


def method_lr(method_cfg: dict[str, Any], group: str) -> float | None:
    """The paper lr of the method for the group (``lr_video`` where the registry has one)."""
    if group == "video" and method_cfg.get("lr_video") is not None:
        return float(method_cfg["lr_video"])
    return None if method_cfg.get("lr") is None else float(method_cfg["lr"])


def text_options(spec: RunSpec, method_cfg: dict[str, Any]) -> TextOptions:
    """Whether the encoder text carries the task prompt (the method's paper setting, per group;
    every video script uses prompts) and the GQA prefix switch of the run."""
    use = method_cfg.get("use_task_prompt", False)
    if spec.group == "video":
        use = method_cfg.get("use_task_prompt_video", use)
    return TextOptions(bool(use), spec.fix_gqa_prefix)


def build_run_model(spec: RunSpec, backbone: str, feat_dim: int) -> tuple[Any, Any, dict[str, Any]]:
    """Seed, build the backbone + visual projection (pre-trained when the backbone directory has one for
    the group: `vlpeft.models.load_visual_embedding`), load its tokenizer, apply the PET method.

    Returns ``(model, tokenizer, method_config)``; the method config is the resolved dict of
    ``vlpeft.pet.apply_method`` (paper lr, ``use_task_prompt``, ...).
    """
    from vlpeft.models import build_model, load_tokenizer, load_visual_embedding
    from vlpeft.pet import apply_method

    seed_everything(spec.seed)
    model = build_model(backbone, feat_dim=feat_dim, from_config=spec.from_config)
    if not spec.from_config:
        load_visual_embedding(model, backbone, spec.group)
    tokenizer = load_tokenizer(backbone)
    method_cfg = apply_method(model, spec.method, list(spec.tasks), dict(spec.method_overrides))
    return model, tokenizer, method_cfg
