"""Fitting: sampling, the hand-written step, determinism, presets, devices."""

import numpy as np
import pytest

from gamut_onnx.colour import boundary_mask, out_of_gamut_mask, prophoto_to_srgb8
from gamut_onnx.errors import GamutError
from gamut_onnx.sample import synthetic_scene

torch = pytest.importorskip("torch")
from gamut_onnx.fit import (  # noqa: E402
    PRESETS,
    build_model,
    fit,
    model_parameters,
    preset,
    sample_indices,
    training_pixels,
)
from gamut_onnx.fit.step import gradients  # noqa: E402


@pytest.fixture(scope="module")
def problem():
    truth = synthetic_scene(96, 64, seed=1)
    return prophoto_to_srgb8(truth), truth, out_of_gamut_mask(truth)


def random_init(**overrides):
    return preset("default", init="random", **overrides)


def test_sampling_takes_every_nth_og_and_mth_in_gamut_pixel():
    mask = np.zeros(1000, bool)
    mask[:100] = True
    idx = sample_indices(mask.reshape(20, 50), og_stride=5, ig_stride=50)
    assert idx.tolist() == list(range(0, 100, 5)) + list(range(100, 1000, 50))


def test_boundary_pixels_are_every_og_pixel_plus_in_gamut_edge_pixels(problem):
    srgb8, _, og = problem
    idx = training_pixels(srgb8, og, random_init())
    expected = np.flatnonzero(boundary_mask(srgb8).reshape(-1) | og.reshape(-1))
    assert np.array_equal(idx, expected) and og.any()
    assert set(np.flatnonzero(og)) <= set(idx.tolist())
    capped = training_pixels(srgb8, og, random_init(max_samples=100))
    assert capped.size == 100 and set(capped.tolist()) <= set(expected.tolist())


def test_paper_preset_is_the_authors_recipe():
    paper = PRESETS["paper"]
    assert (paper.width, paper.octaves, paper.steps, paper.batch) == (32, 12, 10_000, 65_536)
    assert (paper.lr, paper.og_stride, paper.ig_stride, paper.schedule) == (5e-3, 5, 50, "constant")
    assert (paper.pixels, paper.init, paper.gate, paper.weight_dtype) == (
        "strided",
        "random",
        "off",
        "float32",
    )


def test_hand_written_gradients_match_autograd():
    torch.manual_seed(0)
    model = build_model(32, 4)
    features, targets = torch.randn(257, 40), torch.randn(257, 3) * 0.1
    loss = torch.nn.functional.mse_loss(model(features), targets)
    loss.backward()
    expected = []
    for layer in (model[0], model[2], model[4]):
        expected += [layer.weight.grad.t(), layer.bias.grad]
    grads, got_loss = gradients(model_parameters(model), features, targets)
    assert float(got_loss) == pytest.approx(float(loss.detach()), rel=1e-6)
    for g, e in zip(grads, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-7)


def test_own_adam_equals_torch_adam_bit_for_bit():
    """fit/adam.py replaces torch.optim.Adam (whose first use imports torch._dynamo, ~1 s)."""
    from gamut_onnx.fit.adam import Adam

    torch.manual_seed(0)
    features, targets = torch.randn(300, 40), torch.randn(300, 3) * 0.1
    ours = model_parameters(build_model(32, 4))
    theirs = [p.clone().requires_grad_(True) for p in ours]
    start = ours[0].clone()
    mine, reference = Adam(ours, lr=5e-3), torch.optim.Adam(theirs, lr=5e-3, foreach=True)
    for step in range(1, 41):
        lr = 5e-3 / step  # a changing rate, as the cosine schedule sets it
        mine.lr = reference.param_groups[0]["lr"] = lr
        mine.step(gradients(ours, features, targets)[0])
        grads = gradients([p.detach() for p in theirs], features, targets)[0]
        for p, g in zip(theirs, grads, strict=True):
            p.grad = g
        reference.step()
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b.detach())
    assert not torch.equal(ours[0], start)  # the weights moved


def test_fit_reduces_the_loss(problem):
    config = random_init(steps=300, batch=1024)
    losses = []
    result = fit(*problem, config, device="cpu", progress=lambda step, loss: losses.append(loss))
    assert len(losses) == 6 and losses[-1] < 0.5 * losses[0]
    assert result.device == "cpu" and result.samples > 0 and result.init == "random"


def test_cpu_fit_is_deterministic_for_a_seed(problem):
    def weights(cfg):
        model = fit(*problem, cfg, device="cpu").model
        return [p.detach().numpy().copy() for p in model.parameters()]

    first = weights(random_init(steps=60, batch=512, seed=7))
    second = weights(random_init(steps=60, batch=512, seed=7))
    other = weights(random_init(steps=60, batch=512, seed=8))
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize("width", [16, 64])
def test_other_widths_fit(problem, width):
    model = fit(*problem, random_init(steps=5, width=width), device="cpu").model
    assert model[0].out_features == width


def test_bad_settings_are_clear_errors(problem):
    with pytest.raises(GamutError, match="width 48"):
        fit(*problem, preset("default", width=48), device="cpu")
    with pytest.raises(GamutError, match="unknown preset"):
        preset("fastest")
    with pytest.raises(GamutError, match="schedule"):
        fit(*problem, preset("default", steps=2, schedule="linear"), device="cpu")
    with pytest.raises(GamutError, match="pixel choice"):
        fit(*problem, preset("default", pixels="all"), device="cpu")


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


def test_the_pool_encoded_in_row_blocks_equals_the_pool_encoded_at_once():
    """featurise encodes FEATURE_ROWS rows at a time; the fit must see the same features."""
    from gamut_onnx.features import frequency_bands
    from gamut_onnx.fit.model import encode_features
    from gamut_onnx.fit.pool import FEATURE_ROWS, featurise

    rng = np.random.default_rng(4)
    rows = 2 * FEATURE_ROWS + 1_001  # a last block shorter than the others
    inputs = rng.uniform(-1, 1, (rows, 21)).astype(np.float32)
    residual = rng.normal(0, 0.01, (rows, 3)).astype(np.float32)
    features, targets = featurise(inputs, residual, 8, "cpu")
    whole = encode_features(torch.from_numpy(inputs), torch.from_numpy(frequency_bands(8)))
    assert torch.equal(features, whole)
    assert torch.equal(targets, torch.from_numpy(residual))
