"""Optional dependencies, imported on first use, with a one-line error naming the pip extra.

The decode-only install (`gamut-onnx[cpu]`) carries numpy, Pillow, tifffile, typer,
threadpoolctl and onnxruntime; everything else lives in extras so that a restore-only container
stays small (README). Among them jpeglib (78 MB installed: libjpeg in many versions), which
reads a JPEG carrier's coefficients when its byte digest fails; without it such a carrier is
taken as edited.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from gamut_onnx.errors import GamutError

# module -> (pip extra, what needs it)
EXTRAS = {
    "imagecodecs": ("codecs", "AVIF, JPEG XL, 16-bit PNG and LittleCMS colour management"),
    "pillow_heif": ("heic", "HEIC/HEIF photos"),
    "rawpy": ("raw", "camera raw files"),
    "torch": ("fit", "encoding (fitting the model)"),
    "matplotlib": ("eval", "eval pictures (--out)"),
    "onnx": ("export", "building ONNX graphs"),
    "ray": ("cluster", "--ray"),
    "jpeglib": ("jpeg", "checking a JPEG carrier transcoded or turned since encoding"),
}


def installed(module: str) -> bool:
    """Whether an optional module can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


def require(module: str, purpose: str | None = None) -> ModuleType:
    """Import `module`, or raise GamutError saying which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name != module:  # the module exists but something inside it is broken
            raise GamutError(f"{module} is installed but failed to import ({exc})") from None
        extra, default = EXTRAS[module]
        raise GamutError(
            f"{purpose or default} needs {module}: pip install 'gamut-onnx[{extra}]'"
        ) from None
