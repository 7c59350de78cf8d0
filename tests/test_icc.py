"""The ICC profiles we write: well formed, accepted by LittleCMS, and describing our maths;
profiles we read go through LittleCMS."""

from __future__ import annotations

import hashlib
import io
import struct

import imagecodecs
import numpy as np
import pytest
from PIL import ImageCms

from gamut_onnx.colour import icc
from gamut_onnx.colour.cms import (
    IccProfile,
    icc_to_prophoto,
    nearest_named_space,
    prophoto_to_icc,
    read_icc,
)
from gamut_onnx.colour.spaces import NAMED_SPACES, PRIMARIES, ColourSpace, rgb_to_rgb_matrix
from gamut_onnx.colour.transfer import TRANSFERS
from gamut_onnx.errors import GamutError

WRITTEN = {name: icc.profile_for(space) for name, space in NAMED_SPACES.items()}
WRITTEN = {name: data for name, data in WRITTEN.items() if data is not None}
P3_XY = (0.680, 0.320, 0.265, 0.690, 0.150, 0.060)


def test_profiles_are_small_and_well_formed():
    for data in (icc.PROPHOTO_ICC, icc.SRGB_ICC, *WRITTEN.values()):
        assert len(data) < 1024
        assert struct.unpack(">I", data[:4])[0] == len(data)
        assert len(data) % 4 == 0 and data[36:40] == b"acsp"
        assert data[8:12] == bytes.fromhex("04300000") and data[12:24] == b"mntrRGB XYZ "
        zeroed = bytearray(data)
        zeroed[44:48] = zeroed[64:68] = bytes(4)
        zeroed[84:100] = bytes(16)
        assert data[84:100] == hashlib.md5(bytes(zeroed)).digest()


def test_the_carrier_and_prophoto_profiles_are_unchanged():
    # Node ships a copy of PROPHOTO_ICC and carriers embed SRGB_ICC: their bytes are format.
    assert hashlib.sha256(icc.PROPHOTO_ICC).hexdigest()[:16] == "83d8cd284f1e35ef"
    assert hashlib.sha256(icc.SRGB_ICC).hexdigest()[:16] == "cd12faa89de79970"


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_viewers_read_our_profiles_as_our_maths(name):
    # A viewer converts into its display's profile; our linear Display P3 one stands in for it.
    data = WRITTEN[name]
    assert imagecodecs.cms_profile_validate(data) is None
    assert ImageCms.ImageCmsProfile(io.BytesIO(data)).profile.profile_description
    space = NAMED_SPACES[name]
    probe = np.random.default_rng(2).random((1, 4096, 3)).astype(np.float32)
    display = icc.profile_for(ColourSpace("p3", "linear"))
    via_lcms = imagecodecs.cms_transform(
        probe, data, display, colorspace="rgb", outcolorspace="rgb", outdtype=np.float32
    )[0]
    linear = TRANSFERS[space.transfer][0](probe[0])
    tolerance = 2e-4
    if space.primaries == "prophoto":  # D50 -> D65 display: ICC viewers adapt with Bradford
        p3, romm = PRIMARIES["p3"], PRIMARIES["prophoto"]
        to_display = p3.from_xyz @ np.linalg.inv(icc.bradford_to_pcs(p3.white)) @ romm.to_xyz
        tolerance = 1e-3  # colour-science's ROMM colorants are tabulated to 4 decimals
    else:  # D65 -> D65 display: no adaptation, our matrix exactly
        to_display = rgb_to_rgb_matrix(space.primaries, "p3")
    assert np.abs(via_lcms - linear @ to_display.T).max() < tolerance, name
    assert icc.named_space_of(data) == space


def test_our_display_p3_profile_is_every_makers_display_p3():
    # LittleCMS builds its RGB profiles with Bradford, as Apple's and the viewers' own.
    theirs = imagecodecs.cms_profile("rgb", whitepoint=(0.3127, 0.329), primaries=P3_XY, gamma=1)
    ours = icc.profile_for(ColourSpace("p3", "linear"))
    probe = np.random.default_rng(5).random((1, 4096, 3)).astype(np.float32)
    back = imagecodecs.cms_transform(
        probe, ours, theirs, colorspace="rgb", outcolorspace="rgb", outdtype=np.float32
    )
    assert np.abs(back - probe).max() < 2e-4


def test_lut_profiles_get_the_full_transform_and_matrix_profiles_the_fast_tables():
    p3 = imagecodecs.cms_profile("rgb", whitepoint=(0.3127, 0.329), primaries=P3_XY, gamma=2.2)
    profile = read_icc(p3, "p3")
    codes = np.random.default_rng(3).integers(0, 256, (37, 41, 3), dtype=np.uint8)
    fast = icc_to_prophoto(codes, profile)
    full = icc_to_prophoto(codes.astype(np.float32) / 255, profile)
    assert np.abs(fast - full).max() < 2e-6
    back = prophoto_to_icc(full, profile)
    # The round trip is exact in linear light (a pure power curve's infinite slope at 0 turns
    # float32 rounding there into 2.6e-4 of encoded value, so encoded values are not the test).
    assert np.abs(back.astype(np.float64) ** 2.2 - (codes / 255) ** 2.2).max() < 1e-5


def test_an_srgb_curve_profile_round_trips_its_codes_exactly():
    data = icc.build_matrix_trc_icc(np.eye(3) * 0.6 + 0.1, icc.SRGB_TRC, "odd primaries")
    profile = read_icc(data, "odd")
    codes = np.random.default_rng(4).integers(0, 65536, (29, 31, 3), dtype=np.uint16)
    back = prophoto_to_icc(icc_to_prophoto(codes, profile), profile)
    assert np.abs(back - codes / 65535).max() < 1e-5


def test_nearest_named_space_recognises_a_foreign_p3_profile_only():
    gamma_p3 = imagecodecs.cms_profile(
        "rgb", whitepoint=(0.3127, 0.329), primaries=P3_XY, gamma=2.2
    )
    assert nearest_named_space(IccProfile(gamma_p3, "x")) is None  # gamma 2.2 is not sRGB's
    srgb_tf = icc.build_matrix_trc_icc(
        icc.cat02_to_pcs((0.3127, 0.329)) @ np.array([[0.4866, 0.2657, 0.1982],
                                                       [0.2290, 0.6917, 0.0793],
                                                       [0.0, 0.0451, 1.0439]]),
        icc.SRGB_TRC, "P3 from another maker", icc.BRADFORD_D65_TO_D50,
    )  # fmt: skip
    assert nearest_named_space(IccProfile(srgb_tf, "x")) == NAMED_SPACES["display-p3"]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"not a profile" * 20, "corrupt"),
        (imagecodecs.cms_profile("gray"), "grayscale"),
        (imagecodecs.cms_profile("lab4"), "Lab"),
    ],
    ids=["garbage", "gray", "lab"],
)
def test_profiles_we_cannot_use_fail_in_one_line(data, fragment):
    with pytest.raises(GamutError, match=fragment) as error:
        read_icc(data, "photo.jpg")
    assert "\n" not in str(error.value) and str(error.value).startswith("photo.jpg")
