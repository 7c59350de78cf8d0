"""What every runtime must do with a hostile-map case (tests/fuzz/map_cases.py): restore, with
the map applied and no warning, or with the map ignored, one one-line warning saying so, and
exactly the restore of the same carrier without its map. Python's verdicts are the reference;
the Node runtime's (runtimes/node/test/map-verdicts.js) must equal them, with values within
the conformance tolerance."""

from __future__ import annotations

import hashlib

import numpy as np

from gamut_onnx.container.carrier import PNG_MAP_CHUNK, decode_carrier
from gamut_onnx.errors import GamutError
from gamut_onnx.runtime.decode import decode

TOLERANCE = 1e-4


def _without_map(data: bytes, suffix: str) -> bytes:
    from hostile_maps import map_segments, with_chunks

    if suffix == ".png":
        return with_chunks(data, {PNG_MAP_CHUNK: []})
    return map_segments(data, lambda ident, payload: [])


def verdict(data: bytes, suffix: str) -> dict:
    """The Python runtime's verdict on one case, with any finding (a broken promise)."""
    try:
        carrier = decode_carrier(data, "case")
        result = decode(carrier, provider="cpu")
    except GamutError as exc:
        return {"verdict": "error", "message": str(exc), "finding": _one_line(str(exc))}
    out = {"verdict": "applied" if result.residual_map else "ignored",
           "warnings": result.warnings, "finding": None,
           "sha": hashlib.sha256(result.prophoto.tobytes()).hexdigest()[:16]}  # fmt: skip
    if any(_one_line(w) for w in result.warnings):
        out["finding"] = "a warning over several lines"
    elif not (np.isfinite(result.prophoto).all() and result.prophoto.min() >= 0
              and result.prophoto.max() <= 1):  # fmt: skip
        out["finding"] = "output not finite in [0, 1]"
    elif result.residual_map and result.warnings:
        out["finding"] = f"map applied with a warning: {result.warnings}"
    elif not result.residual_map and (carrier.residual_map is not None or carrier.notes):
        if not any("residual map" in w for w in result.warnings):
            out["finding"] = f"map dropped without a map warning: {result.warnings}"
        else:
            plain = decode(decode_carrier(_without_map(data, suffix)), provider="cpu")
            if not np.array_equal(plain.prophoto, result.prophoto):
                out["finding"] = "ignored map, but not the map-less restore"
    out["prophoto"] = result.prophoto
    return out


def _one_line(text: str) -> str | None:
    return "a message over several lines" if "\n" in text else None


def compare(python: dict, node: dict) -> str | None:
    """A finding when Node's verdict or values differ from Python's."""
    if python["verdict"] != node.get("verdict"):
        said = (node.get("warnings") or [node.get("message", "")])[0][:90]
        return f"verdicts differ: Python {python['verdict']}, Node {node.get('verdict')} ({said})"
    if python["verdict"] == "error":
        return None
    if len(python["warnings"]) != len(node.get("warnings", [])):
        return f"warnings differ: Python {python['warnings']}, Node {node.get('warnings')}"
    values = np.frombuffer(bytes.fromhex(node["data"]), np.float32)
    diff = np.abs(values - python["prophoto"].reshape(-1)).max() if values.size else np.inf
    if values.size != python["prophoto"].size or diff > TOLERANCE:
        return f"values differ by {diff:.2e}"
    return None
