"""The training step of the per-image MLP: a hand-written forward/backward (no autograd graph
for a 3-layer MLP), the learning-rate schedule, and a fit that can stop and go on.

Shared by the plain fit (fit/train.py), the context race (fit/race.py), the captured CUDA graph
(fit/captured.py), batched fits (fit/batched.py) and the meta-learner (fit/meta.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from gamut_onnx.fit.adam import Adam
from gamut_onnx.fit.config import FitConfig


def gradients(params: list, features, targets) -> tuple[list, object]:
    """Hand-written forward/backward of the MLP under mean-squared error: (grads, loss).

    Shapes may carry a leading model axis (features [B, n, F], w1 [B, F, D], b1 [B, D], ...):
    then B independent models take their step at once (fit/batched.py), each exactly as alone.
    """
    w1, b1, w2, b2, w3, b3 = params
    a1 = (features @ w1).add_(b1.unsqueeze(-2)).relu_()
    a2 = (a1 @ w2).add_(b2.unsqueeze(-2)).relu_()
    diff = (a2 @ w3).add_(b3.unsqueeze(-2)).sub_(targets)
    loss = diff.square().mean(dim=(-2, -1))
    g3 = diff.mul_(2.0 / (diff.shape[-2] * diff.shape[-1]))
    # ReLU's derivative: a >= 0, so sign(a) is the float (a > 0), without a bool copy (5x faster).
    g2 = (g3 @ w3.transpose(-1, -2)).mul_(a2.sign())
    g1 = (g2 @ w2.transpose(-1, -2)).mul_(a1.sign())
    t = features.transpose(-1, -2), a1.transpose(-1, -2), a2.transpose(-1, -2)
    grads = [t[0] @ g1, g1.sum(-2), t[1] @ g2, g2.sum(-2), t[2] @ g3, g3.sum(-2)]
    return grads, loss


def learning_rate(config: FitConfig, step: int) -> float:
    """The learning rate at `step` (1-based): constant, or cosine decay to lr/100."""
    if config.schedule != "cosine":
        return config.lr
    floor = config.lr / 100
    t = (step - 1) / max(config.steps - 1, 1)
    return floor + 0.5 * (config.lr - floor) * (1 + math.cos(math.pi * t))


class Training:
    """A fit in progress: weights, Adam state and batch generator, so that a fit can stop after
    some steps and go on later (fit/race.py). The weights may be a stack of models [B, ...]
    taking the same batches. `frozen`: the index of W1's gradient that gets no updates (zero
    gradients leave Adam's step at exactly zero), e.g. the last rows of every model."""

    def __init__(self, params, features, targets, config: FitConfig, generator, frozen=None):
        self.params, self.features, self.targets = params, features, targets
        self.config, self.generator, self.frozen = config, generator, frozen
        self.optimiser = Adam(params, lr=config.lr)
        self.step, self.loss = 0, 0.0

    def member(self, k: int, frozen=None) -> Training:
        """Model `k` of a stack as a lone fit that goes on exactly as it would have alone: its
        weights, its Adam moments, the step reached; the same batch generator."""
        lone = Training(
            [p[k].clone() for p in self.params],
            self.features,
            self.targets,
            self.config,
            self.generator,
            frozen,
        )
        lone.optimiser.first = [m[k].clone() for m in self.optimiser.first]
        lone.optimiser.second = [m[k].clone() for m in self.optimiser.second]
        lone.optimiser.steps = self.optimiser.steps
        lone.step, lone.loss = self.step, self.loss[k]
        return lone

    def batch(self) -> tuple:
        """The next batch of the pool (features, targets): the whole pool when it is smaller."""
        import torch

        n = self.features.shape[0]
        batch = min(self.config.batch, n)
        if batch == n:
            return self.features, self.targets
        device = self.features.device
        pick = torch.randint(0, n, (batch,), generator=self.generator, device=device)
        return self.features.index_select(0, pick), self.targets.index_select(0, pick)

    def take(self, step: int, features, targets) -> None:
        """Step `step` (1-based) of the fit, on the batch (features, targets)."""
        self.optimiser.lr = learning_rate(self.config, step)
        grads, loss = gradients(self.params, features, targets)
        if self.frozen is not None:
            grads[0][self.frozen] = 0
        self.optimiser.step(grads)
        self.step, self.loss = step, loss

    def run(self, until: int, progress: Callable[[int, float], None] | None = None) -> float:
        """Steps up to `until` (1-based, inclusive); returns the last batch loss."""
        for step in range(self.step + 1, until + 1):
            self.take(step, *self.batch())
            if progress is not None and (step % 50 == 0 or step == self.config.steps):
                progress(step, float(self.loss))
        return float(self.loss)


def train(
    params: list,
    features,
    targets,
    config: FitConfig,
    progress: Callable[[int, float], None] | None = None,
    generator=None,
) -> float:
    """`config.steps` Adam steps on random batches of the encoded pool; updates `params` in
    place and returns the last batch loss. Used by `fit` and by the meta-learner's inner loop."""
    return Training(params, features, targets, config, generator).run(config.steps, progress)
