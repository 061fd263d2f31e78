"""The model layer stands below training: no module of vlpeft.models imports vlpeft.train (the demo
backbones' pre-training, which uses the fine-tuning optimizer, lives in vlpeft.pretrain)."""

from pathlib import Path

import vlpeft
from vlpeft.fingerprint import modules_of

MODELS = sorted(p.stem for p in (Path(vlpeft.__file__).parent / "models").glob("*.py") if p.stem != "__init__")


def test_models_import_nothing_from_train():
    assert MODELS and "build" in MODELS
    for name in MODELS:
        used = modules_of(f"vlpeft.models.{name}")
        assert not [m for m in used if m.startswith("vlpeft.train")], name


def test_the_check_sees_an_import_of_train():
    # the same check on a module that does import training code finds it
    assert any(m.startswith("vlpeft.train") for m in modules_of("vlpeft.pretrain.loop"))
