"""Checks of a workflow config that a JSON schema cannot express: task, method and backbone names.

The schema (workflow/schemas/config.schema.yaml) checks structure and names unknown keys; this
module checks that every name refers to something that exists, so a typo fails before any compute.
"""

from __future__ import annotations

from typing import Any

from vlpeft.tasks import GROUPS, TASKS

DEMO_BACKBONE_KEYS = ("t5", "bart")


class ConfigError(ValueError):
    """A config value that names something unknown."""


def _known_methods() -> list[str]:
    from vlpeft.pet.names import METHOD_NAMES  # not the registry: it imports torch (seconds per Snakemake start)

    return list(METHOD_NAMES)


def check_config(config: dict[str, Any]) -> None:
    """Raise ConfigError naming the offending key and value, or return None."""
    methods = _known_methods()
    backbones = config.get("backbones", {})
    for key, value in backbones.items():
        if value == "demo" and key not in DEMO_BACKBONE_KEYS:
            raise ConfigError(
                f"backbones.{key}: 'demo' backbones must be keyed {' or '.join(DEMO_BACKBONE_KEYS)} "
                "(the key names the architecture)")
    for group, spec in config.get("groups", {}).items():
        for task in spec["tasks"]:
            if task not in TASKS:
                raise ConfigError(f"groups.{group}.tasks: unknown task {task!r}; known: {', '.join(TASKS)}")
            if task not in GROUPS[group]:
                raise ConfigError(f"groups.{group}.tasks: task {task!r} belongs to the "
                                  f"{TASKS[task].group} group, not {group}")
        for method in spec["methods"]:
            if method not in methods:
                raise ConfigError(f"groups.{group}.methods: unknown method {method!r}; "
                                  f"known: {', '.join(methods)}")
        for key in spec["backbones"]:
            if key not in backbones:
                raise ConfigError(f"groups.{group}.backbones: {key!r} is not defined under backbones")
        if len(set(spec["methods"])) != len(spec["methods"]):
            raise ConfigError(f"groups.{group}.methods: a method is listed twice")
    _check_data(config)
    for method in config.get("method_overrides", {}):
        if method not in methods:
            raise ConfigError(f"method_overrides: unknown method {method!r}; known: {', '.join(methods)}")


def method_set_args(config: dict[str, Any], method: str) -> str:
    """The ``--set key=value`` arguments of a method's overrides, in sorted (deterministic) order."""
    overrides = config.get("method_overrides", {}).get(method, {})
    return " ".join(f"--set {k}={v}" for k, v in sorted(overrides.items()))


def _check_data(config: dict[str, Any]) -> None:
    data = config.get("data", {})
    if data.get("source", "demo") != "real":
        return
    for key in ("root", "datasets"):
        if not data.get(key):
            raise ConfigError(f"data.{key}: required when data.source is 'real'")
    groups = config.get("groups", {})
    if "image" in groups and not data.get("images"):
        raise ConfigError("data.images: the image group needs a folder of <image_id>.<ext> files")
    if "video" in groups and not (data.get("videos") or data.get("video_features")):
        raise ConfigError("data.videos or data.video_features: the video group needs raw videos or VALUE features")
