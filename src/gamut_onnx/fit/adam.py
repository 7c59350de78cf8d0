"""Adam written out, as torch.optim.Adam's foreach form computes it.

Why not torch.optim.Adam: constructing the first one imports torch._dynamo, about 1 s of every
encode on a CPU (longer than a third of the 12 MP fit). The update below is the same sequence of
foreach operations with the same scalars, so it gives bit-identical weights (tests/test_fit.py);
fit/captured.py has the capturable form for CUDA graphs.
"""

from __future__ import annotations

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


class Adam:
    """Adam (no weight decay, no amsgrad) over a list of tensors updated in place."""

    def __init__(self, params: list, lr: float):
        import torch

        self.params, self.lr, self.steps = list(params), lr, 0
        self.first = [torch.zeros_like(p) for p in self.params]
        self.second = [torch.zeros_like(p) for p in self.params]

    def step(self, grads: list) -> None:
        """One update from `grads` (one per parameter), at the current `lr`."""
        import torch

        self.steps += 1
        torch._foreach_lerp_(self.first, grads, 1 - BETA1)
        torch._foreach_mul_(self.second, BETA2)
        torch._foreach_addcmul_(self.second, grads, grads, 1 - BETA2)
        step_size = -self.lr / (1 - BETA1**self.steps)
        denom = torch._foreach_sqrt(self.second)
        torch._foreach_div_(denom, (1 - BETA2**self.steps) ** 0.5)
        torch._foreach_add_(denom, EPS)
        torch._foreach_addcdiv_(self.params, self.first, denom, step_size)
