"""The source's code lattice (blob record 131): the graph's snap against its numpy twin and a
brute-force nearest code, the record's checks, detection in deep files, and the encoder's
choice delivered by the real decoder."""

from __future__ import annotations

import dataclasses
import struct

import numpy as np
import onnxruntime as ort
import pytest

from gamut_onnx.blob import pack_blob, unpack_blob
from gamut_onnx.colour import srgb8_to_prophoto
from gamut_onnx.colour.lattice import (
    MODE_SELECTED,
    MODE_UNSELECTED,
    buckets_ok,
    pack_lattice,
    parse_lattice,
    snap,
    thresholds,
    times,
)
from gamut_onnx.colour.spaces import NAMED_SPACES
from gamut_onnx.errors import GamutError
from gamut_onnx.exporters.lattice import detected_lattice, fitted_codes, named_lattice
from gamut_onnx.runtime.feeds import UNUSED_SAMPLES, image_feeds, lattice_feeds
from gamut_onnx.runtime.graphs import GRAPHS

LATTICES = [("display-p3", 256), ("adobe-rgb", 256), ("prophoto", 256), ("rec2020", 1024)]


def lattice_of(name: str, levels: int = 256):
    lattice = named_lattice(NAMED_SPACES[name], levels)
    assert lattice is not None and buckets_ok(lattice.codes)
    return lattice


@pytest.mark.parametrize("name,levels", LATTICES)
def test_snap_finds_the_nearest_code(name, levels):
    lattice = lattice_of(name, levels)
    values = np.random.default_rng(levels).random((3, 100_000), dtype=np.float32)
    source = np.clip(times(lattice.to_source, values), 0, 1)
    mids = thresholds(lattice.codes)
    nearest = np.stack([np.searchsorted(mids[c], source[c]) for c in range(3)])
    linear = np.take_along_axis(np.broadcast_to(lattice.codes, (3, levels)), nearest, axis=1)
    expected = np.clip(times(lattice.to_prophoto, linear), 0, 1)
    np.testing.assert_array_equal(snap(values, lattice), expected)


def graph_restore(srgb8: np.ndarray, feeds: dict) -> np.ndarray:
    session = ort.InferenceSession(str(GRAPHS["restore"]), providers=["CPUExecutionProvider"])
    h, w = srgb8.shape[:2]
    inputs = {**image_feeds(None, h, w), **feeds, "srgb8": srgb8}
    inputs |= {"origin": np.zeros(2, np.int64), "map_samples": UNUSED_SAMPLES}
    return session.run(["prophoto"], inputs)[0]


@pytest.mark.parametrize("name,levels", LATTICES)
def test_graph_snaps_bit_for_bit_like_the_twin(name, levels):
    lattice = lattice_of(name, levels).with_mode(MODE_UNSELECTED)
    srgb8 = np.random.default_rng(7).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    blob = type("B", (), {"lattice": lattice})()
    restored = graph_restore(srgb8, lattice_feeds(blob))
    plain = srgb8_to_prophoto(srgb8)
    expected = snap(plain.reshape(-1, 3).T, lattice).T.reshape(plain.shape)
    np.testing.assert_array_equal(restored, expected)
    assert np.abs(restored - plain).max() > 1e-4  # it did move colours


def test_graph_without_a_lattice_is_the_plain_expansion():
    srgb8 = np.random.default_rng(8).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    np.testing.assert_array_equal(graph_restore(srgb8, {}), srgb8_to_prophoto(srgb8))


def test_record_round_trip_and_every_rejection():
    lattice = lattice_of("display-p3")
    payload = pack_lattice(lattice)
    back = parse_lattice(payload)
    np.testing.assert_array_equal(back.codes, lattice.codes)
    np.testing.assert_array_equal(back.to_source, lattice.to_source)
    bad = {
        payload[:3]: "truncated",
        bytes([0]) + payload[1:]: "mode 0",
        payload[:1] + bytes([2]) + payload[2:]: "2 curves of 256 codes",
        payload[:-1]: "its header says",
        payload[:4] + struct.pack("<f", np.inf) + payload[8:]: "NaN or infinity",
        payload[:4] + struct.pack("<f", -17.0) + payload[8:]: "exceed",
        payload[:-4] + struct.pack("<f", 1.5): "strictly increasing",
    }
    for data, fragment in bad.items():
        with pytest.raises(GamutError, match=fragment):
            parse_lattice(data)


