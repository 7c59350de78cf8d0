"""Hand-built ICC profiles: structure, LittleCMS acceptance, parsing, ProPhoto recognition."""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

from gamut_onnx import colour
from gamut_onnx.colour import icc
from gamut_onnx.errors import GamutError

P3_XYZ_D50 = icc.KNOWN_COLORANTS["Display P3"]


def _v2_profile(colorants: np.ndarray, curv: bytes, desc: str, space: bytes = b"RGB ") -> bytes:
    """A v2 profile as older tools write it: 'desc' textDescriptionType and a 'curv' TRC."""
    text = desc.encode("latin-1") + b"\0"
    desc_tag = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + bytes(79)
    xyz = [b"XYZ \0\0\0\0" + icc._s15(colorants[:, i]) for i in range(3)]
    tags = [(b"desc", desc_tag), (b"rXYZ", xyz[0]), (b"gXYZ", xyz[1]), (b"bXYZ", xyz[2])]
    tags += [(s, curv) for s in (b"rTRC", b"gTRC", b"bTRC")]
    return icc.assemble_icc(tags, version=0x02100000, space=space)


def _curv(values: list[int]) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(f">I{len(values)}H", len(values), *values)


def test_profiles_are_small_and_well_formed():
    for data in (icc.PROPHOTO_ICC, icc.SRGB_ICC):
        assert len(data) < 1024
        assert struct.unpack(">I", data[:4])[0] == len(data)
        assert len(data) % 4 == 0
        assert data[36:40] == b"acsp"
        assert data[8:12] == bytes.fromhex("04300000")
        assert data[12:24] == b"mntrRGB XYZ "
        zeroed = bytearray(data)
        zeroed[44:48] = zeroed[64:68] = bytes(4)
        zeroed[84:100] = bytes(16)
        assert data[84:100] == hashlib.md5(bytes(zeroed)).digest()
        count = struct.unpack(">I", data[128:132])[0]
        offsets = {}
        for i in range(count):
            sig, off, size = struct.unpack(">4sII", data[132 + 12 * i : 144 + 12 * i])
            assert off % 4 == 0 and off + size <= len(data)
            offsets[sig] = off
        assert offsets[b"rTRC"] == offsets[b"gTRC"] == offsets[b"bTRC"]


def test_build_parse_round_trip():
    info = icc.parse_icc(icc.PROPHOTO_ICC)
    assert (info.colour_space, info.pcs) == ("RGB ", "XYZ ")
    assert info.description == "ProPhoto RGB (ROMM), gamut-onnx"
    np.testing.assert_allclose(info.colorants, colour.PROPHOTO_XYZ_D50, atol=1e-4)
    for curve in info.trc:
        np.testing.assert_allclose(curve, colour.romm_decode(icc.TRC_X), atol=1e-4)
    srgb = icc.parse_icc(icc.SRGB_ICC)
    np.testing.assert_allclose(srgb.colorants, icc.SRGB_XYZ_D50, atol=1e-4)
    np.testing.assert_allclose(srgb.trc[1], colour.srgb_decode(icc.TRC_X), atol=1e-4)


def test_littlecms_accepts_profiles_and_agrees_with_numpy():
    pro = ImageCms.ImageCmsProfile(io.BytesIO(icc.PROPHOTO_ICC))
    srgb = ImageCms.ImageCmsProfile(io.BytesIO(icc.SRGB_ICC))
    assert ImageCms.getProfileDescription(pro).strip() == "ProPhoto RGB (ROMM), gamut-onnx"
    assert pro.profile.profile_id == icc.PROPHOTO_ICC[84:100]
    intent = ImageCms.Intent.RELATIVE_COLORIMETRIC
    transform = ImageCms.buildTransform(pro, srgb, "RGB", "RGB", renderingIntent=intent)
    # ROMM-encoded 8-bit: mid grey, muted red, skin tone, sky blue, olive, near white, dark
    romm8 = np.array(
        [[128, 128, 128], [140, 90, 80], [190, 150, 120], [110, 130, 170], [100, 100, 60]]
        + [[240, 240, 235], [20, 22, 25]],
        dtype=np.uint8,
    )
    ours = colour.prophoto_to_srgb8(colour.romm_decode(romm8 / 255.0)).astype(int)
    lin = colour.prophoto_to_srgb_linear(colour.romm_decode(romm8 / 255.0))
    assert np.all((lin > 0) & (lin < 1))  # in gamut: no clipping differences
    image = Image.fromarray(romm8[None], "RGB")
    lcms = np.asarray(ImageCms.applyTransform(image, transform))[0].astype(int)
    assert np.max(np.abs(lcms - ours)) <= 3, (lcms, ours)


