"""Multi-task parameter-efficient training (docs/methods.md C): data, sampler, optimiser, trainer loop,
resumable checkpoints. ``train_run(TrainConfig(...))`` is the library entry; `vlpeft train` its verb."""

from vlpeft.train.build import RunSpec
from vlpeft.train.trainer import TrainConfig, train_run

__all__ = ["RunSpec", "TrainConfig", "train_run"]
