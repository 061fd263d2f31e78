"""The workflow config: loading, merging and every check, before any job starts.

``config/config.yaml`` is the default; ``--configfile`` files (config/test.yaml, config/paper/*.yaml)
are small override files merged over it, key by key (mappings merge, any other value replaces; a
key set to ``null`` is removed, so ``method_overrides: null`` drops the default's overrides and
``groups: {video: null}`` drops a group). The merged result is validated against
workflow/schemas/config.schema.yaml and then checked here for what a schema cannot express: task,
method and backbone names, method overrides (``vlpeft.pet.method_config``, torch-free), devices,
checkpoint paths that must exist, the batch size of every backbone.

Every error is one line, ``<config file>: <key.path>: <what is wrong>, got <value>`` (YAML syntax
errors name the line), raised as ``ConfigError``; ``main`` prints it without a traceback.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from vlpeft.constants import ARCHS
from vlpeft.device import DEVICE_HELP, DEVICE_PATTERN
from vlpeft.run_files import SPLIT_METRICS
from vlpeft.tasks import GROUPS, TASKS

DEFAULT_CONFIG = "config/config.yaml"
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
DEMO_BACKBONE_KEYS = ARCHS  # models/<ds>/<arch>
# clip.load names (clip.available_models(), without importing clip/torch): anything else is a path.
CLIP_MODEL_NAMES = (
    "RN50",
    "RN101",
    "RN50x4",
    "RN50x16",
    "RN50x64",
    "ViT-B/32",
    "ViT-B/16",
    "ViT-L/14",
    "ViT-L/14@336px",
)


class ConfigError(ValueError):
    """One line: the config file, the key path and what is wrong with its value."""


# -- loading and merging -------------------------------------------------------------------------


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """A config file as a dict; syntax errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the config file ({e})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}{where}: YAML syntax error: {what}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping of keys, got a {type(data).__name__}")
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` merged over ``base`` (as Snakemake merges config files): mappings key by key,
    any other value replaces. Neither argument is modified."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def drop_nulls(config: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Remove every key set to null where the schema does not allow null (``fps: null`` stays)."""
    schema = schema if schema is not None else load_schema()

    def allows_null(node: dict[str, Any]) -> bool:
        kind = node.get("type")
        return kind == "null" or (isinstance(kind, list) and "null" in kind)

    def walk(value: Any, node: dict[str, Any]) -> Any:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            sub = node.get("properties", {}).get(key)
            if sub is None:
                extra = node.get("additionalProperties")
                sub = extra if isinstance(extra, dict) else {}
            if item is None and not allows_null(sub):
                continue
            out[key] = walk(item, sub)
        return out

    return walk(config, schema)


def load_schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


class Sources:
    """Which file set a key: the last file that holds the key path (or its longest prefix)."""

    def __init__(self, files: Sequence[tuple[str, dict[str, Any]]]):
        self.files = list(files)

    def of(self, path: Sequence[str]) -> str:
        best, depth = (self.files[0][0] if self.files else "config"), -1
        for name, data in self.files:
            node, found = data, 0
            for part in path:
                if isinstance(node, dict) and part in node:
                    node, found = node[part], found + 1
                else:
                    break
            if found >= depth and found > 0:
                best, depth = name, found
        return best


def load_config(
    files: Sequence[str | os.PathLike], cli: dict[str, Any] | None = None
) -> tuple[dict[str, Any], Sources]:
    """Merge ``files`` in order (the default first), then ``cli`` (Snakemake's ``--config``); drop
    nulls; return the merged config and where each key came from."""
    loaded = [(str(f), load_yaml(f)) for f in files]
    if cli:
        loaded.append(("--config", cli))
    merged: dict[str, Any] = {}
    for _, data in loaded:
        merged = merge(merged, data)
    return drop_nulls(merged), Sources(loaded)


# -- checks ----------------------------------------------------------------------------------------


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dotted(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _schema_message(error: Any) -> tuple[list[Any], str]:
    """(key path, one-line message) of a jsonschema error: no schema dump, no instance dump."""
    path = list(error.absolute_path)
    v, s, inst = error.validator, error.validator_value, error.instance
    if v == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(inst) - set(known)) if isinstance(inst, dict) else []
        key = extra[0] if extra else "?"
        hint = f" (known: {', '.join(known)})" if known else ""
        return path + [key], f"unknown key{hint}"
    if v == "required":
        missing = [k for k in s if k not in inst] if isinstance(inst, dict) else list(s)
        return path + [missing[0] if missing else "?"], "required key is missing"
    if v == "type":
        kinds = s if isinstance(s, list) else [s]
        return path, f"expected {' or '.join(kinds)}, got {_short(inst)}"
    if v == "enum":
        return path, f"must be one of {', '.join(map(str, s))}, got {_short(inst)}"
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    if v in bounds:
        return path, f"must be {bounds[v]} {s}, got {_short(inst)}"
    if v in ("minItems", "minProperties"):
        return path, f"must not be empty, got {_short(inst)}"
    if v == "pattern":
        return path, f"must match {s}, got {_short(inst)}"
    if v == "uniqueItems":
        return path, f"lists a value twice, got {_short(inst)}"
    return path, f"{error.message.splitlines()[0][:160]}"


def check_schema(config: dict[str, Any], sources: Sources | None = None, schema: dict[str, Any] | None = None) -> None:
    """Validate against the schema; the first error (by key path) as one ConfigError line."""
    import jsonschema

    schema = schema if schema is not None else load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        # the deepest error under the first failing key says most (oneOf/anyOf parents say least)
        first = errors[0]
        path, message = _schema_message(first)
        raise _error(sources, path, message)


def apply_defaults(config: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fill the schema's defaults in place (as snakemake.utils.validate(set_default=True))."""
    schema = schema if schema is not None else load_schema()

    def walk(value: dict[str, Any], node: dict[str, Any]) -> None:
        for key, sub in node.get("properties", {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if isinstance(value.get(key), dict):
                walk(value[key], sub)

    walk(config, schema)
    return config


def _error(sources: Sources | None, path: Sequence[Any], message: str, value: Any = ...) -> ConfigError:
    where = sources.of([str(p) for p in path]) if sources else "config"
    got = "" if value is ... else f", got {_short(value)}"
    return ConfigError(f"{where}: {_dotted(path)}: {message}{got}")


def _known_methods() -> list[str]:
    from vlpeft.pet.names import METHOD_NAMES  # not the registry: it imports torch (seconds per Snakemake start)

    return list(METHOD_NAMES)


def is_local_path(value: str) -> bool:
    """A backbone or CLIP value that names a local path (must exist) rather than a hub/clip name:
    absolute, ./ or ../ or ~, two or more slashes, or a file extension (.pt, .safetensors)."""
    return (
        value.startswith(("/", "./", "../", "~"))
        or value.count("/") >= 2
        or bool(re.search(r"\.(pt|pth|bin|safetensors|ckpt)$", value))
        or Path(value).exists()
    )


def check_config(config: dict[str, Any], sources: Sources | None = None, root: str | os.PathLike = ".") -> None:
    """Every check a schema cannot express; raise ConfigError (one line) or return None.

    ``config`` is the merged config with the schema's defaults; ``root`` is where relative paths
    in it start (the repository root under Snakemake)."""
    err = lambda path, message, value=...: _error(sources, path, message, value)  # noqa: E731
    methods = _known_methods()
    _check_names(config, methods, err)
    _check_train(config, methods, err)
    _check_paths(config, Path(root), err)
    _check_data(config, err)
    _check_method_overrides(config, methods, err)
    for key in config.get("paper", {}):
        group, _, backbone = key.partition("_")
        if backbone not in config.get("groups", {}).get(group, {}).get("backbones", []):
            raise err(["paper", key], "names no (group, backbone key) of the groups", key)


def _check_names(config: dict[str, Any], methods: list[str], err) -> None:
    backbones = config.get("backbones", {})
    for key, value in backbones.items():
        if value == "demo" and key not in DEMO_BACKBONE_KEYS:
            raise err(
                ["backbones", key],
                f"'demo' backbones must be keyed {' or '.join(DEMO_BACKBONE_KEYS)} (the key names the architecture)",
                value,
            )
    for group, spec in config.get("groups", {}).items():
        for task in spec["tasks"]:
            if task not in TASKS:
                raise err(["groups", group, "tasks"], f"unknown task; known: {', '.join(TASKS)}", task)
            if task not in GROUPS[group]:
                raise err(
                    ["groups", group, "tasks"], f"the task belongs to the {TASKS[task].group} group, not {group}", task
                )
        for method in spec["methods"]:
            if method not in methods:
                raise err(["groups", group, "methods"], f"unknown method; known: {', '.join(methods)}", method)
        for key in spec["backbones"]:
            if key not in backbones:
                raise err(["groups", group, "backbones"], "not defined under backbones", key)
        if len(set(spec["methods"])) != len(spec["methods"]):
            raise err(["groups", group, "methods"], "a method is listed twice", spec["methods"])
    seeds = config.get("seeds", [])
    if len(set(seeds)) != len(seeds):
        raise err(["seeds"], "a seed is listed twice", seeds)


def _check_train(config: dict[str, Any], methods: list[str], err) -> None:
    train = config.get("train", {})
    for section in ("train", "clip"):
        device = config.get(section, {}).get("device")
        if device is not None and not re.match(DEVICE_PATTERN, str(device)):
            raise err([section, "device"], f"expected {DEVICE_HELP}", device)
    sizes = train.get("batch_size", {})
    for group, spec in config.get("groups", {}).items():
        for key in spec["backbones"]:
            if key not in sizes:
                raise err(["train", "batch_size", key], f"missing: groups.{group}.backbones trains {key!r}")
    for method in train.get("method_epochs", {}):
        if method not in methods:
            raise err(["train", "method_epochs", method], f"unknown method; known: {', '.join(methods)}")
    split = config.get("evaluate", {}).get("split", "test")
    if split not in SPLIT_METRICS:
        raise err(["evaluate", "split"], f"must be one of {', '.join(SPLIT_METRICS)}", split)


def _check_paths(config: dict[str, Any], root: Path, err) -> None:
    """Local checkpoints named by the config must exist (hub and clip names are resolved at run time)."""
    for kind in ("image", "video"):
        value = config.get("clip", {}).get(kind, "demo")
        if value != "demo" and value not in CLIP_MODEL_NAMES and not (root / os.path.expanduser(value)).is_file():
            raise err(
                ["clip", kind],
                f"CLIP checkpoint not found (a file, 'demo' or one of {', '.join(CLIP_MODEL_NAMES)})",
                value,
            )
    used = {k for spec in config.get("groups", {}).values() for k in spec["backbones"]}
    for key, value in config.get("backbones", {}).items():
        if key not in used or value == "demo" or not is_local_path(value):
            continue
        folder = root / os.path.expanduser(value)
        if not (folder / "config.json").is_file():
            raise err(
                ["backbones", key],
                "backbone directory not found (a save_pretrained folder with "
                "config.json, a hub name like facebook/bart-base, or 'demo')",
                value,
            )


def _check_method_overrides(config: dict[str, Any], methods: list[str], err) -> None:
    from vlpeft.pet.method_config import METHODS, resolve

    for method, overrides in config.get("method_overrides", {}).items():
        if method not in methods:
            raise err(["method_overrides", method], f"unknown method; known: {', '.join(methods)}")
        if not isinstance(overrides, dict):
            raise err(["method_overrides", method], "expected a mapping of setting -> value", overrides)
        known = METHODS[method].defaults
        for key in overrides:
            if key not in known:
                raise err(["method_overrides", method, key], f"unknown setting; known: {', '.join(sorted(known))}")
        for arch in ARCHS:
            try:
                resolve(method, arch, overrides)
            except ValueError as e:
                key = re.search(r"setting '([^']+)'", str(e))
                what = str(e).split(": ", 1)[-1]
                raise err(["method_overrides", method] + ([key.group(1)] if key else []), what) from None


def _check_data(config: dict[str, Any], err) -> None:
    data = config.get("data", {})
    if data.get("source", "demo") != "real":
        return
    for key in ("root", "datasets"):
        if not data.get(key):
            raise err(["data", key], "required when data.source is 'real'")
    groups = config.get("groups", {})
    if "image" in groups and not (data.get("images") or data.get("image_features")):
        raise err(
            ["data", "images"],
            "the image group needs a folder of <image_id>.<ext> files (data.images) "
            "or VL-Adapter's RN101 grids (data.image_features)",
        )
    if "video" in groups and not (data.get("videos") or data.get("video_features")):
        raise err(
            ["data", "videos"], "the video group needs raw videos (data.videos) or VALUE features (data.video_features)"
        )


def method_override_args(config: dict[str, Any], method: str) -> list[str]:
    """The ``--method-override key=value`` arguments of ``method_overrides.<method>``, in sorted
    (deterministic) order, as a list of words (the rule quotes each)."""
    from vlpeft.cli_args import METHOD_OVERRIDE_FLAG

    words: list[str] = []
    for k, v in sorted(config.get("method_overrides", {}).get(method, {}).items()):
        words += [METHOD_OVERRIDE_FLAG, f"{k}={yaml_scalar(v)}"]
    return words


def yaml_scalar(value: Any) -> str:
    """A value as `--set` parses it back (JSON for numbers, booleans and null; text as is)."""
    import json

    return value if isinstance(value, str) else json.dumps(value)


def validated(
    files: Sequence[str | os.PathLike], cli: dict[str, Any] | None = None, root: str | os.PathLike = "."
) -> dict[str, Any]:
    """Load, merge, validate and check: the config every rule reads (schema defaults filled)."""
    config, sources = load_config(files, cli)
    schema = load_schema()
    check_schema(config, sources, schema)
    apply_defaults(config, schema)
    check_config(config, sources, root)
    return config


def main(argv: list[str] | None = None) -> int:
    """``python -m vlpeft.workflow_config [--dataset D] [--name N] [override.yaml ...]``: check a config
    as the workflow does (and, for DVC's stages, that params.yaml names its dataset and name)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vlpeft.workflow_config", description=main.__doc__)
    parser.add_argument("files", nargs="*", help=f"override files merged over {DEFAULT_CONFIG}")
    parser.add_argument("--dataset", help="the dataset the config must have (params.yaml)")
    parser.add_argument("--name", help="the name the config must have (params.yaml)")
    args = parser.parse_args(argv)
    files = [DEFAULT_CONFIG] + [f for f in args.files if f != DEFAULT_CONFIG]
    try:
        config = validated(files)
        for key, want in (("dataset", args.dataset), ("name", args.name)):
            have = config.get(key, config["dataset"])
            if want is not None and have != want:
                raise ConfigError(f"params.yaml: {key}: {files[-1]} has {key} {have!r}, got {want!r}")
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 1
    print(f"{' + '.join(files)}: valid")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
