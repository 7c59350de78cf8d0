"""What a colour-managed viewer should show for a restored file, and what Chromium does show.

The reference: the linear ProPhoto restore taken into the output space (clipped to it), then to
a Display P3 screen the way ICC viewers go (no adaptation between D65 spaces, Bradford from
ProPhoto's D50 white), as 8-bit codes. Chromium's side comes from runtimes/web/test/readback.js
(headless Chromium drawing each file on `display-p3` canvases); LittleCMS reads what Chromium
cannot open (TIFF) through the file's own ICC profile.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import numpy as np

from gamut_onnx.colour import icc
from gamut_onnx.colour.spaces import PRIMARIES, ColourSpace, named_space, rgb_to_rgb_matrix
from gamut_onnx.colour.transfer import srgb_encode

DISPLAY_P3_LINEAR = icc.profile_for(ColourSpace("p3", "linear"))


def to_display_p3(primaries: str) -> np.ndarray:
    """Linear RGB with these primaries -> linear Display P3, as an ICC viewer converts."""
    p3, source = PRIMARIES["p3"], PRIMARIES[primaries]
    if source.white == p3.white:
        return rgb_to_rgb_matrix(primaries, "p3")
    adapt = np.linalg.inv(icc.bradford_to_pcs(p3.white)) @ icc.bradford_to_pcs(source.white)
    return p3.from_xyz @ adapt @ source.to_xyz


def display_codes(linear_p3: np.ndarray) -> np.ndarray:
    """Linear Display P3 -> the screen's 8-bit codes (clipped, sRGB curve)."""
    return np.rint(srgb_encode(np.clip(linear_p3, 0.0, 1.0)) * 255).astype(np.int64)


def expected_codes(prophoto: np.ndarray, space: str) -> np.ndarray:
    """The codes a viewer should show for the restore written in the named `space`."""
    primaries = named_space(space).primaries
    inside = np.clip(prophoto @ rgb_to_rgb_matrix("prophoto", primaries).T, 0.0, 1.0)
    return display_codes(inside @ to_display_p3(primaries).T)


def hdr_reference(prophoto: np.ndarray) -> np.ndarray:
    """Linear Display P3 of the restore in Rec. 2100 (PQ, HLG outputs: BT.2020 primaries, not
    clipped above reference white), for `hdr_scale`."""
    linear = np.clip(prophoto @ rgb_to_rgb_matrix("prophoto", "bt2020").T, 0.0, None)
    return linear @ to_display_p3("bt2020").T


def icc_values(path: Path) -> tuple[np.ndarray, bytes]:
    """Encoded values in [0, 1] and the ICC profile of a 16-bit PNG or TIFF output, for
    `littlecms_codes`."""
    if path.suffix == ".tif":
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            return page.asarray()[..., :3] / 65535.0, page.tags.valueof(34675)
    import imagecodecs

    from gamut_onnx.container import png

    data = path.read_bytes()
    return imagecodecs.png_decode(data) / 65535.0, png.iccp_profile(png.ancillary_chunks(data))


def littlecms_codes(values: np.ndarray, profile: bytes) -> np.ndarray:
    """Encoded values in [0, 1] of an ICC-tagged file -> Display P3 codes, by LittleCMS."""
    import imagecodecs

    linear = imagecodecs.cms_transform(
        np.ascontiguousarray(values, np.float32),
        profile,
        DISPLAY_P3_LINEAR,
        colorspace="rgb",
        outcolorspace="rgb",
        outdtype=np.float32,
    )
    return display_codes(linear)


def chromium_read_back(files: list[Path], web_dir: Path, timeout: float = 600) -> list[dict]:
    """Per file: {"rgba": float16 canvas codes, "rgba8": 8-bit canvas codes} as HxWx3 int64
    arrays, or {"error": why Chromium could not decode it}."""
    run = subprocess.run(
        ["node", "test/readback.js", *map(str, files)],
        cwd=web_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if run.returncode != 0:
        raise RuntimeError(f"readback.js failed: {run.stderr.strip()[-500:]}")
    results = []
    for line in run.stdout.splitlines():
        result = json.loads(line)
        if "error" not in result:
            shape = (result["height"], result["width"], 4)
            for canvas in ("rgba", "rgba8"):
                rgba = np.frombuffer(base64.b64decode(result[canvas]), np.uint8).reshape(shape)
                result[canvas] = rgba[..., :3].astype(np.int64)
        results.append(result)
    if len(results) != len(files):
        raise RuntimeError(f"readback.js answered {len(results)} of {len(files)} files")
    return results


def hdr_scale(shown: np.ndarray, ours_linear_p3: np.ndarray) -> float:
    """The one brightness factor a viewer applied to an HDR output on an SDR canvas (to 0.01),
    from mid-tones: Chromium puts reference white at 0.5 to leave headroom."""
    shown_linear = ((shown / 255.0 + 0.055) / 1.055) ** 2.4  # above the sRGB curve's toe
    mid = (ours_linear_p3 > 0.05) & (ours_linear_p3 < 0.5) & (shown < 250)
    return round(float(np.median(shown_linear[mid] / ours_linear_p3[mid])), 2)
