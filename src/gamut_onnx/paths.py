"""Which files are photos: the suffixes the readers take, and folders expanded to them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gamut_onnx.errors import GamutError
from gamut_onnx.read.raw import RAW_SUFFIXES

PHOTO_SUFFIXES = (
    ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".jpe", ".heic", ".heif", ".hif", ".avif", ".jxl",
    *RAW_SUFFIXES,
)  # fmt: skip


def is_photo_name(path: Path) -> bool:
    return path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith(".")


def find_photos(paths: Iterable[str | Path], recursive: bool = False) -> list[Path]:
    """Files as given, folders expanded to the photos in them (sorted; subfolders too when
    `recursive`). Hidden files (our temporary outputs among them) are skipped."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            walk = path.rglob("*") if recursive else path.iterdir()
            found += sorted(p for p in walk if p.is_file() and is_photo_name(p))
        elif path.exists():
            found.append(path)
        else:
            raise GamutError(f"{path}: no such file or folder")
    return found
