"""Restored outputs: every format and space, tagged right, read back by independent decoders,
and a photo written back into its own space unchanged."""

from __future__ import annotations

import json
import zlib

import imagecodecs
import numpy as np
import pytest
import tifffile
from conftest import FAST_FIT, check_ok, run_cli

from gamut_onnx.colour import icc
from gamut_onnx.colour.spaces import NAMED_SPACES, from_prophoto_matrix, space_name
from gamut_onnx.colour.transfer import TRANSFERS
from gamut_onnx.container import png
from gamut_onnx.container.png import make_chunk
from gamut_onnx.errors import GamutError
from gamut_onnx.read import read_prophoto
from gamut_onnx.read.isobmff import read_heif_header
from gamut_onnx.read.jxl_header import read_header
from gamut_onnx.sample import synthetic_scene
from gamut_onnx.write import coded_space, write_restored_image

P3_XY = (0.680, 0.320, 0.265, 0.690, 0.150, 0.060)
GAMMA_P3_ICC = imagecodecs.cms_profile(
    "rgb", whitepoint=(0.3127, 0.329), primaries=P3_XY, gamma=2.2
)
# Display P3 as ICC makers write it: colorants adapted to D50 with Bradford, sRGB curve.
BRADFORD_P3_ICC = icc.build_matrix_trc_icc(
    icc.BRADFORD_D65_TO_D50 @ np.array([[0.4866, 0.2657, 0.1982], [0.2290, 0.6917, 0.0793],
                                        [0.0, 0.0451, 1.0439]]),
    icc.SRGB_TRC, "Display P3 (another maker)", icc.BRADFORD_D65_TO_D50,
)  # fmt: skip


def p3_codes(h: int = 48, w: int = 64) -> np.ndarray:
    linear = np.clip(synthetic_scene(w, h, 7) @ from_prophoto_matrix("p3").T, 0, 1)
    return np.rint(TRANSFERS["srgb"][1](linear) * 65535).astype(np.uint16)


def chunks(path) -> dict:
    return png.ancillary_chunks(path.read_bytes())


@pytest.fixture(scope="module")
def p3_carrier(tmp_path_factory):
    """A Display P3 photo tagged only with cICP, encoded to a PNG carrier."""
    folder = tmp_path_factory.mktemp("p3")
    source = folder / "p3.png"
    raw = imagecodecs.png_encode(p3_codes())
    source.write_bytes(raw[:33] + make_chunk(b"cICP", bytes([12, 13, 0, 1])) + raw[33:])
    carrier = folder / "carrier.png"
    check_ok(run_cli("encode", source, "-o", carrier, *FAST_FIT))
    return {"dir": folder, "source": source, "carrier": carrier}


def test_decode_defaults_to_the_source_space_with_icc_and_cicp(p3_carrier, tmp_path):
    out = tmp_path / "back.png"
    report = json.loads(
        check_ok(run_cli("decode", p3_carrier["carrier"], "-o", out, "--json")).stdout
    )
    assert (report["space"], report["depth"]) == ("display-p3", "16")
    found = chunks(out)
    assert found[b"cICP"] == [bytes([12, 13, 0, 1])]
    profile = png.iccp_profile(found)
    assert profile == icc.profile_for(NAMED_SPACES["display-p3"])
    assert imagecodecs.cms_profile_validate(profile) is None  # LittleCMS accepts it
    assert imagecodecs.png_decode(out.read_bytes()).dtype == np.uint16  # libpng reads it
    assert read_prophoto(out).space_name == "display-p3"


