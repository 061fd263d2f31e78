"""Parameter-efficient tuning methods of VL-Adapter and VL-PET, injected into a stock T5/BART.

Public API: ``METHODS``, ``method_config``, ``apply_method``, ``count_parameters``,
``save_adapter``, ``load_adapter`` (see docs/interfaces.md).
"""

from .accounting import count_parameters
from .adapter_io import load_adapter, save_adapter
from .registry import METHODS, MethodSpec, apply_method, method_config

__all__ = ["METHODS", "MethodSpec", "apply_method", "count_parameters", "load_adapter", "method_config",
           "save_adapter"]