def test_littlecms_matches_the_profiles_own_matrices_everywhere():
    """With the ICC (Bradford) matrix instead of our CAT02 one, LittleCMS agrees to 1 code value
    on random colours, out-of-gamut ones included: colorants and both TRCs are encoded right."""
    pro = ImageCms.ImageCmsProfile(io.BytesIO(icc.PROPHOTO_ICC))
    srgb = ImageCms.ImageCmsProfile(io.BytesIO(icc.SRGB_ICC))
    intent = ImageCms.Intent.RELATIVE_COLORIMETRIC
    transform = ImageCms.buildTransform(pro, srgb, "RGB", "RGB", renderingIntent=intent)
    romm8 = np.random.default_rng(0).integers(0, 256, (4000, 3)).astype(np.uint8)
    matrix = np.linalg.inv(icc.SRGB_XYZ_D50) @ colour.PROPHOTO_XYZ_D50
    lin = colour.apply_matrix(colour.romm_decode(romm8 / 255.0), matrix)
    ours = colour.quantise_8bit(colour.srgb_encode(np.clip(lin, 0, 1))).astype(int)
    lcms = np.asarray(ImageCms.applyTransform(Image.fromarray(romm8[None], "RGB"), transform))
    assert np.max(np.abs(lcms[0].astype(int) - ours)) <= 1


def test_parse_truncated_or_garbage_raises_gamut_error():
    for n in (0, 10, 100, 131, 200, len(icc.PROPHOTO_ICC) - 1):
        with pytest.raises(GamutError, match="truncated or malformed"):
            icc.parse_icc(icc.PROPHOTO_ICC[:n])
    with pytest.raises(GamutError, match="truncated or malformed"):
        icc.parse_icc(b"\x00" * 600)
    broken = bytearray(icc.PROPHOTO_ICC)
    broken[132 + 4 : 132 + 8] = struct.pack(">I", 10_000)  # first tag offset past the end
    with pytest.raises(GamutError, match="truncated or malformed"):
        icc.parse_icc(bytes(broken))


def test_parse_random_corruption_never_raises_other_errors():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        data = bytearray(icc.PROPHOTO_ICC)
        for pos in rng.integers(0, len(data), size=4):
            data[pos] = int(rng.integers(0, 256))
        with contextlib.suppress(GamutError):
            icc.check_prophoto_icc(bytes(data))


def test_check_accepts_romm_and_linear():
    assert icc.check_prophoto_icc(icc.PROPHOTO_ICC) == "romm"
    linear = icc.build_matrix_trc_icc(colour.PROPHOTO_XYZ_D50, (1, 1, 0, 0, 0), "ProPhoto linear")
    assert icc.check_prophoto_icc(linear) == "linear"


def test_check_accepts_v2_adobe_prophoto_with_gamma_curv():
    pro = _v2_profile(icc.ADOBE_PROPHOTO_XYZ_D50, _curv([461]), "ProPhoto RGB")  # u8.8 1.8
    info = icc.parse_icc(pro)
    assert info.description == "ProPhoto RGB"
    assert icc.check_prophoto_icc(pro) == "romm"
    table = np.rint(colour.romm_decode(np.linspace(0, 1, 1024)) * 65535).astype(int).tolist()
    assert icc.check_prophoto_icc(_v2_profile(colour.PROPHOTO_XYZ_D50, _curv(table), "")) == "romm"
    assert icc.check_prophoto_icc(_v2_profile(colour.PROPHOTO_XYZ_D50, _curv([]), "")) == "linear"


def test_check_rejects_srgb_and_p3():
    with pytest.raises(GamutError, match="sRGB IEC61966-2.1.*not ProPhoto"):
        icc.check_prophoto_icc(icc.SRGB_ICC)
    p3 = icc.build_matrix_trc_icc(P3_XYZ_D50, icc.SRGB_TRC, "Display P3")
    with pytest.raises(GamutError, match="'Display P3' is not ProPhoto RGB: convert"):
        icc.check_prophoto_icc(p3)
    unnamed = icc.build_matrix_trc_icc(P3_XYZ_D50, icc.SRGB_TRC, "")
    with pytest.raises(GamutError, match="with Display P3 primaries"):
        icc.check_prophoto_icc(unnamed)
    lcms_srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    with pytest.raises(GamutError, match="not ProPhoto"):
        icc.check_prophoto_icc(lcms_srgb)


def test_check_rejects_wrong_tone_curve_and_colour_space():
    g22 = icc.build_matrix_trc_icc(colour.PROPHOTO_XYZ_D50, (2.2, 1, 0, 0, 0), "ProPhoto g2.2")
    with pytest.raises(GamutError, match="gamma-2.2 tone curve"):
        icc.check_prophoto_icc(g22)
    cmyk = _v2_profile(colour.PROPHOTO_XYZ_D50, _curv([]), "Coated FOGRA39", space=b"CMYK")
    with pytest.raises(GamutError, match="'Coated FOGRA39' is a CMYK profile"):
        icc.check_prophoto_icc(cmyk)
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    with pytest.raises(GamutError, match="Lab profile"):
        icc.check_prophoto_icc(lab)
