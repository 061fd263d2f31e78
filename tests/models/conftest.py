"""Backbone tests: one thread, a tiny model of each arch per module."""

from __future__ import annotations

import pytest
import torch
from vl_helpers import make_model

torch.set_num_threads(1)


@pytest.fixture(scope="module", params=["tiny-bart", "tiny-t5"])
def model(request):
    return make_model(request.param)
