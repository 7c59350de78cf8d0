"""The batch manifest: one JSON line per finished file, in the output folder.

Each line records the input and output paths, their sizes and SHA-256 checksums, the model
chosen, PSNRs and timings, or the one-line error. Lines are appended and fsynced as files
finish, after the output itself is in place, so a killed run leaves a manifest that describes
exactly the outputs that exist; `--resume` trusts a line only if the output still matches it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

MANIFEST_NAME = "gamut-onnx-manifest.jsonl"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def append(manifest: Path, record: dict) -> None:
    """Append one record durably (a power cut loses at most the line being written)."""
    line = json.dumps({k: _json_safe(v) for k, v in record.items()}) + "\n"
    with open(manifest, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read(manifest: Path) -> dict[str, dict]:
    """The last record per input path (a torn last line from a crash is ignored)."""
    done: dict[str, dict] = {}
    if not manifest.exists():
        return done
    for line in manifest.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "input" in record:
            done[record["input"]] = record
    return done


def still_valid(record: dict | None, source: Path, output: Path) -> bool:
    """True when `record` says this input was done, and its output is still that file."""
    if not record or record.get("status") != "ok" or not output.exists():
        return False
    if record.get("output") != str(output) or not source.exists():
        return False
    if record.get("input_bytes") != source.stat().st_size:
        return False
    if record.get("output_bytes") != output.stat().st_size:
        return False
    return record.get("output_sha256") == sha256_file(output) and record.get(
        "input_sha256"
    ) == sha256_file(source)
