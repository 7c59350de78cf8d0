"""Meta-learned init: the shipped file, meta-train through the CLI, and encodes that use it."""

import json

import numpy as np
import pytest
from conftest import check_ok, make_source, run_cli

from gamut_onnx.errors import GamutError
from gamut_onnx.fit.initial import init_path, read_init

torch = pytest.importorskip("torch")


def test_the_default_recipe_has_a_shipped_init():
    from gamut_onnx.fit import PRESETS, initial_model

    default = PRESETS["default"]
    params, about = read_init(init_path(default.width, default.octaves))
    assert (about["width"], about["octaves"]) == (default.width, default.octaves)
    assert about["trained_on"] and about["options"]["meta_steps"] > 0  # provenance recorded
    assert [p.shape for p in params] == [(80, 32), (32,), (32, 32), (32,), (32, 3), (3,)]
    model, init = initial_model(default)
    assert init == "meta"
    w1 = model[0].weight.detach().numpy()  # the default sees context: 16 zero rows follow
    np.testing.assert_array_equal(w1[:, :80], params[0].T)
    assert w1.shape == (32, 96) and not w1[:, 80:].any()


def test_meta_train_writes_an_init_that_encode_uses(tmp_path):
    source = make_source(tmp_path / "photo.tif", 80, 64)
    init = tmp_path / "init.npz"
    args = ("--meta-steps", "3", "--inner-steps", "2", "--crop", "48", "--crops-per-image", "2")
    report = json.loads(
        check_ok(
            run_cli("meta-train", source, "-o", init, *args, "--synthetic", "1", "--json")
        ).stdout
    )
    assert report["format"] == "gamut-onnx-init" and report["trained_on"] == ["photo.tif"]
    params, about = read_init(init)
    assert all(np.isfinite(p).all() for p in params) and about["octaves"] == 8
    encoded = run_cli(
        "encode", source, "-o", tmp_path / "c.png", "--steps", "20", "--init", init, "--json"
    )
    out = json.loads(check_ok(encoded).stdout)
    assert out["init"] == "init.npz" and out["model"] in ("gated", "none")


def test_an_init_for_another_architecture_is_refused(tmp_path):
    from gamut_onnx.fit import initial_model, preset
    from gamut_onnx.fit.initial import save_init

    path = tmp_path / "w16.npz"
    shapes = [(80, 16), (16,), (16, 16), (16,), (16, 3), (3,)]
    save_init(path, [np.zeros(s, np.float32) for s in shapes], 16, 8, {})
    with pytest.raises(GamutError, match="width 16"):
        initial_model(preset("default", init=str(path)))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(GamutError, match="not a gamut-onnx init file"):
        read_init(bad)


def test_an_image_with_nothing_clipped_gets_no_model(tmp_path):
    from gamut_onnx.codec import decode, encode
    from gamut_onnx.container.carrier import decode_carrier

    grey = np.full((24, 32, 3), 0.25, np.float32)
    result = encode(grey, carrier="png", device="cpu", provider="cpu")
    assert result.model == "none" and result.blob_bytes == 0 and result.fit_s == 0.0
    restored = decode(decode_carrier(result.data), provider="cpu")
    assert not restored.restored and "no gamut-onnx model" in restored.warnings[0]
