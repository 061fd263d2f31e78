"""PHM (parameterised hypercomplex multiplication) Linear of Compacter, as the VL-Adapter code
configures it (docs/methods.md B.1.3): W = sum_i kron(A_i, B_i), per-layer rule A (not shared), B not
factorised. Our own layer: no installed library implements PHMLinear."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class PHMLinear(nn.Module):
    """``y = x W + b`` with ``W = sum_{i<n} kron(A_i, B_i)``, A: (n, n, n), B: (n, in/n, out/n)."""

    def __init__(self, in_features: int, out_features: int, n: int = 2):
        super().__init__()
        if in_features % n or out_features % n:
            raise ValueError(f"PHMLinear: in ({in_features}) and out ({out_features}) must be divisible by phm_n={n}")
        self.in_features, self.out_features, self.n = in_features, out_features, n
        self.phm_rule = nn.Parameter(torch.empty(n, n, n))
        self.W = nn.Parameter(torch.empty(n, in_features // n, out_features // n))
        self.b = nn.Parameter(torch.empty(out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Rule N(0, 0.01), B glorot-uniform per slice with gain sqrt(2), zero bias (docs/methods.md B.1.3)."""
        nn.init.normal_(self.phm_rule, std=0.01)
        for i in range(self.n):
            nn.init.xavier_uniform_(self.W.data[i], gain=math.sqrt(2))
        nn.init.zeros_(self.b)

    @torch.no_grad()
    def zero_init_(self) -> None:
        """Output zero at the start and still learn: zero B and the bias, keep the rule.

        Zeroing the rule as well would make both factors of every Kronecker product zero, so neither
        would ever get a gradient (docs/methods.md B.2 Init)."""
        self.W.zero_()
        self.b.zero_()

    def weight(self) -> torch.Tensor:
        """The full (in, out) matrix: block (p, s) of kron(A_k, B_k) is A_k[p, s] * B_k."""
        n, a, b = self.W.shape
        return torch.einsum("kps,kij->pisj", self.phm_rule, self.W).reshape(n * a, n * b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight().t(), self.b)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, n={self.n}"
