"""The GPU's captured training loop (fit/captured.py), run eagerly on the CPU against the eager
fit: same batches, same Adam, so the same weights up to float rounding."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FIT_NOISE, pool_loss

from gamut_onnx.colour import out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.fit import (
    encode_pool,
    fit,
    initial_model,
    model_parameters,
    preset,
    training_pixels,
)
from gamut_onnx.fit.captured import CHUNK, adam_scalars, train_captured
from gamut_onnx.sample import synthetic_scene

torch = pytest.importorskip("torch")


def pool(seed: int, config, size: int = 48):
    truth = synthetic_scene(size + 8 * seed, size, seed=seed + 10)
    srgb8, og = prophoto_to_srgb8(truth), out_of_gamut_mask(truth)
    index = training_pixels(srgb8, og, config)
    return (srgb8, truth, og), encode_pool(srgb8, truth, index, config.octaves, "cpu")


def captured_weights(pools, config, device="cpu"):
    model, _ = initial_model(config)
    generators = [torch.Generator(device=device).manual_seed(config.seed) for _ in pools]
    return train_captured(pools, model_parameters(model), config, generators, device)


def test_adam_scalars_follow_the_schedule():
    config = preset("plain", steps=120)
    step_size, correction = adam_scalars(config)
    assert step_size.shape == correction.shape == (120,)
    assert step_size[0] == pytest.approx(-config.lr / 0.1, rel=1e-6)  # lr / (1 - beta1)
    assert step_size[-1] == pytest.approx(-config.lr / 100 / (1 - 0.9**120), rel=1e-5)
    assert correction[0] == pytest.approx(np.sqrt(0.001), rel=1e-6)


@pytest.mark.parametrize("steps", [CHUNK * 2, CHUNK * 2 + 7])  # whole chunks, and a remainder
def test_captured_loop_equals_the_eager_fit(steps):
    config = preset("plain", steps=steps, batch=256)
    cases, pools = zip(*(pool(seed, config) for seed in range(3)), strict=True)
    stacked, losses = captured_weights(list(pools), config)
    for b, (srgb8, truth, og) in enumerate(cases):
        alone = fit(srgb8, truth, og, config, device="cpu")
        for a, w in zip(model_parameters(alone.model), stacked, strict=True):
            np.testing.assert_allclose(w[b].numpy(), a.numpy(), rtol=0, atol=5e-5)
        assert losses[b] == pytest.approx(alone.final_loss, rel=1e-3)


def test_a_pool_smaller_than_the_batch_is_used_whole_and_alone():
    config = preset("plain", steps=60, batch=4096)
    (srgb8, truth, og), small = pool(0, config, size=16)
    assert small[0].shape[0] < config.batch
    stacked, _ = captured_weights([small], config)
    alone = fit(srgb8, truth, og, config, device="cpu")
    for a, w in zip(model_parameters(alone.model), stacked, strict=True):
        np.testing.assert_allclose(w[0].numpy(), a.numpy(), rtol=0, atol=5e-5)
    with pytest.raises(ValueError):
        captured_weights([small, small], config)


@pytest.mark.gpu
def test_captured_fit_on_cuda_matches_the_cpu_within_fit_noise():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    config = preset("plain", steps=300, batch=256)
    (srgb8, truth, og), whole = pool(1, config)
    cpu = fit(srgb8, truth, og, config, device="cpu")
    gpu = fit(srgb8, truth, og, config, device="cuda")
    again = fit(srgb8, truth, og, config, device="cuda")  # the cached graph, replayed
    ratio = pool_loss(gpu.model, whole) / pool_loss(cpu.model, whole)
    assert 1 / FIT_NOISE < ratio < FIT_NOISE
    for a, b in zip(model_parameters(gpu.model), model_parameters(again.model), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
