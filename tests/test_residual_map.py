"""The residual map (container/ and exporters/residual_map.py, the restore graph's map branch,
blob-format.md section 9): its bytes, its budget, the encoder's choice, the decoder's use of
it, and what a damaged or foreign map does."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import check_ok, run_cli

from gamut_onnx.container import jpeg, png
from gamut_onnx.container import residual_map as fmt
from gamut_onnx.container.carrier import PNG_MAP_CHUNK, decode_carrier
from gamut_onnx.errors import GamutError
from gamut_onnx.exporters import residual_map as rm

pytest.importorskip("imagecodecs")
DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"
ITALY = DEV / "pdfboxg2d_webkit_Italy-P3.tif"  # 600x400, 44 % OG: the map pays there


def noisy_error(h=48, w=64, seed=0):
    """(error, gate, carrier codes) of a random scene."""
    rng = np.random.default_rng(seed)
    error = rng.normal(0, 0.02, (h, w, 3)).astype(np.float32)
    gate = rng.random((h, w)) < 0.5
    codes = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return error[gate], gate, codes


def test_pack_unpack_and_header_checks():
    error, gate, codes = noisy_error()
    m = rm.code_map(error, gate, 50, b"blob", codes)
    assert fmt.unpack_map(rm.pack_map(m)) == m
    fmt.check_map(m, 48, 64, b"blob")
    packed = rm.pack_map(m)
    for bad, message in [
        (packed[:10], "too short"),
        (b"XXXX" + packed[4:], "GMRM"),
        (packed[:4] + b"\x02" + packed[5:], "version 2"),
        (rm.pack_map(dataclasses.replace(m, weight_power=2.0)), "power 2.0"),
    ]:
        with pytest.raises(GamutError, match=message):
            fmt.unpack_map(bad)
    with pytest.raises(GamutError, match="64x48, the image 64x40"):
        fmt.check_map(m, 40, 64, b"blob")
    with pytest.raises(GamutError, match="another model"):
        fmt.check_map(m, 48, 64, b"other blob")
    with pytest.raises(GamutError, match="is not an AVIF image"):
        fmt.check_map(dataclasses.replace(m, avif=b"\x00" * 40), 48, 64, b"blob")
    error65, gate65, codes65 = noisy_error(48, 65)
    other = rm.code_map(error65, gate65, 50, b"blob", codes65)  # its AVIF says 65 wide
    with pytest.raises(GamutError, match="not av01 64x48"):
        fmt.check_map(dataclasses.replace(other, width=64), 48, 64, b"blob")


@pytest.mark.parametrize("power", [0.0, 0.5])
def test_coded_samples_follow_the_error_and_stay_neutral_outside_the_gate(power):
    error, gate, codes = noisy_error()
    m = rm.code_map(error, gate, 95, b"blob", codes, power)
    restored = np.full(codes.shape, 0.5, np.float32)
    rm.correct(restored, rm.map_samples(m), gate, m, codes, 2)
    assert np.abs(restored[gate] - 0.5 - error).mean() < 0.1 * np.abs(error).mean()
    assert (restored[~gate] == 0.5).all()  # the gate, not the coded zeros, keeps them


def test_weights_put_the_coding_noise_on_bright_pixels():
    """The same noise-like error at dark and bright pixels: weighted coding gives the dark
    ones less of the coding error than unweighted coding does, at the same quality."""
    error, gate, codes = noisy_error(64, 64, seed=1)
    codes[:, :32], codes[:, 32:] = 8, 250  # left half near black, right half near white
    dark = np.zeros(gate.shape, bool)
    dark[:, :32] = True
    left = {}
    for power in (0.0, 0.5):
        m = rm.code_map(error, gate, 40, b"b", codes, power)
        restored = np.full(codes.shape, 0.5, np.float32)
        rm.correct(restored, rm.map_samples(m), gate, m, codes, 2)
        miss = np.abs(restored[gate] - 0.5 - error).mean(-1)
        left[power] = miss[dark[gate]].mean() / miss[~dark[gate]].mean()
    assert left[0.5] < 0.5 * left[0.0]


def test_largest_within_the_budget():
    error, gate, codes = noisy_error(96, 128)
    sizes = {q: len(rm.pack_map(rm.code_map(error, gate, q, b"b", codes))) for q in rm.QUALITIES}
    budget = sorted(sizes.values())[len(sizes) // 2]
    m, quality = rm.largest_within(error, gate, b"b", codes, budget)
    assert len(rm.pack_map(m)) <= budget
    assert all(size > budget for q, size in sizes.items() if q > quality)
    above = rm.pack_map(rm.code_map(error, gate, quality + 1, b"b", codes))
    assert len(above) > budget  # the levels between the coarse steps are searched too
    assert rm.largest_within(error, gate, b"b", codes, min(sizes.values()) - 1) is None
    assert rm.map_budget(10_000_000) == rm.MAX_EXTRA_BYTES and rm.map_budget(300_000) == 3000


@pytest.fixture(scope="module")
def italy(tmp_path_factory):
    if not ITALY.exists():
        pytest.skip("../shared/data/dev not present")
    folder = tmp_path_factory.mktemp("map")
    out = {}
    for suffix in ("png", "jpg"):
        carrier = folder / f"italy.{suffix}"
        # The map alone: its report's scores are then what a decoder gives with and without it
        # (a lattice record, test_lattice.py, would move both).
        result = check_ok(
            run_cli("encode", ITALY, "-o", carrier, "--input-space", "prophoto",
                    "--device", "cpu", "--json", "--no-lattice")
        )  # fmt: skip
        out[suffix] = (carrier, json.loads(result.stdout))
    return folder, out


@pytest.mark.parametrize("suffix,gain", [("png", 1.0), ("jpg", 0.2)])
def test_encoder_keeps_a_map_that_pays_and_decode_delivers_its_score(italy, suffix, gain):
    from gamut_onnx.codec import decode
    from gamut_onnx.colour import out_of_gamut_mask
    from gamut_onnx.metrics import psnr
    from gamut_onnx.read import read_prophoto

    carrier, report = italy[1][suffix]
    chosen = report["residual_map"]
    assert chosen["chosen"], chosen
    assert chosen["bytes"] <= chosen["budget"] <= report["file_bytes"] // 100
    # +2.8 dB OG on the PNG here; +0.5 on the JPEG, whose own noise (1 % of a smaller file)
    assert chosen["psnr_og"] > chosen["psnr_og_without"] + gain
    truth = read_prophoto(ITALY, untagged="prophoto").prophoto
    data = carrier.read_bytes()
    restored = decode(decode_carrier(data, carrier.name), provider="cpu")
    assert restored.residual_map and not restored.warnings
    assert psnr(restored.prophoto, truth) == pytest.approx(report["psnr"], abs=1e-6)
    assert psnr(restored.prophoto, truth, out_of_gamut_mask(truth)) == pytest.approx(
        report["psnr_og"], abs=1e-6
    )
    bare = strip_map(data)  # what gamut-onnx 0.x delivers
    without = decode(decode_carrier(bare, carrier.name), provider="cpu")
    assert not without.residual_map
    assert psnr(without.prophoto, truth) == pytest.approx(chosen["psnr_without"], abs=1e-6)


def strip_map(data: bytes) -> bytes:
    if data.startswith(png.PNG_SIGNATURE):
        return replace_map_chunks(data, [])
    found = decode_carrier(data)
    return jpeg.add_segments(data, jpeg.jpeg_metadata(data)[0], found.blob, None)


def replace_map_chunks(data: bytes, maps: list[bytes]) -> bytes:
    kept = b"".join(
        png.make_chunk(kind, body) for kind, body in png.iter_chunks(data) if kind != PNG_MAP_CHUNK
    )
    body = png.PNG_SIGNATURE + kept
    return png.insert_chunks(body, [(PNG_MAP_CHUNK, m) for m in maps]) if maps else body


def test_damaged_or_foreign_maps_warn_and_restore_without(italy):
    from gamut_onnx.codec import decode

    folder, out = italy
    carrier, _ = out["png"]
    data = carrier.read_bytes()
    packed = decode_carrier(data).residual_map
    plain = decode(decode_carrier(strip_map(data)), provider="cpu").prophoto
    truncated = packed[: len(packed) // 2]
    foreign = rm.pack_map(dataclasses.replace(fmt.unpack_map(packed), blob_digest=b"\x00" * 8))
    for bad, message in [(truncated, "changed after encoding"), (foreign, "another model")]:
        damaged = replace_map_chunks(data, [bad])
        result = decode(decode_carrier(damaged), provider="cpu")
        assert not result.residual_map
        assert len(result.warnings) == 1 and "residual map ignored" in result.warnings[0]
        assert re.search(message, result.warnings[0]), result.warnings[0]
        assert "\n" not in result.warnings[0]
        assert np.array_equal(result.prophoto, plain)
        path = folder / "damaged.png"
        path.write_bytes(damaged)
        strict = run_cli("decode", path, "-o", folder / "out.tif", "--strict")
        assert strict.returncode != 0 and "Traceback" not in strict.stderr
        assert "residual map ignored" in strict.stderr and not (folder / "out.tif").exists()
    twice = decode_carrier(replace_map_chunks(data, [packed, packed]))  # only the map is lost
    assert twice.residual_map is None and "2 gmRm chunks" in twice.notes[0]


def test_cli_refuses_an_explicit_map_on_tiff_before_reading(tmp_path):
    from conftest import FAST_FIT, make_source

    source = make_source(tmp_path / "s.tif")
    result = run_cli("encode", source, "-o", tmp_path / "c.tif", "--residual-map")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "needs a PNG or JPEG carrier, not TIFF" in result.stderr
    assert not (tmp_path / "c.tif").exists()
    # the preset's map is skipped on TIFF, and said why
    result = check_ok(run_cli("encode", source, "-o", tmp_path / "c.tif", *FAST_FIT, "--json"))
    assert json.loads(result.stdout)["residual_map"] == {"chosen": False, "why": "TIFF carrier"}


def test_small_files_get_no_map_and_say_why(tmp_path):
    from conftest import FAST_FIT, make_source

    source = make_source(tmp_path / "s.tif")
    out = tmp_path / "c.png"
    chosen = json.loads(check_ok(run_cli("encode", source, "-o", out, *FAST_FIT, "--json")).stdout)
    assert chosen["residual_map"]["chosen"] is False
    assert "budget under" in chosen["residual_map"]["why"]
    assert decode_carrier(out.read_bytes()).residual_map is None
    args = ("-o", tmp_path / "p.png", *FAST_FIT, "--no-residual-map", "--json")
    plain = check_ok(run_cli("encode", source, *args))
    assert json.loads(plain.stdout)["residual_map"] is None


def test_which_recipes_add_a_map():
    from gamut_onnx.fit import PRESETS

    assert {name for name, c in PRESETS.items() if c.residual_map} == {"fast", "default", "best"}


def test_decode_only_installs_apply_maps_through_pillow(italy):
    """Pillow's libavif decodes the map when imagecodecs is not installed (the decode-only
    `[cpu]` install); with neither, the decode says what to install and restores without."""
    folder, out = italy
    carrier, _ = out["png"]
    result = check_ok(
        run_cli("decode", carrier, "-o", folder / "p.tif", "--json", block=("imagecodecs",))
    )
    report = json.loads(result.stdout)
    assert report["restored"] and report["residual_map"] and not report["warnings"]


def test_without_an_avif_decoder_the_map_is_ignored_with_a_warning(italy, monkeypatch):
    import sys

    from gamut_onnx.codec import decode

    monkeypatch.setattr(fmt, "_pillow_avif", lambda: False)
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    data = italy[1]["png"][0].read_bytes()
    result = decode(decode_carrier(data), provider="cpu")
    assert not result.residual_map
    assert result.warnings == [
        "residual map ignored: residual maps need a Pillow with AVIF support or imagecodecs: "
        "pip install 'gamut-onnx[codecs]'"
    ]


def test_flipped_bytes_in_a_map_never_escape_as_anything_but_one_line(italy):
    """Sixty maps with random bytes changed (CRC recomputed, so the PNG layer passes
    them): the map digest the blob records refuses every one, in one line, and the restore
    goes on without it."""
    from gamut_onnx.codec import decode

    _, out = italy
    data = out["png"][0].read_bytes()
    packed = decode_carrier(data).residual_map
    rng = np.random.default_rng(7)
    outcomes = set()
    for _ in range(60):
        bad = bytearray(packed)
        for pos in rng.integers(0, len(bad), rng.integers(1, 4)):
            bad[pos] = rng.integers(0, 256)
        result = decode(decode_carrier(replace_map_chunks(data, [bytes(bad)])), provider="cpu")
        assert all("\n" not in w for w in result.warnings)
        assert np.isfinite(result.prophoto).all() and result.prophoto.min() >= 0
        outcomes.add(result.residual_map)
    assert outcomes == {False}


@pytest.mark.parametrize("gated", [False, True])
def test_the_encoders_estimate_equals_the_restore_graphs_map(gated):
    """The encoder scores a map with numpy at the gated pixels (exporters/residual_map.py's
    `correct`); the restore graph applies it to the real restore: equal within 1e-6."""
    from conftest import fp32_blob, trained_like_model

    from gamut_onnx.colour import prophoto_to_srgb8
    from gamut_onnx.container.residual_map import MapSamples
    from gamut_onnx.runtime import RestoreSession
    from gamut_onnx.sample import synthetic_scene

    srgb8 = prophoto_to_srgb8(synthetic_scene(90, 70, 3))
    blob = fp32_blob(trained_like_model(), srgb8, gated=gated)
    session = RestoreSession("cpu", tile=32)
    plain = session.restore(srgb8, blob)
    gate = rm.gate_of(srgb8, blob)
    error = np.random.default_rng(2).normal(0, 0.01, (int(gate.sum()), 3)).astype(np.float32)
    m = rm.code_map(error, gate, 80, b"blob", srgb8, 0.5)
    samples = fmt.map_samples(m)
    expected = plain.copy()
    rm.correct(expected, samples, gate, m, srgb8, blob.carrier_transform)
    got = session.restore(srgb8, blob, residual_map=MapSamples(m, samples))
    assert np.abs(got - expected).max() < 1e-6
    assert np.abs(got - plain).max() > 1e-3  # the map did something


@pytest.mark.parametrize("gated", [False, True])
def test_the_kept_restore_is_the_graphs_restore_bit_for_bit(gated):
    """The encoder keeps a restore as its gated pixels' values (scoring.GatedRestore) and
    recomputes the rest as the plain expansion: every pixel equals the graph's own output, and
    the per-pixel error equals metrics.squared_error's."""
    from conftest import fp32_blob, trained_like_model

    from gamut_onnx.colour import prophoto_to_srgb8, srgb8_to_prophoto
    from gamut_onnx.metrics import squared_error
    from gamut_onnx.runtime import RestoreSession
    from gamut_onnx.sample import synthetic_scene
    from gamut_onnx.scoring import restore_and_error

    truth = synthetic_scene(90, 70, 3)
    srgb8 = prophoto_to_srgb8(truth)
    blob = fp32_blob(trained_like_model(), srgb8, gated=gated)
    session = RestoreSession("cpu", tile=32)
    graph = session.restore(srgb8, blob)
    gate = rm.gate_of(srgb8, blob)
    error, kept = restore_and_error(session.bands(srgb8, blob), truth, gate, blob)
    whole = srgb8_to_prophoto(srgb8, kept.transform)  # the plain expansion, then the values
    whole[kept.gate] = kept.values
    np.testing.assert_array_equal(whole, graph)
    np.testing.assert_array_equal(error, squared_error(graph, truth))
    assert 0 < gate.sum() < gate.size if gated else gate.all()


