"""Limits checked from file headers before any pixel is decoded, so hostile files cost nothing.

A 12 KB JPEG can claim 65535 x 65535 pixels and a 1 MB PNG can inflate to gigabytes: the pixel
count is checked against `max_pixels` (default 250 MP, `--max-pixels` or the environment
variable GAMUT_ONNX_MAX_PIXELS) before decoding, and every decompression of metadata is bounded.
250 MP holds the largest sensors (200 MP phones, 150 MP medium format) and refuses the classic
16000 x 16000 decompression bombs (256 MP).
"""

from __future__ import annotations

import os

from gamut_onnx.errors import GamutError

DEFAULT_MAX_PIXELS = 250_000_000
ENVIRONMENT = "GAMUT_ONNX_MAX_PIXELS"
MAX_METADATA_BYTES = 16 << 20  # all ancillary chunks / segments / tags of one file together
MAX_ICC_BYTES = 4 << 20  # an ICC profile beyond this is not a photo's
_override: list[int] = []


def max_pixels() -> int:
    """The limit in force: set_max_pixels(), else the environment, else 250 MP."""
    if _override:
        return _override[-1]
    value = os.environ.get(ENVIRONMENT, "")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise GamutError(f"{ENVIRONMENT}={value!r} is not a positive whole number of pixels")
        return int(value)
    return DEFAULT_MAX_PIXELS


def set_max_pixels(limit: int | None) -> None:
    """Set the limit for this process (the CLI's --max-pixels); None restores the default."""
    _override.clear()
    if limit is not None:
        _override.append(int(limit))


def check_pixels(width: int, height: int, name: str) -> None:
    """Refuse images larger than the limit, from the dimensions a header declares."""
    count = int(width) * int(height)
    limit = max_pixels()
    if count > limit:
        raise GamutError(
            f"{name}: {width}x{height} is {count:,} pixels, above the limit of {limit:,} "
            f"(raise it with --max-pixels or {ENVIRONMENT})"
        )
