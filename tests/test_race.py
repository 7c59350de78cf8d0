"""The context race (fit/race.py): the pool loss picks the fit with or without carrier context."""

import numpy as np
import pytest

from gamut_onnx.context import CONTEXT_INPUTS
from gamut_onnx.fit import preset

torch = pytest.importorskip("torch")

from gamut_onnx.fit.race import pool_loss, race, race_steps  # noqa: E402

ENCODED = 80  # 8 octaves x 10


def pool(context_signal: float, noise: float, seed: int = 0):
    """Features [n, 96] and targets [n, 3]: the targets follow one encoded column and, with
    `context_signal`, one context column; `noise` scales the rest of the context columns."""
    g = torch.Generator().manual_seed(seed)
    n = 8192
    encoded = torch.rand(n, ENCODED, generator=g) * 2 - 1
    context = (torch.rand(n, CONTEXT_INPUTS, generator=g) * 2 - 1) * noise
    context[:, 0] = torch.rand(n, generator=g) * 2 - 1
    targets = 0.01 * encoded[:, :1] + context_signal * 0.05 * context[:, :1]
    return torch.cat([encoded, context], 1), targets.repeat(1, 3).contiguous()


def start_params(seed: int = 0) -> list:
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(ENCODED, 32, generator=g) * 0.1
    return [
        torch.cat([w1, torch.zeros(CONTEXT_INPUTS, 32)]),
        torch.zeros(32),
        torch.randn(32, 32, generator=g) * 0.1,
        torch.zeros(32),
        torch.randn(32, 3, generator=g) * 0.01,
        torch.zeros(3),
    ]


def run(features, targets, steps=300):
    config = preset("default", steps=steps, batch=1024)
    return race(
        start_params(),
        features,
        targets,
        config,
        lambda: torch.Generator().manual_seed(0),
    )


def test_context_wins_where_the_targets_need_it():
    features, targets = pool(context_signal=1.0, noise=1.0)
    params, _, choice = run(features, targets)
    assert choice.context and choice.context_loss < choice.plain_loss
    assert params[0][-CONTEXT_INPUTS:].abs().max() > 0
    assert choice.at_step == race_steps(preset("default", steps=300)) == 90


def test_plain_wins_where_context_is_only_noise_and_keeps_zero_rows():
    features, targets = pool(context_signal=0.0, noise=30.0)
    params, _, choice = run(features, targets)
    assert not choice.context and choice.plain_loss <= choice.context_loss
    assert torch.equal(params[0][-CONTEXT_INPUTS:], torch.zeros(CONTEXT_INPUTS, 32))
    report = choice.report()
    assert report["context"] is False and report["decided_at_step"] == 90


@pytest.mark.parametrize("context_signal, noise", [(1.0, 1.0), (0.0, 30.0)])
def test_the_stacked_race_is_two_lone_fits_bit_for_bit(context_signal, noise):
    """The race trains both contestants as one stack of two models; each must end exactly where
    a lone fit on the same batches ends (the winner going on alone from its Adam state)."""
    from gamut_onnx.fit.step import Training

    features, targets = pool(context_signal, noise)
    config = preset("default", steps=300, batch=1024)
    params, loss, choice = run(features, targets)
    until = race_steps(config)
    lone = {}
    for context in (False, True):
        frozen = None if context else slice(-CONTEXT_INPUTS, None)
        generator = torch.Generator().manual_seed(0)
        fit = Training(
            [p.clone() for p in start_params()], features, targets, config, generator, frozen
        )
        fit.run(until)
        lone[context] = fit
    assert pool_loss(lone[False].params, features, targets) == choice.plain_loss
    assert pool_loss(lone[True].params, features, targets) == choice.context_loss
    assert lone[choice.context].run(config.steps) == loss
    for mine, alone in zip(params, lone[choice.context].params, strict=True):
        assert torch.equal(mine, alone)


def test_pool_loss_is_the_mean_squared_error_over_every_chunk():
    features, targets = pool(1.0, 1.0)
    params = start_params()
    w1, b1, w2, b2, w3, b3 = params
    out = torch.relu(torch.relu(features @ w1 + b1) @ w2 + b2) @ w3 + b3
    expected = float(((out - targets) ** 2).mean())
    assert pool_loss(params, features, targets) == pytest.approx(expected, rel=1e-5)


def test_a_model_with_context_weights_cannot_be_written_without_context():
    from gamut_onnx.exporters.weights import blob_from_model
    from gamut_onnx.fit import build_model

    model = build_model(32, 8, context=True)
    args = {"image_size": (4, 4), "digest": bytes(32)}
    with pytest.raises(ValueError, match="context rows are not zero"):
        blob_from_model(model, 8, **args)
    with torch.no_grad():
        model[0].weight[:, ENCODED:] = 0
    plain = blob_from_model(model, 8, **args)
    assert plain[15] == 1 and plain[8] == 2  # layout 1, format version 2
    assert len(blob_from_model(model, 8, **args, context=True)) == len(plain) + 16 * 32 * 2


def test_encode_reports_the_choice(tmp_path):
    from gamut_onnx.codec import encode
    from gamut_onnx.sample import synthetic_scene

    result = encode(synthetic_scene(96, 64, 1), config=preset("fast"), device="cpu")
    race_report = result.context_race
    assert set(race_report) == {
        "context",
        "decided_at_step",
        "pool_loss_plain",
        "pool_loss_context",
    }
    assert result.context == race_report["context"]
    assert result.blob[15] == (2 if result.context else 1)
    assert np.isfinite(race_report["pool_loss_plain"])


def test_the_gpu_race_runs_both_fits_to_the_end_and_keeps_the_shape():
    """race_captured is the CUDA path; its captured loop also runs eagerly on the CPU."""
    from gamut_onnx.fit.race import race_captured

    config = preset("default", steps=100, batch=1024)
    for signal, noise, expected in ((1.0, 1.0, True), (0.0, 30.0, False)):
        features, targets = pool(signal, noise)
        params, loss, choice = race_captured(
            start_params(), features, targets, config, lambda: torch.Generator().manual_seed(0)
        )
        assert choice.context is expected and choice.at_step == 100
        assert params[0].shape == (ENCODED + CONTEXT_INPUTS, 32) and np.isfinite(loss)
        if not expected:
            assert not params[0][-CONTEXT_INPUTS:].any()
