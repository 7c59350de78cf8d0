"""The fixed ONNX graphs: shipped copies, standard ops, and the restore graph's parity with the
torch model."""

import dataclasses

import numpy as np
import onnx
import pytest
from conftest import fp32_blob, trained_like_model

from gamut_onnx.blob import Blob, pixel_digest, unpack_blob, weight_shapes
from gamut_onnx.colour import boundary_mask, srgb8_to_prophoto
from gamut_onnx.errors import GamutError
from gamut_onnx.exporters.builder import OPSET
from gamut_onnx.exporters.graph import shipped_graphs
from gamut_onnx.features import mlp_inputs
from gamut_onnx.runtime import GRAPH_PATH, GRAPHS, RestoreSession
from gamut_onnx.runtime.feeds import image_feeds
from gamut_onnx.sample import synthetic_scene

torch = pytest.importorskip("torch")


def test_shipped_graphs_equal_a_fresh_build():
    fresh = shipped_graphs()
    assert sorted(fresh) == sorted(p.name for p in GRAPHS.values())
    for path in GRAPHS.values():
        assert path.read_bytes() == fresh[path.name], (
            f"{path} is stale: run `python -m gamut_onnx.exporters.graph`"
        )


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.g is not None:
                yield from _all_nodes(attribute.g)


@pytest.mark.parametrize("name", ["restore", "grids", "output"])
def test_graphs_use_standard_ops_at_opset_17(name):
    model = onnx.load(GRAPHS[name])
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    assert OPSET >= 17
    assert all(node.domain in ("", "ai.onnx") for node in _all_nodes(model.graph))


def test_restore_graph_interface():
    model = onnx.load(GRAPH_PATH)
    assert [i.name for i in model.graph.input] == [
        "srgb8", "origin", "image_size", "edges", "carrier_transform",
        "w1", "b1", "w2", "b2", "w3", "b3",
        "grid4", "grid16", "grid64", "grid256", "map_samples", "map_params",
        "lattice_matrices", "lattice_codes", "lattice_mode",
    ]  # fmt: skip
    assert [o.name for o in model.graph.output] == ["prophoto", "residual_sum"]


def random_carrier(h=150, w=200, seed=3):
    """A carrier-like image with clipped channels, from the synthetic scene."""
    from gamut_onnx.colour import prophoto_to_srgb8

    return prophoto_to_srgb8(synthetic_scene(w, h, seed))


def torch_restore(model, srgb8, octaves=12):
    from gamut_onnx.features import frequency_bands
    from gamut_onnx.fit import encode_features

    inputs, clipped = mlp_inputs(srgb8)
    x = torch.from_numpy(inputs.reshape(-1, 5))
    with torch.no_grad():
        residual = model(encode_features(x, torch.from_numpy(frequency_bands(octaves))))
    out = np.clip(clipped.reshape(-1, 3) + residual.numpy(), 0, 1)
    return out.reshape(clipped.shape), clipped


@pytest.mark.parametrize("width", [16, 32, 128])
def test_parity_with_torch_fp32(width):
    srgb8 = random_carrier()
    model = trained_like_model(width)
    expected, _ = torch_restore(model, srgb8)
    got = RestoreSession("cpu", tile=64).restore(srgb8, fp32_blob(model, srgb8))
    assert np.abs(got - expected).max() < 1e-4


def test_tiling_does_not_change_the_result():
    srgb8 = random_carrier(97, 131)
    blob = fp32_blob(trained_like_model(), srgb8)
    whole = RestoreSession("cpu", tile=4096).restore(srgb8, blob)
    for tile in (16, 50, 64):
        np.testing.assert_allclose(
            RestoreSession("cpu", tile=tile).restore(srgb8, blob), whole, atol=1e-6
        )


def test_session_runs_another_copy_of_the_graph(tmp_path):
    """bench/graph_ab.py compares graph files through RestoreSession's `graph` argument."""
    srgb8 = random_carrier(64, 80)
    blob = fp32_blob(trained_like_model(), srgb8)
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(GRAPH_PATH.read_bytes())
    expected = RestoreSession("cpu").restore(srgb8, blob)
    np.testing.assert_array_equal(RestoreSession("cpu", graph=copy).restore(srgb8, blob), expected)
    with pytest.raises(GamutError, match="cannot start onnxruntime"):
        RestoreSession("cpu", graph=tmp_path / "missing.onnx")


