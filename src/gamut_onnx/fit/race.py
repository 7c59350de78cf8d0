"""The context race: fit with and without carrier context, and finish the one the pool prefers.

Context from the carrier (gamut_onnx/context.py) gains 1-3 dB OG on most photos, but on a few
whose plain fit is already very good it costs up to 3 dB (docs/design.md). Which kind a photo
is shows early: after 30 % of the steps, the training-pool loss ranks the two fits as it does at
the end on every dev photo measured. So both fits take those steps on the same batches and only
the better one goes on: 1.3 fits' worth of steps instead of 2. The plain contestant is the same
network with its context rows held at zero, so it exports as a layout-1 blob.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gamut_onnx.context import CONTEXT_INPUTS
from gamut_onnx.fit.captured import train_captured
from gamut_onnx.fit.config import FitConfig
from gamut_onnx.fit.step import Training

POOL_CHUNK = 65_536
PLAIN_ROWS = slice(-CONTEXT_INPUTS, None)  # W1's context rows: the plain fit keeps them at zero


@dataclass(frozen=True)
class RaceResult:
    """What the race chose, and why (`encode --json` reports it)."""

    context: bool
    plain_loss: float  # mean squared residual error over the training pool, at `at_step`
    context_loss: float
    at_step: int

    def report(self) -> dict:
        return {
            "context": self.context,
            "decided_at_step": self.at_step,
            "pool_loss_plain": self.plain_loss,
            "pool_loss_context": self.context_loss,
        }


def pool_loss(params: list, features, targets) -> float:
    """Mean squared error of the MLP over the whole training pool (in chunks)."""
    import torch

    w1, b1, w2, b2, w3, b3 = params
    total = 0.0
    with torch.no_grad():
        for start in range(0, features.shape[0], POOL_CHUNK):
            f = features[start : start + POOL_CHUNK]
            out = torch.relu(torch.relu(f @ w1 + b1) @ w2 + b2) @ w3 + b3
            total += float((out - targets[start : start + POOL_CHUNK]).square().sum())
    return total / targets.numel()


def race_steps(config: FitConfig) -> int:
    """How many steps both contestants take before the choice."""
    return max(1, round(config.steps * config.context_race))


def race(
    params: list,
    features,
    targets,
    config: FitConfig,
    generator_for: Callable[[], object],
    progress: Callable[[int, float], None] | None = None,
) -> tuple[list, float, RaceResult]:
    """Fit `params` (context rows of W1 starting at zero) with and without context; returns the
    winner's weights (the plain one's context rows are exactly zero), its last batch loss and
    the choice. Both fits are one stack of two models (plain, context) taking the same batches
    from `generator_for()`, in one batched product per layer (exactly the lone products on the
    CPU, in 28 % less time than two on 2 cores); the winner goes on alone."""
    import torch

    stacked = [torch.stack([p, p]) for p in params]
    both = Training(stacked, features, targets, config, generator_for(), frozen=(0, PLAIN_ROWS))
    until = race_steps(config)
    for step in range(1, until + 1):
        both.take(step, *both.batch())
    losses = [pool_loss([p[k] for p in both.params], features, targets) for k in (0, 1)]
    context = losses[1] < losses[0]
    winner = both.member(int(context), frozen=None if context else PLAIN_ROWS)
    if progress is not None:
        progress(until, float(winner.loss))
    loss = winner.run(config.steps, progress)
    return winner.params, loss, RaceResult(context, losses[0], losses[1], until)


def race_captured(
    params: list, features, targets, config: FitConfig, generator_for: Callable[[], object]
) -> tuple[list, float, RaceResult]:
    """`race` on a GPU, where a fit is bound by kernel launches, not arithmetic: both fits run
    to the end as two models of one captured graph (fit/captured.py), about the time of one.
    The plain model trains on the pool with its context columns zeroed, so its context rows get
    zero gradients and stay exactly zero; the pool loss picks."""
    plain_features = features.clone()
    plain_features[:, -CONTEXT_INPUTS:] = 0
    pools = [(plain_features, targets), (features, targets)]
    generators = [generator_for(), generator_for()]
    stacked, last = train_captured(pools, params, config, generators, str(features.device))
    fitted = {False: [p[0] for p in stacked], True: [p[1] for p in stacked]}
    losses = {k: pool_loss(w, features, targets) for k, w in fitted.items()}
    context = losses[True] < losses[False]
    choice = RaceResult(context, losses[False], losses[True], config.steps)
    return fitted[context], last[int(context)], choice
