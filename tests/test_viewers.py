"""What viewers show: every output format and space of one restore, opened by real readers.

Chromium (Debian's, headless, through runtimes/web/test/readback.js) opens the PNG, AVIF and
JPEG XL outputs and draws them on a float16 `display-p3` canvas; LittleCMS reads the TIFFs (which
Chromium cannot show) through their ICC profiles. Both must give the restore's own colours
(evaluate/viewers.py) within 2 8-bit codes. Skips when Chromium, Node or the web runtime's
node_modules are missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from gamut_onnx.container.carrier import read_carrier
from gamut_onnx.evaluate.viewers import (
    chromium_read_back,
    display_codes,
    expected_codes,
    hdr_reference,
    hdr_scale,
    icc_values,
    littlecms_codes,
)
from gamut_onnx.jobs import DecodeOptions, decode_file
from gamut_onnx.runtime.decode import decode

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "runtimes" / "web"
CARRIER = ROOT / "tests" / "conformance" / "vectors" / "png_source_icc.png"
CHROMIUM = Path("/usr/bin/chromium")
missing = [
    what
    for what, there in [
        (str(CHROMIUM), CHROMIUM.exists()),
        ("node", shutil.which("node") is not None),
        ("runtimes/web/node_modules", (WEB / "node_modules" / "playwright-core").exists()),
    ]
    if not there
]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")

# (--space, suffix); "source" is the photo's own ICC profile.
SHOWN = [
    ("display-p3", ".png"),
    ("rec2020", ".png"),
    ("adobe-rgb", ".png"),
    ("prophoto", ".png"),
    ("srgb", ".png"),
    ("source", ".png"),
    ("display-p3", ".avif"),
    ("rec2020", ".avif"),
    ("display-p3", ".jxl"),
    ("rec2020", ".jxl"),
]
HDR = [("rec2020-pq", ".png"), ("rec2020-hlg", ".png"), ("rec2020-pq", ".avif")]
TIFFS = ["display-p3", "rec2020", "adobe-rgb", "prophoto", "source"]
TOLERANCE = 2  # 8-bit codes


@pytest.fixture(scope="module")
def shown(tmp_path_factory):
    """Each output file, what Chromium drew of it, and the restore (linear ProPhoto)."""
    out = tmp_path_factory.mktemp("viewers")
    files = {}
    for space, suffix in SHOWN + HDR:
        files[space, suffix] = out / f"{space}{suffix}"
        decode_file(CARRIER, files[space, suffix], DecodeOptions(space=space))
    drawn = dict(zip(files, chromium_read_back(list(files.values()), WEB), strict=True))
    prophoto = decode(read_carrier(CARRIER)).prophoto.astype(np.float64)
    return files, drawn, prophoto


@pytest.mark.parametrize(("space", "suffix"), SHOWN, ids=[f"{s}{x}" for s, x in SHOWN])
def test_chromium_shows_the_restored_colours(shown, space, suffix):
    files, drawn, prophoto = shown
    got = drawn[space, suffix]
    assert "error" not in got, got.get("error")
    if space == "source":  # the photo's own profile: as LittleCMS reads the same file
        want = littlecms_codes(*icc_values(files[space, suffix]))
    else:
        want = expected_codes(prophoto, space)
    error = np.abs(got["rgba"] - want)
    assert error.max() <= TOLERANCE, (space, suffix, error.max(), error.mean())


@pytest.mark.parametrize(("space", "suffix"), HDR, ids=[f"{s}{x}" for s, x in HDR])
def test_chromium_shows_hdr_outputs_up_to_its_sdr_white(shown, space, suffix):
    # On an SDR canvas Chromium puts HDR reference white at 0.5 (Chromium 156), to leave
    # headroom: one brightness factor for the whole image, the colours are ours.
    _, drawn, prophoto = shown
    got = drawn[space, suffix]
    assert "error" not in got, got.get("error")
    ours = hdr_reference(prophoto)
    scale = hdr_scale(got["rgba"], ours)
    assert 0.25 <= scale <= 1.0, scale
    # Its HDR-to-SDR path is not exact near black (up to 5-6 codes there on this photo).
    error = np.abs(got["rgba"] - display_codes(scale * ours))
    assert error.mean() <= 0.5 and error.max() <= 8, (space, suffix, scale, error.max())


@pytest.mark.parametrize("space", TIFFS)
def test_littlecms_reads_the_tiffs_as_the_restored_colours(shown, tmp_path, space):
    files, _, prophoto = shown
    path = tmp_path / f"{space}.tif"
    decode_file(CARRIER, path, DecodeOptions(space=space))
    values, profile = icc_values(path)
    if space == "source":
        want = littlecms_codes(*icc_values(files["source", ".png"]))
    else:
        want = expected_codes(prophoto, space)
    assert np.abs(littlecms_codes(values, profile) - want).max() <= 1, space
