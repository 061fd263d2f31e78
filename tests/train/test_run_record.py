"""run.json: the method overrides are recorded as ``method_overrides`` (the config key and the
--method-override flag); a record written before the rename (``overrides``) still reads the same."""

import json

from vlpeft.train.build import RunSpec


def test_method_overrides_round_trip_under_their_config_name(tmp_path):
    RunSpec(group="image", backbone="t5", method="lora_single", method_overrides={"r": 4}).write(tmp_path)
    raw = json.loads((tmp_path / "run.json").read_text())
    assert raw["method_overrides"] == {"r": 4} and "overrides" not in raw
    assert RunSpec.read(tmp_path).method_overrides == {"r": 4}


def test_a_record_with_the_old_key_reads_the_same(tmp_path):
    RunSpec(group="video", backbone="bart", method="lora_single", seed=7).write(tmp_path)
    raw = json.loads((tmp_path / "run.json").read_text())
    raw["overrides"] = raw.pop("method_overrides") | {"r": 8}
    (tmp_path / "run.json").write_text(json.dumps(raw))
    spec = RunSpec.read(tmp_path)
    assert spec.method_overrides == {"r": 8} and spec.seed == 7 and spec.group == "video"
