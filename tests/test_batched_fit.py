"""B models fitted at once equal the B lone fits (same seeds, same batches, same Adam)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FIT_NOISE, pool_loss

from gamut_onnx.colour import out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.fit import encode_pool, fit, preset, training_pixels
from gamut_onnx.fit.batched import Problem, fit_batched, fit_many
from gamut_onnx.fit.model import model_parameters
from gamut_onnx.sample import synthetic_scene

torch = pytest.importorskip("torch")


def problems(count: int, size: int = 48) -> list[Problem]:
    out = []
    for seed in range(count):
        truth = synthetic_scene(size + 8 * seed, size, seed=seed + 10)
        out.append(Problem(prophoto_to_srgb8(truth), truth, out_of_gamut_mask(truth)))
    return out


def weights(result) -> list[np.ndarray]:
    return [p.numpy() for p in model_parameters(result.model)]


@pytest.mark.parametrize("init", ["meta", "random"])
def test_batched_fits_equal_lone_fits(init):
    config = preset("plain", steps=120, batch=256, init=init)
    cases = problems(3)
    together = fit_many(cases, config, "cpu")
    for case, batched in zip(cases, together, strict=True):
        alone = fit(case.srgb8, case.truth, case.og, config, device="cpu")
        assert batched.samples == alone.samples
        for a, b in zip(weights(alone), weights(batched), strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=2e-5)  # summation order only
        assert batched.final_loss == pytest.approx(alone.final_loss, rel=1e-3)


def test_small_pools_go_to_lone_fits():
    config = preset("plain", steps=30, batch=4096)
    cases = problems(2, size=16)  # fewer boundary pixels than a batch: lone fits
    results = fit_batched(cases, config, "cpu")
    assert len(results) == 2 and all(r.samples < 4096 for r in results)
    with pytest.raises(ValueError):
        fit_many(cases, config, "cpu")


@pytest.mark.gpu
def test_batched_fits_on_cuda_equal_cpu_within_fit_noise():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    config = preset("plain", steps=200, batch=256)
    cases = problems(4)
    gpu = fit_many(cases, config, "cuda")
    cpu = fit_many(cases, config, "cpu")
    for case, a, b in zip(cases, cpu, gpu, strict=True):
        index = training_pixels(case.srgb8, case.og, config)
        whole = encode_pool(case.srgb8, case.truth, index, config.octaves, "cpu")
        ratio = pool_loss(b.model, whole) / pool_loss(a.model, whole)
        assert 1 / FIT_NOISE < ratio < FIT_NOISE
