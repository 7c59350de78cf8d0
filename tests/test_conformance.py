"""Conformance vectors (tests/conformance/vectors): what every restore runtime must reproduce.

The Python runtime must restore each positive vector within its tolerance and reject or warn on
each negative one as the manifest says. The drift test re-encodes the positives and fails when the
encoder's output format changes without the vectors being regenerated (generate.py).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from gamut_onnx.blob import FORMAT_VERSION, HEADER_BYTES, pack_blob, unpack_blob
from gamut_onnx.codec import decode
from gamut_onnx.container.carrier import decode_carrier, read_carrier
from gamut_onnx.container.jpeg_coefficients import coefficient_digest
from gamut_onnx.errors import GamutError

VECTORS = Path(__file__).resolve().parent / "conformance" / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text())
ENTRIES = {entry["name"]: entry for entry in MANIFEST["vectors"]}
# Header bytes that do not depend on how the fit went (flags and margin at 20..22 do).
STABLE_HEADER = [*range(0, 20), 23, *range(24, HEADER_BYTES)]


def test_manifest_matches_the_format_version():
    assert MANIFEST["format_version"] == FORMAT_VERSION, "regenerate: tests/conformance/generate.py"
    assert {e["expect"] for e in MANIFEST["vectors"]} == {"restore", "error", "warning"}
    versions = {e.get("blob_version") for e in MANIFEST["vectors"]} - {None}
    assert versions == {1, 2, FORMAT_VERSION}, "keep restoring every version's vectors"


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_python_runtime_conforms(name):
    entry = ENTRIES[name]
    if entry["expect"] == "error":  # refused when read (arithmetic coding) or decoded
        with pytest.raises(GamutError, match=entry["message"]):
            decode(read_carrier(VECTORS / entry["file"]), provider="cpu")
        return
    carrier = read_carrier(VECTORS / entry["file"])
    result = decode(carrier, provider="cpu")
    if "source_space" in entry:
        blob = unpack_blob(carrier.blob)
        assert (blob.source_space, blob.format_version) == (
            entry["source_space"],
            entry["blob_version"],
        )
    if entry["expect"] == "warning":
        assert any(entry["message"] in w for w in result.warnings), result.warnings
    else:
        assert result.warnings == [] and result.restored
    expected = np.load(VECTORS / entry["output"])
    assert np.abs(result.prophoto - expected).max() <= entry["max_abs_error"]


def test_encoder_output_has_not_drifted(tmp_path):
    pytest.importorskip("torch")
    sys.path.insert(0, str(VECTORS.parent))
    try:
        from generate import POSITIVE, SUFFIX, make_carrier
    finally:
        sys.path.pop(0)
    for name, fmt, seed, options in POSITIVE:
        fresh = decode_carrier(make_carrier(fmt, seed, options))
        kept = read_carrier(VECTORS / f"{name}{SUFFIX[fmt]}")
        assert fresh.format == kept.format
        np.testing.assert_array_equal(fresh.srgb8, kept.srgb8, err_msg=name)
        assert fresh.digest == kept.digest, name
        found = unpack_blob(fresh.blob)
        if fmt == "jpeg":  # new JPEG blobs also record the coefficient digest (record 130)
            assert found.jpeg_digest == coefficient_digest(kept.jpeg_data), name
            fresh.blob = pack_blob(dataclasses.replace(found, jpeg_digest=None))
        a, b = np.frombuffer(fresh.blob, np.uint8), np.frombuffer(kept.blob, np.uint8)
        assert len(a) == len(b), name
        np.testing.assert_array_equal(a[STABLE_HEADER], b[STABLE_HEADER], err_msg=name)


@pytest.mark.parametrize("name", sorted(n for n, e in ENTRIES.items() if e["expect"] != "error"))
def test_intermediate_tensors_are_what_the_python_runtime_computes(name):
    """The step-by-step tensors a new host checks itself against (blob-format.md 6.4)."""
    from gamut_onnx.colour.spaces import named_space
    from gamut_onnx.runtime import RestoreSession
    from gamut_onnx.runtime.decode import checked
    from gamut_onnx.runtime.output import OutputEncoder, output_space

    entry = ENTRIES[name]
    carrier = read_carrier(VECTORS / entry["file"])
    blob, residual_map, _ = checked(carrier, strict=False)
    context = blob is not None and blob.context
    assert ("grids" in entry) == context
    if context:
        grids = RestoreSession("cpu").grids(carrier.srgb8).feeds()
        for key, file in entry["grids"].items():
            np.testing.assert_array_equal(grids[key], np.load(VECTORS / file))
    assert ("map_samples" in entry) == (residual_map is not None)
    if residual_map is not None:
        np.testing.assert_array_equal(residual_map.samples, np.load(VECTORS / entry["map_samples"]))
        assert entry["map_params"] == list(residual_map.params)
    restored = decode(carrier, provider="cpu").prophoto
    for space, file in entry["codes16"].items():
        codes = OutputEncoder().run(restored, output_space(named_space(space)), 16)
        expected = np.load(VECTORS / file).astype(np.int32)
        assert np.abs(codes - expected).max() <= entry["codes_max_error"], space


def test_the_safe_to_copy_chunk_names_carry_the_same_model():
    """png_safe_to_copy_chunks is png_residual_map with gmLP/gmRM renamed gmLp/gmRm: the same
    restore, map included, and writers write only the new names."""
    from gamut_onnx.container import png
    from gamut_onnx.container.carrier import PNG_BLOB_CHUNK, PNG_MAP_CHUNK

    fresh = ENTRIES["png_safe_to_copy_chunks"]
    types = [t for t, _ in png.iter_chunks((VECTORS / fresh["file"]).read_bytes())]
    assert PNG_BLOB_CHUNK in types and PNG_MAP_CHUNK in types
    assert b"gmLP" not in types and b"gmRM" not in types
    legacy = ENTRIES["png_residual_map"]
    outputs = [np.load(VECTORS / entry["output"]) for entry in (fresh, legacy)]
    assert np.abs(outputs[0] - outputs[1]).max() <= 1e-6  # an ulp: written by a later onnxruntime
    assert fresh["map_params"] == legacy["map_params"]
