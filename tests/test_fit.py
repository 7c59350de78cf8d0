"""Fitting: sampling, determinism, presets, devices."""

import numpy as np
import pytest

from gamut_onnx.colour import out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.errors import GamutError
from gamut_onnx.features import mlp_inputs
from gamut_onnx.sample import synthetic_scene

torch = pytest.importorskip("torch")
from gamut_onnx.fit import PRESETS, fit, preset, sample_indices  # noqa: E402


@pytest.fixture(scope="module")
def problem():
    truth = synthetic_scene(96, 64, seed=1)
    inputs, clipped = mlp_inputs(prophoto_to_srgb8(truth))
    return inputs, truth - clipped, out_of_gamut_mask(truth)


def test_sampling_takes_every_nth_og_and_mth_in_gamut_pixel():
    mask = np.zeros(1000, bool)
    mask[:100] = True
    idx = sample_indices(mask.reshape(20, 50), og_stride=5, ig_stride=50)
    assert idx.tolist() == list(range(0, 100, 5)) + list(range(100, 1000, 50))


def test_paper_preset_is_the_authors_recipe():
    paper = PRESETS["paper"]
    assert (paper.width, paper.octaves, paper.steps, paper.batch) == (32, 12, 10_000, 65_536)
    assert (paper.lr, paper.og_stride, paper.ig_stride, paper.schedule) == (5e-3, 5, 50, "constant")


def test_fit_reduces_the_loss(problem):
    inputs, residual, og = problem
    config = preset("default", steps=300, batch=1024)
    losses = []
    result = fit(
        inputs, residual, og, config, device="cpu", progress=lambda step, loss: losses.append(loss)
    )
    assert len(losses) == 6 and losses[-1] < 0.5 * losses[0]
    assert result.device == "cpu" and result.samples > 0


def test_cpu_fit_is_deterministic_for_a_seed(problem):
    inputs, residual, og = problem
    config = preset("default", steps=60, batch=512, seed=7)

    def weights(cfg):
        model = fit(inputs, residual, og, cfg, device="cpu").model
        return [p.detach().numpy().copy() for p in model.parameters()]

    first, second = weights(config), weights(config)
    other = weights(preset("default", steps=60, batch=512, seed=8))
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize("width", [16, 64])
def test_other_widths_fit(problem, width):
    inputs, residual, og = problem
    model = fit(inputs, residual, og, preset("default", steps=5, width=width), device="cpu").model
    assert model[0].out_features == width


def test_bad_settings_are_clear_errors(problem):
    inputs, residual, og = problem
    with pytest.raises(GamutError, match="width 48"):
        fit(inputs, residual, og, preset("default", width=48), device="cpu")
    with pytest.raises(GamutError, match="unknown preset"):
        preset("fastest")
    with pytest.raises(GamutError, match="schedule"):
        fit(inputs, residual, og, preset("default", steps=2, schedule="linear"), device="cpu")


def test_cuda_fit_when_available(problem):
    if not torch.cuda.is_available():
        with pytest.raises(GamutError, match="CUDA"):
            fit(*problem, preset("default", steps=2), device="cuda")
        pytest.skip("no CUDA GPU here")
    result = fit(*problem, preset("default", steps=50), device="cuda")
    assert result.device == "cuda"


def test_sampling_is_thinned_evenly_to_the_cap():
    mask = np.zeros((100, 100), bool)
    mask[:, :30] = True
    idx = sample_indices(mask, og_stride=1, ig_stride=1, max_samples=1000)
    assert idx.size == 1000 and np.all(np.diff(idx) > 0)
    assert idx[0] == 0 and idx[-1] == 9999
