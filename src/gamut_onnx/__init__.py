"""gamut-onnx: keep wide-gamut colour alive in ordinary 8-bit sRGB files.

from gamut_onnx import read_prophoto, encode, write_carrier, read_carrier, decode
"""

__version__ = "0.1.0"

from gamut_onnx.codec import DecodeResult, EncodeResult, decode, encode
from gamut_onnx.container.carrier import Carrier, read_carrier, write_carrier
from gamut_onnx.errors import GamutError
from gamut_onnx.read import read_prophoto
from gamut_onnx.write import write_restored_image, write_restored_tiff

__all__ = [
    "Carrier",
    "DecodeResult",
    "EncodeResult",
    "GamutError",
    "__version__",
    "decode",
    "encode",
    "read_carrier",
    "read_prophoto",
    "write_carrier",
    "write_restored_image",
    "write_restored_tiff",
]
