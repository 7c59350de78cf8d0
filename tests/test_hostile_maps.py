"""Hostile residual maps (blob-format.md section 9): AVIFs outside the map profile, coded
sizes that disagree with `ispe`, edited maps under the blob's map digest, and damaged map
chunks and segments (tests/conformance/hostile_maps.py builds them; the conformance vectors
carry them to every runtime). Each is ignored with one warning, the restore goes on without
the map, and `--strict` turns the warning into a one-line error."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imagecodecs")
sys.path.insert(0, str(Path(__file__).resolve().parent / "conformance"))
from hostile_maps import (  # noqa: E402
    JPEG_DAMAGE,
    OUTSIDE_THE_PROFILE,
    VECTORS,
    bad_crc,
    map_avif,
    map_segments,
    map_vectors,
    sealed_png,
    with_chunks,
)

from gamut_onnx.container import png  # noqa: E402
from gamut_onnx.container.carrier import (  # noqa: E402
    LEGACY_PNG_MAP_CHUNK,
    PNG_MAP_CHUNK,
    decode_carrier,
)
from gamut_onnx.container.residual_map import pack_map, unpack_map  # noqa: E402
from gamut_onnx.errors import GamutError  # noqa: E402
from gamut_onnx.runtime.decode import MAP_MISSING, decode  # noqa: E402


def restored(data: bytes, **options):
    return decode(decode_carrier(data), provider="cpu", **options)


def assert_ignored(data: bytes, fragment: str, plain: np.ndarray) -> None:
    result = restored(data)
    assert not result.residual_map
    assert len(result.warnings) == 1 and fragment in result.warnings[0], result.warnings
    assert "\n" not in result.warnings[0]
    np.testing.assert_array_equal(result.prophoto, plain)
    with pytest.raises(GamutError, match="--strict") as raised:
        restored(data, strict=True)
    assert "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def plain() -> np.ndarray:
    return restored(with_chunks(sealed_png(), {PNG_MAP_CHUNK: []})).prophoto


def test_a_sealed_profile_map_is_applied(plain):
    result = restored(sealed_png(map_avif(np.zeros((64, 96, 3), np.uint8) + 140)))
    assert result.residual_map and result.warnings == []
    assert np.abs(result.prophoto - plain).max() > 0


@pytest.mark.parametrize("case", sorted(OUTSIDE_THE_PROFILE))
def test_maps_outside_the_profile_are_ignored(case, plain):
    make, fragment = OUTSIDE_THE_PROFILE[case]
    assert_ignored(sealed_png(make()), fragment, plain)


@pytest.mark.parametrize("offset, what", [(16, "scale"), (20, "weight power"), (100, "AV1")])
def test_an_edited_map_breaks_the_digest_the_blob_records(offset, what, plain):
    def edit(packed: bytes) -> bytes:
        return packed[:offset] + bytes([packed[offset] ^ 0x10]) + packed[offset + 1 :]

    assert_ignored(sealed_png(change=edit), "changed after encoding", plain)


def test_a_removed_map_is_said_and_the_restore_goes_on(plain):
    result = restored(with_chunks(sealed_png(), {PNG_MAP_CHUNK: []}))
    assert result.warnings == [MAP_MISSING] and not result.residual_map


def test_reserved_header_bytes_are_refused():
    packed = bytearray(pack_map(unpack_map(decode_carrier(sealed_png()).residual_map)))
    packed[6] = 1
    with pytest.raises(GamutError, match="reserved 1"):
        unpack_map(bytes(packed))


def test_damaged_png_map_chunks_only_lose_the_map(plain):
    data = sealed_png()
    assert_ignored(bad_crc(data), "bad CRC", plain)
    packed = decode_carrier(data).residual_map
    assert_ignored(with_chunks(data, {PNG_MAP_CHUNK: [packed, packed]}), "2 gmRm chunks", plain)
    both = png.insert_chunks(data, [(LEGACY_PNG_MAP_CHUNK, packed)])  # the old and new name
    assert_ignored(both, "both gmRM and gmRm", plain)


@pytest.mark.parametrize("name, make, fragment", JPEG_DAMAGE)
def test_damaged_jpeg_map_segments_only_lose_the_map(name, make, fragment):
    data = (VECTORS / "jpeg_residual_map.jpg").read_bytes()
    bare = restored(map_segments(data, lambda ident, payload: [])).prophoto
    assert_ignored(map_segments(data, make), fragment, bare)


def test_the_conformance_vectors_hold_every_hostile_map():
    """generate.py writes map_vectors(); they must be in the manifest, byte for byte."""
    import json

    manifest = {
        e["name"]: e for e in json.loads((VECTORS / "manifest.json").read_text())["vectors"]
    }
    for name, _, suffix, expect, fragment in map_vectors():
        entry = manifest[name]
        assert (entry["expect"], entry.get("message", "")) == (expect, fragment), name
        assert entry["file"] == name + suffix and (VECTORS / entry["file"]).exists()
