"""The output graph: linear ProPhoto into every named space and into matrix/TRC ICC profiles,
against float64 curves and against LittleCMS, without LittleCMS on the decode side."""

from __future__ import annotations

import struct

import imagecodecs
import numpy as np
import pytest

from gamut_onnx.colour import icc
from gamut_onnx.colour.cms import IccProfile, icc_to_prophoto, prophoto_to_icc
from gamut_onnx.colour.matrix_trc import read_matrix_trc
from gamut_onnx.colour.spaces import NAMED_SPACES, PRIMARIES, from_prophoto_matrix
from gamut_onnx.colour.transfer import TRANSFERS
from gamut_onnx.errors import GamutError
from gamut_onnx.runtime.output import OutputEncoder, output_space


def prophoto_samples(h: int = 120, w: int = 150) -> np.ndarray:
    """Random colours (squared: many dark ones), a ramp of deep shadows, and a little outside
    [0, 1] (the output clips)."""
    rng = np.random.default_rng(5)
    values = (rng.random((h, w, 3)) ** 2).astype(np.float32)
    values[0, :100] = np.linspace(0.0, 2e-5, 100)[:, None]
    values[1, :10] = [[1.2, -0.1, 0.5]]
    return values


@pytest.mark.parametrize("name", sorted(NAMED_SPACES))
@pytest.mark.parametrize("bits", [10, 12, 16])
def test_named_spaces_within_one_code_of_the_exact_curve(name, bits):
    space = NAMED_SPACES[name]
    prophoto = prophoto_samples()
    codes = OutputEncoder(threads=1).run(prophoto, output_space(space), bits)
    linear = np.clip(prophoto.astype(np.float64) @ from_prophoto_matrix(space.primaries).T, 0, 1)
    exact = TRANSFERS[space.transfer][1](linear) * ((1 << bits) - 1)
    assert codes.dtype == np.uint16 and codes.shape == prophoto.shape
    assert np.abs(codes - exact).max() <= 1.0, name


def test_float_output_is_the_clipped_linear_space():
    prophoto = prophoto_samples()
    out = OutputEncoder().run(prophoto, output_space(NAMED_SPACES["display-p3"], True), None)
    expected = np.clip(prophoto.astype(np.float64) @ from_prophoto_matrix("p3").T, 0, 1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=0, atol=2e-7)


def _with_trc(profile: bytes, trc: bytes) -> bytes:
    """`profile` with every TRC tag's data replaced by `trc` (tag table rewritten)."""
    (count,) = struct.unpack_from(">I", profile, 128)
    tags = []
    for k in range(count):
        sig, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * k)
        tags.append((sig, trc if sig.endswith(b"TRC") else profile[offset : offset + size]))
    return icc.assemble_icc(tags)


P3_COLORANTS = icc.cat02_to_pcs(PRIMARIES["p3"].white) @ PRIMARIES["p3"].to_xyz
P3_SRGB_CURVE = icc.build_matrix_trc_icc(P3_COLORANTS, icc.SRGB_TRC, "P3 para 3")
PARA_4 = [round(v * 65536) for v in (2.2, 1 / 1.1, 0.1 / 1.1, 0.20876, 0.05, 0.0, 0.002)]
TABLE = np.rint(np.linspace(0, 1, 1024) ** 2.2 * 65535).astype(">u2").tobytes()
PROFILES = {
    "para type 3 (sRGB curve)": P3_SRGB_CURVE,
    # Y = (aX + b)^g + e above d, cX + f below: continuous, increasing, a black offset f.
    "para type 4": _with_trc(P3_SRGB_CURVE, b"para\0\0\0\0" + struct.pack(">HH7i", 4, 0, *PARA_4)),
    "curv gamma 2.2": _with_trc(P3_SRGB_CURVE, b"curv\0\0\0\0" + struct.pack(">IH", 1, 563)),
    "curv table": _with_trc(P3_SRGB_CURVE, b"curv\0\0\0\0" + struct.pack(">I", 1024) + TABLE),
    "curv identity": _with_trc(P3_SRGB_CURVE, b"curv\0\0\0\0" + struct.pack(">I", 0)),
    "LittleCMS gamma": imagecodecs.cms_profile(
        "rgb",
        whitepoint=(0.3127, 0.329),
        primaries=(0.68, 0.32, 0.265, 0.69, 0.15, 0.06),
        gamma=1.8,
    ),  # fmt: skip
    "Adobe RGB v2": icc.profile_for(NAMED_SPACES["adobe-rgb"]),
}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_matrix_trc_profiles_match_littlecms(name):
    """The graph's conversion into a matrix/TRC profile is what LittleCMS writes: within 1e-4
    in linear light read back through LittleCMS, and almost everywhere within a 16-bit code
    (not where a sampled curve is flat, where every code is the same light, nor at the
    s15.16-rounded kink of a two-piece curve, where two inverses exist)."""
    profile = IccProfile(PROFILES[name], name)
    prophoto = prophoto_samples()
    codes = OutputEncoder().run(prophoto, output_space(profile), 16)
    reference = np.rint(np.clip(prophoto_to_icc(prophoto, profile), 0, 1) * 65535)
    if name != "curv table":  # its first samples are all 0: a flat run near black
        assert np.percentile(np.abs(codes - reference), 99.9) <= 1, name
    ours, theirs = (
        icc_to_prophoto(codes, profile),
        icc_to_prophoto(reference.astype(np.uint16), profile),
    )
    assert np.abs(ours - theirs).max() < 1e-4, name


def test_lut_profiles_are_left_to_littlecms():
    without_trc = icc.assemble_icc([t for t in _tags_of(P3_SRGB_CURVE) if t[0] != b"gTRC"])
    assert read_matrix_trc(without_trc) is None
    with_lut_tag = icc.assemble_icc([(b"A2B0", b"mft2" + bytes(100)), *_tags_of(P3_SRGB_CURVE)])
    assert read_matrix_trc(with_lut_tag) is None
    assert output_space(IccProfile(with_lut_tag, "lut")) is None


def _tags_of(profile: bytes) -> list[tuple[bytes, bytes]]:
    (count,) = struct.unpack_from(">I", profile, 128)
    out = []
    for k in range(count):
        sig, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * k)
        out.append((sig, profile[offset : offset + size]))
    return out


@pytest.mark.parametrize(
    "damage, fragment",
    [
        (lambda p: p[:131], "too short"),
        (lambda p: p[:128] + struct.pack(">I", 5000) + p[132:], "tag table"),
        (lambda p: _with_trc(p, b"curv\0\0\0\0" + struct.pack(">I", 99)), "cut short"),
        (lambda p: _with_trc(p, b"para\0\0\0\0" + struct.pack(">HH", 9, 0)), "type 9"),
        (lambda p: _with_trc(p, b"sf32\0\0\0\0"), "tone curve has type"),
    ],
)
def test_damaged_profiles_are_one_line_errors(damage, fragment):
    with pytest.raises(GamutError, match=fragment):
        read_matrix_trc(damage(P3_SRGB_CURVE))


def test_singular_colorants_are_refused():
    flat = icc.build_matrix_trc_icc(np.ones((3, 3)), icc.SRGB_TRC, "singular")
    with pytest.raises(GamutError, match="singular"):
        read_matrix_trc(flat)