@pytest.mark.parametrize(
    ("suffix", "args", "space", "check"),
    [
        (".avif", (), "display-p3", "avif10"),
        (".avif", ("--space", "rec2020", "--depth", "12"), "rec2020", "avif12"),
        (".jxl", (), "display-p3", "jxl"),
        (".tif", ("--space", "prophoto-linear", "--depth", "float"), "prophoto-linear", "float"),
        (".tif", ("--space", "prophoto"), "prophoto", "tiff"),
        (".png", ("--space", "rec2020-pq"), "rec2020-pq", "pq"),
        (".png", ("--space", "rec2020"), "rec2020", "oetf"),
    ],
    ids=["avif10", "avif12-rec2020", "jxl", "float-tiff", "prophoto-tiff", "png-pq", "png-oetf"],
)
def test_every_output_format_reads_back_in_its_space(
    p3_carrier, tmp_path, suffix, args, space, check
):
    out = tmp_path / f"back{suffix}"
    check_ok(run_cli("decode", p3_carrier["carrier"], "-o", out, *args))
    data = out.read_bytes()
    if check.startswith("avif"):
        header = read_heif_header(data)
        # Rec. 2020 goes out with the sRGB curve (13): code 1 is read two ways by viewers.
        coded = coded_space("avif", NAMED_SPACES[space])
        assert header.nclx[:2] == coded.cicp and header.bit_depth == int(check[4:])
        assert coded.cicp == (9, 13) if space == "rec2020" else coded == NAMED_SPACES[space]
        assert imagecodecs.avif_decode(data).max() < (1 << int(check[4:]))
    elif check == "jxl":
        assert read_header(data).colour.primaries_name == "p3"
        assert imagecodecs.jpegxl_decode(data).dtype == np.uint16
    elif check in ("float", "tiff"):
        with tifffile.TiffFile(out) as tif:
            page = tif.pages.first
            assert page.dtype == (np.float32 if check == "float" else np.uint16)
            assert page.tags.valueof(34675) == icc.profile_for(NAMED_SPACES[space])
    elif check == "oetf":  # the exact camera curve in the profile, no cICP viewers misread
        assert b"cICP" not in chunks(out)
        assert png.iccp_profile(chunks(out)) == icc.profile_for(NAMED_SPACES[space])
    else:  # PQ: cICP only, since an ICC matrix/TRC profile cannot say PQ
        assert chunks(out)[b"cICP"] == [bytes([9, 16, 0, 1])] and b"iCCP" not in chunks(out)
    restored = read_prophoto(out)
    written = coded_space(suffix.lstrip("."), NAMED_SPACES[space])
    assert restored.space_name == space_name(written)
    assert restored.prophoto.shape == read_prophoto(p3_carrier["source"]).prophoto.shape


@pytest.mark.parametrize("profile", ["gamma-p3", "bradford-p3"])
def test_an_icc_source_comes_back_with_its_own_profile(tmp_path, profile):
    data = GAMMA_P3_ICC if profile == "gamma-p3" else BRADFORD_P3_ICC
    source = tmp_path / "p3.tif"
    tifffile.imwrite(source, p3_codes(), photometric="rgb", iccprofile=data)
    carrier, out = tmp_path / "c.png", tmp_path / "back.png"
    check_ok(run_cli("encode", source, "-o", carrier, *FAST_FIT))
    check_ok(run_cli("decode", carrier, "-o", out))
    found = chunks(out)
    assert png.iccp_profile(found) == data and b"cICP" not in found
    # AVIF takes codes, not profiles: a profile of a named space (another maker's Display P3)
    # goes out as that space; one of no named space (P3 primaries, gamma 2.2) cannot.
    avif = run_cli("decode", carrier, "-o", tmp_path / "back.avif")
    if profile == "bradford-p3":
        check_ok(avif)
        assert read_heif_header((tmp_path / "back.avif").read_bytes()).nclx[:2] == (12, 13)
    else:
        assert avif.returncode == 1 and "AVIF can only be tagged" in avif.stderr


@pytest.mark.parametrize("name", ["display-p3", "adobe-rgb", "rec2020", "prophoto", "srgb"])
def test_a_photo_written_back_into_its_own_space_is_unchanged(tmp_path, name):
    space = NAMED_SPACES[name]
    codes = np.random.default_rng(8).integers(0, 65536, (31, 37, 3), dtype=np.uint16)
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, codes, photometric="rgb")
    image = read_prophoto(source, name)
    out = tmp_path / "out.tif"
    write_restored_image(out, image.prophoto, None, space)
    back = tifffile.imread(out)
    # Colours ProPhoto holds come back exactly (within float32 rounding: 1 code in 65535);
    # the few that fall outside it (some P3 reds) were clipped when read.
    inside = np.all((image.prophoto > 0) & (image.prophoto < 1), axis=-1)
    if space.transfer == "gamma22":  # a pure power curve is infinitely steep at black: compare
        decode = TRANSFERS["gamma22"][0]  # in linear light, where the round trip is exact
        error = np.abs(decode(back[inside] / 65535) - decode(codes[inside] / 65535)).max()
        assert error < 1e-6
    else:
        assert np.abs(back[inside].astype(int) - codes[inside]).max() <= 1