def test_a_large_map_is_searched_on_a_probe_with_few_full_encodes(monkeypatch):
    # 2,112 rows: the probe path. A structured map: smooth fields, noisier in some bands.
    h, w = 2112, 160
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:h, 0:w] / 64.0
    field = np.stack([np.sin(x + c) * np.cos(y / 3 + c) for c in (0.0, 1.0, 2.0)], -1) * 0.01
    field += rng.normal(0, 0.004, field.shape) * (np.sin(y / 5) > 0)[..., None]
    gate = np.hypot(np.sin(x), np.cos(y / 2)) > 0.6
    codes = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    error = field[gate].astype(np.float32)
    samples, _ = rm.coded_samples(error, gate, codes, rm.WEIGHT_POWER)
    sizes = {}

    def exact(budget):
        fits = [q for q in range(rm.LOWEST_QUALITY, 101) if size(q) + rm.HEADER_BYTES <= budget]
        return max(fits, default=None)

    def size(q):
        if q not in sizes:
            sizes[q] = len(rm.avif_of(samples, q))
        return sizes[q]

    full_encodes = []
    original = rm.avif_of
    monkeypatch.setattr(
        rm, "avif_of", lambda a, q: (full_encodes.append(q) if a.shape[0] == h else None)
        or original(a, q)
    )  # fmt: skip
    for budget in (size(20) + 300, size(45) + 300, size(80) + 300):
        best = exact(budget)
        full_encodes.clear()
        found = rm.largest_within(error, gate, b"b", codes, budget)
        assert found is not None and len(rm.pack_map(found[0])) <= budget
        assert 0 <= best - found[1] <= 2, (budget, best, found[1])
        assert len(full_encodes) <= rm.MAX_FULL_ENCODES, full_encodes


