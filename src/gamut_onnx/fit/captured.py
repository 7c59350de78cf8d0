"""Training on a GPU as a captured CUDA graph: the fit's steps with no host work between them.

On a GPU one step of this 5.6k-parameter network is a few dozen tiny kernels, so an eager loop
is bound by kernel launches (about 1.3 ms a step on an H100 whatever the batch). Here all that a
step reads lives in fixed device buffers: the training pools (padded to `max_samples` rows, so one
graph serves every photo of a recipe), the sample indices of the next CHUNK steps (drawn from each
model's own generator, as an eager fit draws them), the learning rates and Adam's bias
corrections. CHUNK steps are captured once as a CUDA graph and replayed; between replays the host
only refills the indices. The same code runs eagerly on the CPU, which is how the tests check it.

Adam is torch.optim.Adam's capturable form written out (lerp, addcmul, sqrt, div, addcdiv) with
the per-step scalars computed once in float64, so a captured fit equals an eager one up to float
rounding.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from gamut_onnx.fit.adam import BETA1, BETA2, EPS
from gamut_onnx.fit.config import FitConfig
from gamut_onnx.fit.step import gradients, learning_rate

CHUNK = 50  # steps per captured graph: long enough to hide launches, short enough to capture fast


def adam_scalars(config: FitConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per step (-lr / (1 - beta1^t), sqrt(1 - beta2^t)) as float32: Adam's step size with its
    sign and the second-moment bias correction, for t = 1 .. steps."""
    t = np.arange(1, config.steps + 1, dtype=np.float64)
    lr = np.array([learning_rate(config, step) for step in range(1, config.steps + 1)])
    return (-lr / (1 - BETA1**t)).astype(np.float32), np.sqrt(1 - BETA2**t).astype(np.float32)


class CapturedTrainer:
    """Fixed buffers for `models` fits of one recipe at once, and the graph that steps them."""

    def __init__(
        self, models: int, capacity: int, shapes: tuple, batch: int, device: str, capture: bool
    ):
        import torch

        features_dim = shapes[0][0]
        self.models, self.capacity, self.batch = models, capacity, batch
        self.device, self.capture = device, capture
        zeros = lambda *s, dtype=torch.float32: torch.zeros(s, dtype=dtype, device=device)  # noqa: E731
        self.features = zeros(models * capacity, features_dim)
        self.targets = zeros(models * capacity, 3)
        self.index = zeros(models, CHUNK, batch, dtype=torch.int64)
        self.step_size = zeros(CHUNK)
        self.correction = zeros(CHUNK)
        self.params = [zeros(models, *shape) for shape in shapes]
        self.first = [zeros(models, *shape) for shape in shapes]  # Adam's moments
        self.second = [zeros(models, *shape) for shape in shapes]
        self.loss = zeros(models)
        self.graph = None

    def _step(self, j: int) -> None:
        import torch

        picks = self.index[:, j].reshape(-1)
        features = self.features.index_select(0, picks).view(self.models, self.batch, -1)
        targets = self.targets.index_select(0, picks).view(self.models, self.batch, 3)
        grads, loss = gradients(self.params, features, targets)
        torch._foreach_lerp_(self.first, grads, 1 - BETA1)
        torch._foreach_mul_(self.second, BETA2)
        torch._foreach_addcmul_(self.second, grads, grads, 1 - BETA2)
        denom = torch._foreach_sqrt(self.second)
        torch._foreach_div_(denom, self.correction[j])
        torch._foreach_add_(denom, EPS)
        torch._foreach_div_(denom, self.step_size[j])
        torch._foreach_addcdiv_(self.params, self.first, denom)
        self.loss.copy_(loss)

    def _chunk(self, count: int) -> None:
        for j in range(count):
            self._step(j)

    def _replay(self) -> None:
        """Run a full chunk: the first one eagerly on a side stream (it warms cuBLAS up, as
        capture needs), then captured once, replayed ever after."""
        import torch

        if self.graph is not None:
            self.graph.replay()
            return
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            self._chunk(CHUNK)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._chunk(CHUNK)
        self.graph = graph

    def load(self, pools: list, initial: list) -> list[int]:
        """Copy the pools (padded) and the starting weights in; reset Adam. Returns pool sizes."""
        sizes = []
        for b, (features, targets) in enumerate(pools):
            n = features.shape[0]
            self.features[b * self.capacity : b * self.capacity + n].copy_(features)
            self.targets[b * self.capacity : b * self.capacity + n].copy_(targets)
            sizes.append(n)
        for param, start in zip(self.params, initial, strict=True):
            param.copy_(start.to(self.device).expand_as(param))
        for moment in self.first + self.second:
            moment.zero_()
        return sizes

    def train(self, config: FitConfig, sizes: list[int], generators: list) -> None:
        """`config.steps` steps of every model; each model's batches come from its generator."""
        import torch

        step_size, correction = (torch.from_numpy(a).to(self.device) for a in adam_scalars(config))
        for start in range(0, config.steps, CHUNK):
            count = min(CHUNK, config.steps - start)
            for b, (n, generator) in enumerate(zip(sizes, generators, strict=True)):
                if n == self.batch:  # a pool no larger than the batch is used whole
                    picks = torch.arange(n, device=self.device).expand(count, n)
                else:
                    picks = torch.randint(
                        0, n, (count, self.batch), generator=generator, device=self.device
                    )
                self.index[b, :count].copy_(picks).add_(b * self.capacity)
            self.step_size[:count].copy_(step_size[start : start + count])
            self.correction[:count].copy_(correction[start : start + count])
            if self.capture and count == CHUNK:
                self._replay()
            else:
                self._chunk(count)


@lru_cache(maxsize=2)
def trainer(
    models: int, capacity: int, shapes: tuple, batch: int, device: str, capture: bool
) -> CapturedTrainer:
    """One trainer (buffers and graph) per recipe and group size, kept for the next photos."""
    return CapturedTrainer(models, capacity, shapes, batch, device, capture)


def train_captured(
    pools: list, initial: list, config: FitConfig, generators: list, device: str
) -> tuple[list, list[float]]:
    """Fit one model per (features, targets) pool from the same `initial` weights.

    Returns the weights stacked on a leading model axis (on `device`) and each model's last
    batch loss. Pools smaller than `config.batch` must come alone (they are used whole).
    """
    smallest = min(features.shape[0] for features, _ in pools)
    batch = min(config.batch, smallest)
    if batch < config.batch and len(pools) > 1:
        raise ValueError("pools smaller than the batch must be fitted alone")
    capacity = max(config.max_samples, max(features.shape[0] for features, _ in pools))
    shapes = tuple(tuple(p.shape) for p in initial)
    run = trainer(len(pools), capacity, shapes, batch, device, device.startswith("cuda"))
    sizes = run.load(pools, initial)
    run.train(config, sizes, generators)
    return [p.clone() for p in run.params], run.loss.tolist()