def test_gated_mode_only_touches_boundary_pixels():
    srgb8 = random_carrier()
    model = trained_like_model()
    ungated = RestoreSession("cpu").restore(srgb8, fp32_blob(model, srgb8))
    gated = RestoreSession("cpu").restore(srgb8, fp32_blob(model, srgb8, gated=True))
    _, clipped = mlp_inputs(srgb8)
    edge = boundary_mask(srgb8)
    assert 0.05 < edge.mean() < 0.95
    np.testing.assert_array_equal(gated[edge], ungated[edge])
    # Unselected pixels keep the base colour (a MatMul: equal up to float32 rounding).
    np.testing.assert_allclose(gated[~edge], clipped[~edge], rtol=0, atol=1e-6)


def test_boundary_margin_widens_the_gate():
    srgb8 = random_carrier()
    model = trained_like_model()
    base = fp32_blob(model, srgb8)
    ungated = RestoreSession("cpu").restore(srgb8, base)
    wide = dataclasses.replace(base, gated=True, boundary_margin=6)
    out = RestoreSession("cpu").restore(srgb8, wide)
    near = boundary_mask(srgb8, margin=6)
    assert near.mean() > boundary_mask(srgb8).mean()
    np.testing.assert_array_equal(out[near], ungated[near])
    np.testing.assert_allclose(out[~near], mlp_inputs(srgb8)[1][~near], rtol=0, atol=1e-6)


def test_gated_mode_with_no_boundary_pixel_is_plain_expansion():
    srgb8 = np.full((20, 30, 3), 128, np.uint8)
    model = trained_like_model()
    out = RestoreSession("cpu").restore(srgb8, fp32_blob(model, srgb8, gated=True))
    np.testing.assert_allclose(out, mlp_inputs(srgb8)[1], rtol=0, atol=1e-6)


def test_size_mismatch_is_rejected():
    srgb8 = random_carrier()
    blob = fp32_blob(trained_like_model(), srgb8)
    with pytest.raises(GamutError, match="fitted for a 200x150"):
        RestoreSession("cpu").restore(srgb8[:100], blob)


