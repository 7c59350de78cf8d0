"""Named colour spaces, their matrices and transfer curves, against colour-science and the
standards' published values."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from gamut_onnx.colour import prophoto_to_srgb8, transfer
from gamut_onnx.colour.protocol import PROPHOTO_TO_SRGB, SRGB_TO_PROPHOTO
from gamut_onnx.colour.spaces import (
    NAMED_SPACES,
    PRIMARIES,
    ColourSpace,
    from_prophoto_matrix,
    rgb_to_rgb_matrix,
    space_from_cicp,
)
from gamut_onnx.errors import GamutError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # colour-science warns that SciPy is absent
    colour_science = pytest.importorskip("colour")

DEV = Path(__file__).resolve().parents[2] / "shared/data/dev"
CS_NAMES = {
    "prophoto": "ProPhoto RGB",
    "bt709": "sRGB",
    "p3": "Display P3",
    "adobe": "Adobe RGB (1998)",
    "bt2020": "ITU-R BT.2020",
}


@pytest.mark.parametrize("source", CS_NAMES)
@pytest.mark.parametrize("target", CS_NAMES)
def test_matrices_are_colour_sciences(source, target):
    reference = colour_science.matrix_RGB_to_RGB(
        CS_NAMES[source], CS_NAMES[target], chromatic_adaptation_transform="CAT02"
    )
    ours = rgb_to_rgb_matrix(source, target)
    if source == target:  # identity by design (colour-science's tabulated pairs are not)
        np.testing.assert_array_equal(ours, np.eye(3))
        assert np.abs(reference - np.eye(3)).max() < 3e-4
    else:
        assert np.abs(ours - reference).max() < 1e-14


def test_the_carrier_matrices_are_the_reference_protocols():
    ref = colour_science.matrix_RGB_to_RGB("ProPhoto RGB", "sRGB", "CAT02")
    back = colour_science.matrix_RGB_to_RGB("sRGB", "ProPhoto RGB", "CAT02")
    assert np.abs(PROPHOTO_TO_SRGB - ref).max() < 1e-14
    assert np.abs(SRGB_TO_PROPHOTO - back).max() < 1e-14


def test_carrier_pixels_equal_the_reference_protocols_on_real_photos():
    import tifffile

    names = ["pdfboxg2d_webkit_Italy-P3.tif", "sharp_tifftag-photoshop_AdobeRGB.tif"]
    if not all((DEV / n).exists() for n in names):
        pytest.skip("../shared/data/dev not available")
    ref = colour_science.matrix_RGB_to_RGB("ProPhoto RGB", "sRGB", "CAT02")
    for name in names:
        prophoto = transfer.romm_decode(tifffile.imread(DEV / name) / 65535.0)
        theirs = np.clip(prophoto @ ref.T, 0, 1)
        theirs = np.rint(transfer.srgb_encode(theirs) * 255).astype(np.uint8)
        np.testing.assert_array_equal(prophoto_to_srgb8(prophoto), theirs)


@pytest.mark.parametrize("primaries", sorted(PRIMARIES))
def test_reading_and_writing_a_space_are_exact_inverses(primaries):
    rgb = np.random.default_rng(0).random((1000, 3))
    there = rgb @ rgb_to_rgb_matrix(primaries, "prophoto").T
    back = there @ from_prophoto_matrix(primaries).T
    assert np.abs(back - rgb).max() < 1e-12


def test_transfer_functions_round_trip_and_hit_published_values():
    x = np.linspace(0, 1, 2001)
    for name, (decode, encode, _, per_channel) in transfer.TRANSFERS.items():
        if per_channel:
            assert np.abs(decode(encode(x)) - x).max() < 1e-9, name
    rgb = np.random.default_rng(1).random((500, 3))
    assert np.abs(transfer.hlg_decode(transfer.hlg_encode(rgb)) - rgb).max() < 1e-9
    # PQ: 203 cd/m2 (reference white, 1.0 here) is signal 0.5806 (ITU-R BT.2408 table 1).
    assert transfer.pq_encode(np.array(1.0)) == pytest.approx(0.5806, abs=2e-4)
    assert transfer.pq_decode(np.array(1.0)) == pytest.approx(10000 / 203)
    # HLG: reference white 203 cd/m2 is signal 0.75 on a 1,000 cd/m2 display (BT.2408).
    white = transfer.hlg_encode(np.ones((1, 3)))
    assert white[0, 0] == pytest.approx(0.75, abs=2e-3)
    assert transfer.bt709_encode(np.array(0.018053968510807)) == pytest.approx(0.0812428, 1e-6)


def test_cicp_codes_name_spaces_and_unknown_codes_fail_in_one_line():
    assert space_from_cicp(12, 13, "x") == NAMED_SPACES["display-p3"]
    assert space_from_cicp(9, 16, "x") == NAMED_SPACES["rec2020-pq"]
    assert space_from_cicp(1, 8, "x") == NAMED_SPACES["srgb-linear"]
    assert space_from_cicp(9, 14, "x") == ColourSpace("bt2020", "bt709")
    for codes, fragment in (((22, 13), "primaries code 22"), ((12, 17), "transfer")):
        with pytest.raises(GamutError, match=fragment) as error:
            space_from_cicp(*codes, "photo.avif")
        assert "\n" not in str(error.value)
    assert NAMED_SPACES["display-p3"].cicp == (12, 13)
    assert NAMED_SPACES["adobe-rgb"].cicp is None