def test_qualities_share_bytes_exactly_when_they_share_a_quantizer():
    """The search encodes each quantizer once (residual_map.quantizer_of); that holds only while
    libavif maps qualities to quantizers this way."""
    rng = np.random.default_rng(3)
    samples = np.clip(rng.normal(128, 12, (48, 64, 3)), 0, 255).astype(np.uint8)
    encoded = [rm.avif_of(samples, q) for q in range(101)]
    for q in range(100):
        same_quantizer = rm.quantizer_of(q) == rm.quantizer_of(q + 1)
        assert (encoded[q] == encoded[q + 1]) == same_quantizer, q


def test_gated_error_scores_as_the_whole_error_image():
    """The map keeps a restore's error as its gated pixels and two sums (scoring.GatedError):
    its PSNRs are the whole image's, before and after the gated errors change."""
    from gamut_onnx.metrics import psnr_of_error
    from gamut_onnx.scoring import GatedError

    rng = np.random.default_rng(7)
    error = rng.gamma(0.5, 1e-5, (300, 200)).astype(np.float32)
    gate, og = rng.random((300, 200)) < 0.2, rng.random((300, 200)) < 0.3
    errors = GatedError.of(error, gate, og)
    assert errors.gated.nbytes < error.nbytes / 4
    expected = {"psnr": psnr_of_error(error), "psnr_og": psnr_of_error(error, og)}
    assert errors.psnr() == pytest.approx(expected, abs=1e-9)
    changed = errors.gated / 3
    error[gate] = changed
    expected = {"psnr": psnr_of_error(error), "psnr_og": psnr_of_error(error, og)}
    assert errors.replaced(changed).psnr() == pytest.approx(expected, abs=1e-9)
    none_og = GatedError.of(error, gate, np.zeros_like(og)).psnr()
    assert np.isnan(none_og["psnr_og"]) and none_og["psnr"] == pytest.approx(expected["psnr"])