def test_blob_carries_the_record_and_rejects_a_second(tmp_path):
    from gamut_onnx.blob import Blob, weight_shapes

    weights = [np.zeros(s, np.float32) for s in weight_shapes(16, 1)]
    blob = Blob(weights, 16, 1, 8, 8, bytes(32), lattice=lattice_of("adobe-rgb").with_mode(2))
    data = pack_blob(blob)
    assert unpack_blob(data).lattice.mode == MODE_SELECTED
    import struct
    import zlib

    record = pack_lattice(blob.lattice)
    body = data[:-4] + struct.pack("<BI", 131, len(record)) + record
    twice = body + struct.pack("<I", zlib.crc32(body))
    with pytest.raises(GamutError, match="two lattice records"):
        unpack_blob(twice)


def on_lattice(lattice, h=96, w=128, seed=0, gain=1.0):
    """Linear ProPhoto colours of random source codes, with the code values scaled by `gain`
    (what a converter's slightly different curve does)."""
    codes = np.random.default_rng(seed).integers(0, 256, (3, h * w))
    linear = np.take_along_axis(np.broadcast_to(lattice.codes, (3, 256)), codes, 1) * gain
    return np.clip(times(lattice.to_prophoto, linear.astype(np.float32)), 0, 1).T.reshape(h, w, 3)


def test_deep_files_holding_8_bit_colours_are_detected():
    p3, adobe = lattice_of("display-p3"), lattice_of("adobe-rgb")
    found = detected_lattice(on_lattice(adobe, gain=np.float32(0.9997)), None)
    assert found is not None and found.name.startswith("adobe-rgb")
    truth = on_lattice(p3, seed=1)
    found = detected_lattice(np.round(truth * 65535) / 65535, None)  # through 16-bit codes
    assert found is not None and found.name.startswith("display-p3")
    smooth = np.random.default_rng(2).random((96, 128, 3), dtype=np.float32)
    assert detected_lattice(smooth, None) is None


def test_measured_codes_undo_a_converters_curve():
    p3 = lattice_of("display-p3")
    truth = on_lattice(p3, seed=3, gain=np.float32(0.9997)).reshape(-1, 3).T
    before = np.sqrt(np.mean((snap(truth, p3) - truth) ** 2))
    fitted = fitted_codes(truth.T, p3)
    assert fitted.codes.shape == (1, 256)  # one curve, the gains in the matrices
    assert np.sqrt(np.mean((snap(truth, fitted) - truth) ** 2)) < before / 10


def test_encoder_chooses_the_lattice_and_decode_delivers_its_score():
    from gamut_onnx.codec import decode, encode
    from gamut_onnx.colour.protocol import out_of_gamut_mask
    from gamut_onnx.container.carrier import decode_carrier
    from gamut_onnx.fit import preset
    from gamut_onnx.metrics import psnr
    from gamut_onnx.sample import synthetic_scene

    p3 = lattice_of("display-p3")
    scene = synthetic_scene(96, 64, 5).reshape(-1, 3).T  # a scene, then onto P3's 8-bit codes
    truth = snap(scene, p3).T.reshape(64, 96, 3)
    config = dataclasses.replace(preset("fast"), steps=60)
    result = encode(truth, config=config, device="cpu", source=NAMED_SPACES["display-p3"],
                    source_levels=256)  # fmt: skip
    chosen = result.lattice
    assert chosen["chosen"] and chosen["mode"] & MODE_UNSELECTED, chosen
    assert chosen["psnr"] > chosen["psnr_without"] + 1
    restored = decode(decode_carrier(result.data), provider="cpu").prophoto
    assert psnr(restored, truth) == pytest.approx(result.psnr, abs=1e-6)
    og = out_of_gamut_mask(truth)
    assert psnr(restored, truth, og) == pytest.approx(result.psnr_og, abs=1e-6)
    exact = np.abs(restored[~og] - truth[~og]).max(axis=-1) < 1e-6
    assert exact.mean() > 0.97, exact.mean()  # in-gamut colours come back exact


