"""Config validation: the schema names unknown keys; names of tasks/methods/backbones are checked."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from vlpeft.workflow_config import ConfigError, check_config, method_set_args

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def load(name):
    return yaml.safe_load((ROOT / "config" / name).read_text())


SHIPPED = ["config.yaml", "test.yaml", "paper/image_bart.yaml", "paper/image_t5.yaml", "paper/video_bart.yaml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_are_valid(name):
    cfg = load(name)
    validate(copy.deepcopy(cfg), SCHEMA)
    check_config(cfg)


def test_every_schema_property_has_a_description():
    schema = yaml.safe_load(Path(SCHEMA).read_text())

    def walk(node, path):
        for name, prop in node.get("properties", {}).items():
            assert "description" in prop, f"{path}.{name} has no description"
            walk(prop, f"{path}.{name}")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            assert "description" in extra, f"{path}.* has no description"
            walk(extra, f"{path}.*")

    walk(schema, "config")
    for name, sub in schema["$defs"].items():
        walk(sub, f"$defs.{name}")


@pytest.mark.parametrize("path", [("bogus_key",), ("train", "epohcs"), ("frames", "nmu_frames")])
def test_unknown_key_is_named(path):
    cfg = load("config.yaml")
    node = cfg
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = 1
    with pytest.raises(WorkflowError, match=path[-1]):
        validate(cfg, SCHEMA)


def test_unknown_method_is_named():
    cfg = load("config.yaml")
    cfg["groups"]["image"]["methods"].append("adapter_singel")
    with pytest.raises(ConfigError, match="adapter_singel"):
        check_config(cfg)


def test_unknown_task_and_wrong_group_are_named():
    cfg = load("config.yaml")
    cfg["groups"]["image"]["tasks"] = ["vqa", "okvqa"]
    with pytest.raises(ConfigError, match="okvqa"):
        check_config(cfg)
    cfg["groups"]["image"]["tasks"] = ["vqa", "tvqa"]
    with pytest.raises(ConfigError, match="tvqa.*video"):
        check_config(cfg)


def test_undefined_backbone_key_is_named():
    cfg = load("config.yaml")
    cfg["groups"]["video"]["backbones"] = ["bart", "t5-large"]
    with pytest.raises(ConfigError, match="t5-large"):
        check_config(cfg)


def test_method_overrides_become_sorted_set_args():
    cfg = {"method_overrides": {"lora_single": {"r": 8, "alpha": 2}}}
    assert method_set_args(cfg, "lora_single") == "--set alpha=2 --set r=8"
    assert method_set_args(cfg, "bitfit") == ""


def test_real_data_needs_its_folders():
    cfg = load("paper/image_bart.yaml")
    del cfg["data"]["images"]
    with pytest.raises(ConfigError, match="data.images"):
        check_config(cfg)


def test_cli_help_lists_every_verb(capsys):
    from vlpeft.cli import VERBS, main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(verb in out for verb in VERBS)


def test_checking_a_config_does_not_import_torch():
    # every Snakemake start (and every SLURM job) checks the config: importing torch there cost ~8 s
    import subprocess
    import sys

    code = ("import sys, yaml; from vlpeft.workflow_config import check_config; "
            f"check_config(yaml.safe_load(open({str(ROOT / 'config' / 'config.yaml')!r}))); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_method_names_are_the_registry_in_table_order():
    from vlpeft.pet import METHODS
    from vlpeft.pet.names import METHOD_NAMES

    assert tuple(METHODS) == METHOD_NAMES
