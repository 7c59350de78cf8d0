"""The sidecar: a carrier's model (blob and optional residual map) in a small file beside it.

Tools that rewrite files (ImageMagick, Pillow, vips, `exiftool -all=`) drop the metadata that
holds the model; `photo.jpg.gamut` keeps it, and `attach` or a decode of `photo.jpg` put it back.
Sidecars are hostile input like carriers: sizes are checked from the header and the file's size
before anything is read whole (docs/blob-format.md, "Sidecar file").
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from gamut_onnx.errors import GamutError
from gamut_onnx.limits import MAX_METADATA_BYTES

SIDECAR_MAGIC = b"GAMUTSID"
SIDECAR_VERSION = 1
SIDECAR_SUFFIX = ".gamut"
_HEADER = struct.Struct("<8sHHII")  # magic, version, flags, blob length, map length
HEADER_BYTES = _HEADER.size  # 20
MAX_SIDECAR_BYTES = HEADER_BYTES + MAX_METADATA_BYTES + 4  # what a carrier may hold, plus framing


@dataclass(frozen=True)
class Sidecar:
    """A model kept beside its carrier."""

    blob: bytes
    residual_map: bytes | None = None


def sidecar_path(carrier: str | os.PathLike) -> Path:
    """Where a carrier's sidecar lives by default: the full file name plus `.gamut`."""
    carrier = Path(carrier)
    return carrier.with_name(carrier.name + SIDECAR_SUFFIX)


def pack_sidecar(sidecar: Sidecar) -> bytes:
    """The sidecar's bytes: header, blob, map, CRC-32 of everything before it."""
    blob, found = bytes(sidecar.blob), bytes(sidecar.residual_map or b"")
    if not blob or len(blob) + len(found) > MAX_METADATA_BYTES:
        raise GamutError(f"a sidecar holds 1 byte to {MAX_METADATA_BYTES >> 20} MB of model")
    body = _HEADER.pack(SIDECAR_MAGIC, SIDECAR_VERSION, 0, len(blob), len(found)) + blob + found
    return body + struct.pack("<I", zlib.crc32(body))


def unpack_sidecar(data: bytes, name: str = "sidecar") -> Sidecar:
    """Check a sidecar in the order of the spec and return its payloads; one-line errors."""
    if len(data) < HEADER_BYTES + 4:
        raise GamutError(f"{name}: not a gamut-onnx sidecar (truncated: {len(data)} bytes)")
    magic, version, flags, blob_length, map_length = _HEADER.unpack_from(data)
    if magic != SIDECAR_MAGIC:
        raise GamutError(f"{name}: not a gamut-onnx sidecar (bad magic {magic!r})")
    if version != SIDECAR_VERSION:
        raise GamutError(f"{name}: sidecar version {version} is not supported (this build reads 1)")
    if flags:
        raise GamutError(f"{name}: sidecar flags 0x{flags:04x} are unknown")
    if blob_length == 0 or blob_length + map_length > MAX_METADATA_BYTES:
        raise GamutError(
            f"{name}: sidecar claims a {blob_length}-byte blob and {map_length}-byte map"
        )
    if len(data) != HEADER_BYTES + blob_length + map_length + 4:
        expected = HEADER_BYTES + blob_length + map_length + 4
        raise GamutError(f"{name}: sidecar is {len(data)} bytes, its header says {expected}")
    (crc,) = struct.unpack_from("<I", data, len(data) - 4)
    if zlib.crc32(data[:-4]) != crc:
        raise GamutError(f"{name}: sidecar CRC32 mismatch (the file is corrupted)")
    blob = bytes(data[HEADER_BYTES : HEADER_BYTES + blob_length])
    found = bytes(data[HEADER_BYTES + blob_length : -4]) or None
    return Sidecar(blob, found)


def read_sidecar(path: str | os.PathLike) -> Sidecar:
    """Read and check a sidecar file, refusing an oversized one before reading it."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_SIDECAR_BYTES:
                raise GamutError(f"{path}: {size:,} bytes is too large for a gamut-onnx sidecar")
            data = f.read(MAX_SIDECAR_BYTES + 1)
    except FileNotFoundError:
        raise GamutError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise GamutError(f"{path} is a folder, not a sidecar") from None
    except OSError as exc:
        raise GamutError(f"cannot read {path}: {exc.strerror or exc}") from None
    return unpack_sidecar(data, str(path))