def test_baked_model_matches_the_fixed_graph():
    import onnxruntime as ort

    from gamut_onnx.exporters.graph import bake_restore_graph
    from gamut_onnx.runtime.feeds import UNUSED_SAMPLES

    srgb8 = random_carrier(40, 60)
    blob = fp32_blob(trained_like_model(), srgb8, gated=True)
    feeds = {
        **image_feeds(blob, 40, 60),
        "origin": np.zeros(2, np.int64),
        "map_samples": UNUSED_SAMPLES,
    }
    baked = ort.InferenceSession(
        bake_restore_graph(feeds, 40, 60).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    assert [i.name for i in baked.get_inputs()] == ["srgb8"]
    out, residual_sum = baked.run(None, {"srgb8": srgb8})
    np.testing.assert_allclose(out, RestoreSession("cpu").restore(srgb8, blob), atol=1e-6)
    assert np.isfinite(residual_sum) and residual_sum.shape == ()


def test_non_finite_output_is_refused_on_every_path():
    """Blob packing bounds the weights; a Blob built in memory is not checked, so an infinite
    weight reaches the graph, whose one-float check stops the output on each path."""
    ort = pytest.importorskip("onnxruntime")
    srgb8 = random_carrier(40, 60)
    blob = fp32_blob(trained_like_model(), srgb8, gated=True)
    blob.weights[5] = np.full(3, np.inf, np.float32)
    session = RestoreSession("cpu", tile=32)
    with pytest.raises(GamutError, match="non-finite"):
        session.restore(srgb8, blob)
    with pytest.raises(GamutError, match="non-finite"):
        list(session.row_bands(srgb8, image_feeds(blob, 40, 60)))
    with pytest.raises(GamutError, match="non-finite"):
        session.restore_on_device(ort.OrtValue.ortvalue_from_numpy(srgb8), blob)


def test_restore_into_a_given_array():
    srgb8 = random_carrier(40, 60)
    blob = fp32_blob(trained_like_model(), srgb8, gated=True)
    session = RestoreSession("cpu")
    out = np.zeros((40, 60, 3), np.float32)
    assert session.restore(srgb8, blob, out=out) is out
    np.testing.assert_array_equal(out, session.restore(srgb8, blob))
    with pytest.raises(GamutError, match="C-contiguous float32"):
        session.restore(srgb8, blob, out=np.zeros((40, 60, 3), np.float64))


def test_fp16_blob_stays_close_to_fp32():
    srgb8 = random_carrier()
    model = trained_like_model()
    from gamut_onnx.exporters.weights import blob_from_model

    half = unpack_blob(
        blob_from_model(model, 12, image_size=srgb8.shape[:2], digest=pixel_digest(srgb8))
    )
    a = RestoreSession("cpu").restore(srgb8, half)
    b = RestoreSession("cpu").restore(srgb8, fp32_blob(model, srgb8))
    assert np.abs(a - b).max() < 0.05  # untrained weights: a loose bound, real fits in results


def test_row_bands_through_io_binding_equal_the_tiled_restore():
    """The CUDA path (whole-row bands, IO binding into the output rows) run on the CPU."""
    srgb8 = random_carrier(h=97, w=130)
    blob = fp32_blob(trained_like_model(), srgb8, gated=True)
    session = RestoreSession("cpu", tile=40)  # 40 * 40 // 130 = 12 rows a band
    expected = session.restore(srgb8, blob)
    out = np.full(srgb8.shape, np.nan, np.float32)
    tops = [top for top, rows in session.row_bands(srgb8, image_feeds(blob, 97, 130), out)]
    assert tops == list(range(0, 97, 12))
    np.testing.assert_array_equal(out, expected)


def test_restore_on_device_keeps_the_result_on_the_pixels_device():
    ort = pytest.importorskip("onnxruntime")
    srgb8 = random_carrier()
    blob = fp32_blob(trained_like_model(), srgb8, gated=True)
    session = RestoreSession("cpu")
    value = session.restore_on_device(ort.OrtValue.ortvalue_from_numpy(srgb8), blob)
    assert value.device_name().lower() == "cpu" and value.shape() == list(srgb8.shape)
    np.testing.assert_array_equal(value.numpy(), session.restore(srgb8, blob))


@pytest.mark.gpu
@pytest.mark.parametrize("gated", [False, True])
def test_cuda_provider_matches_cpu(gated):
    from gamut_onnx.runtime import cuda_usable

    if not cuda_usable():
        pytest.skip("onnxruntime CUDA provider not usable here")
    ort = pytest.importorskip("onnxruntime")
    srgb8 = random_carrier()
    blob = fp32_blob(trained_like_model(), srgb8, gated=gated)
    cpu = RestoreSession("cpu").restore(srgb8, blob)
    cuda = RestoreSession("cuda")
    assert np.abs(cpu - cuda.restore(srgb8, blob)).max() < 1e-4
    on_gpu = cuda.restore_on_device(ort.OrtValue.ortvalue_from_numpy(srgb8, "cuda", 0), blob)
    assert np.abs(cpu - on_gpu.numpy()).max() < 1e-4


def test_random_weights_blob_shapes_are_what_the_graph_expects():
    shapes = weight_shapes(32, 12)
    assert shapes[0] == (120, 32)
    blob = Blob(
        weights=[np.zeros(s, np.float32) for s in shapes],
        width=32,
        octaves=12,
        image_width=5,
        image_height=4,
        pixel_digest=pixel_digest(np.zeros((4, 5, 3))),
    )
    white = np.full((4, 5, 3), 255, np.uint8)
    out = RestoreSession("cpu").restore(white, dataclasses.replace(blob))
    # Zero weights restore the expansion itself: white through the protocol's back matrix.
    np.testing.assert_array_equal(out, srgb8_to_prophoto(white))
    np.testing.assert_allclose(out, 1.0, atol=1e-4)


def test_no_blob_restores_the_reference_expansion():
    """A carrier without a model goes through the same graph with no pixel selected."""
    srgb8 = random_carrier(33, 45)
    for tile in (16, 256):
        out = RestoreSession("cpu", tile=tile).restore(srgb8, None)
        np.testing.assert_array_equal(out, srgb8_to_prophoto(srgb8))


def test_pinned_arrays_fall_back_to_ordinary_ones_without_cuda():
    from gamut_onnx.runtime.pinned import _cudart, is_pinned, pinned_empty

    array = pinned_empty((5, 7, 3), np.float32)
    assert array.shape == (5, 7, 3) and array.dtype == np.float32 and array.flags.c_contiguous
    array[:] = 1.0  # writable
    assert is_pinned(array) == (_cudart() is not None)


@pytest.mark.gpu
def test_cuda_restores_context_blobs_and_maps_like_the_cpu():
    from gamut_onnx.container.carrier import read_carrier
    from gamut_onnx.runtime import cuda_usable
    from gamut_onnx.runtime.decode import checked

    if not cuda_usable():
        pytest.skip("onnxruntime CUDA provider not usable here")
    vectors = GRAPH_PATH.parents[3] / "tests" / "conformance" / "vectors"
    carrier = read_carrier(vectors / "png_residual_map.png")  # a context blob with a map
    blob, residual_map, _ = checked(carrier, strict=False)
    assert blob.context and residual_map is not None
    cpu = RestoreSession("cpu").restore(carrier.srgb8, blob, residual_map=residual_map)
    cuda = RestoreSession("cuda").restore(carrier.srgb8, blob, residual_map=residual_map)
    assert np.abs(cpu - cuda).max() < 1e-4