@pytest.mark.parametrize(
    ("name", "args", "fragment"),
    [
        ("x.avif", ("--space", "adobe-rgb"), "AVIF can only be tagged"),
        ("x.png", ("--depth", "12"), "--depth 12 is not available for PNG"),
        ("x.exr", (), "EXR output is not available"),
        ("x.tif", ("--space", "rec2020-pq"), "TIFF cannot be tagged"),
        ("x.png", ("--space", "cmyk"), "unknown colour space"),
    ],
)
def test_output_choices_that_cannot_work_fail_before_restoring(
    p3_carrier, tmp_path, name, args, fragment
):
    result = run_cli("decode", p3_carrier["carrier"], "-o", tmp_path / name, *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and fragment in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_png_writer_streams_bands_that_libpng_reads(tmp_path):
    from gamut_onnx.write.png16 import png16_stream

    image = np.random.default_rng(9).integers(0, 65536, (700, 33, 4), dtype=np.uint16)
    bands = [image[i : i + 256] for i in range(0, 700, 256)]
    data = b"".join(png16_stream(bands, 33, 700, 4, icc.PROPHOTO_ICC, (1, 13)))
    np.testing.assert_array_equal(imagecodecs.png_decode(data), image)
    iccp = png.ancillary_chunks(data)[b"iCCP"][0]
    assert zlib.decompress(iccp[iccp.index(b"\0") + 2 :]) == icc.PROPHOTO_ICC


def test_bands_are_produced_ahead_in_order_and_errors_reach_the_writer():
    from gamut_onnx.runtime.decode import ahead

    assert list(ahead(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise GamutError("band 2 failed")

    got = []
    with pytest.raises(GamutError, match="band 2 failed"):
        for item in ahead(failing()):
            got.append(item)
    assert got == [1]
    stream = ahead(iter(range(10**6)))  # a writer that stops early does not hang the producer
    assert next(stream) == 0
    stream.close()


def test_avif_is_lossless_unless_a_quality_is_asked_for(p3_carrier, tmp_path):
    lossless, lossy = tmp_path / "lossless.avif", tmp_path / "q90.avif"
    png16 = tmp_path / "p3.png"
    check_ok(run_cli("decode", p3_carrier["carrier"], "-o", png16, "--space", "display-p3"))
    report = json.loads(check_ok(run_cli("decode", p3_carrier["carrier"], "-o", lossless,
                                         "--json")).stdout)  # fmt: skip
    assert report["quality"] == 100 and report["depth"] == "10"
    report = json.loads(check_ok(run_cli("decode", p3_carrier["carrier"], "-o", lossy,
                                         "--quality", "90", "--json")).stdout)  # fmt: skip
    assert report["quality"] == 90
    # Lossless: the 10-bit codes are the 16-bit PNG's, rounded; quality 90 is not.
    ten_bit = np.rint(imagecodecs.png_decode(png16.read_bytes()) / 65535 * 1023)
    assert np.abs(imagecodecs.avif_decode(lossless.read_bytes()) - ten_bit).max() <= 1
    assert np.abs(imagecodecs.avif_decode(lossy.read_bytes()) - ten_bit).max() > 1
    assert lossy.stat().st_size < lossless.stat().st_size
    refused = run_cli("decode", p3_carrier["carrier"], "-o", tmp_path / "x.png", "--quality", "90")
    assert refused.returncode == 1 and refused.stderr.strip().count("\n") == 0
    assert "--quality applies to AVIF output only" in refused.stderr
    assert not (tmp_path / "x.png").exists()