def test_no_lattice_for_deep_sources_or_when_switched_off():
    from gamut_onnx.codec import prepare
    from gamut_onnx.fit import preset

    smooth = np.random.default_rng(4).random((32, 48, 3), dtype=np.float32)
    prep = prepare(smooth, config=preset("default"), source=NAMED_SPACES["prophoto"],
                   source_levels=65536)  # fmt: skip
    assert prep.lattice is None
    on = on_lattice(lattice_of("display-p3"), 32, 48)
    off = dataclasses.replace(preset("default"), lattice=False)
    assert prepare(on, config=off, source_levels=256).lattice is None
    assert prepare(on, config=preset("default"), source=NAMED_SPACES["display-p3"],
                   source_levels=256).lattice is not None  # fmt: skip


def test_on_small_files_the_lattice_never_costs_against_a_full_map():
    """The record's bytes come out of the residual map's budget: on a small file the encoder
    also scores the whole budget's map and keeps the lattice only if the whole image gains and
    OG pixels lose at most 0.1 dB, so a lattice encode is never worse than one without."""
    from gamut_onnx.codec import encode
    from gamut_onnx.fit import preset
    from gamut_onnx.sample import synthetic_scene

    p3 = lattice_of("display-p3")
    scene = synthetic_scene(256, 192, 11)
    noisy = scene + np.random.default_rng(3).normal(0, 0.01, scene.shape).astype(np.float32)
    truth = snap(np.clip(noisy, 0, 1).reshape(-1, 3).T, p3).T.reshape(scene.shape)
    runs = {}
    for lattice in (True, False):
        config = dataclasses.replace(preset("fast"), steps=60, lattice=lattice)
        runs[lattice] = encode(truth, config=config, device="cpu", source_levels=256,
                               source=NAMED_SPACES["display-p3"])  # fmt: skip
    with_it, without = runs[True], runs[False]
    assert with_it.residual_map["chosen"] and without.residual_map["chosen"]
    assert with_it.psnr >= without.psnr - 1e-9
    assert with_it.psnr_og >= without.psnr_og - 0.1
    if not with_it.lattice["chosen"]:
        assert with_it.data == without.data  # exactly the encode without it


def test_the_choices_sums_are_each_kind_of_pixels_squared_errors(monkeypatch):
    """The sums the choice compares, taken kind by kind (the unselected pixels beside the map
    search, on one thread or every core alike), equal a direct sum over every pixel's error."""
    from gamut_onnx.colour import prophoto_to_srgb8
    from gamut_onnx.colour.protocol import CURRENT_TRANSFORM, out_of_gamut_mask
    from gamut_onnx.exporters import lattice_sums
    from gamut_onnx.sample import synthetic_scene

    monkeypatch.setattr(lattice_sums, "BAND", 700)  # several bands, the last one partial
    lattice = lattice_of("display-p3")
    truth = synthetic_scene(61, 47, 2)
    seen = prophoto_to_srgb8(truth)
    og = out_of_gamut_mask(truth)
    gate = (seen.max(axis=-1) == 255) | (seen.min(axis=-1) == 0)
    assert 0 < gate.sum() < gate.size
    restored = srgb8_to_prophoto(seen)
    restored[gate] = np.clip(truth[gate] + 0.003, 0, 1)  # as an MLP might leave them
    args = seen, truth, og, gate, CURRENT_TRANSFORM, lattice
    unselected = lattice_sums.unselected_sums(*args)
    assert np.array_equal(unselected, lattice_sums.unselected_sums(*args, parallel=False))
    selected = lattice_sums.selected_sums(restored[gate], truth[gate], og[gate], lattice)
    got = lattice_sums.class_sums(unselected, selected)

    planes, target = restored.reshape(-1, 3).T, truth.reshape(-1, 3).T
    kind, og = gate.reshape(-1), og.reshape(-1)
    for k, estimate in enumerate((planes, snap(planes, lattice))):
        in_source = lattice.source_linear(estimate) - lattice.source_linear(target)
        for space, diff in enumerate((estimate - target, in_source)):
            error = (diff.astype(np.float64) ** 2).sum(axis=0)
            for selected_kind in (0, 1):
                pixels = kind == selected_kind
                want = [error[pixels].sum(), error[pixels & og].sum()]
                np.testing.assert_allclose(got[k, selected_kind, :, space], want, rtol=1e-10)
