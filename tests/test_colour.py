"""Colour science against hand-computed values."""

import numpy as np
import pytest

from gamut_onnx import colour


def test_romm_curve_values_and_continuity():
    assert colour.romm_decode(np.array(1.0)) == pytest.approx(1.0)
    assert colour.romm_decode(np.array(0.5)) == pytest.approx(0.5**1.8)
    assert colour.romm_decode(np.array(1 / 64)) == pytest.approx(1 / 64 / 16)  # linear toe
    # The two segments meet at encoded 1/32 = linear 1/512.
    assert colour.romm_decode(np.array(1 / 32)) == pytest.approx(1 / 512, rel=1e-6)
    assert pytest.approx(1 / 512, rel=0.01) == (1 / 32) ** 1.8
    x = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(colour.romm_encode(colour.romm_decode(x)), x, atol=1e-12)


def test_srgb_curve_values():
    assert colour.srgb_decode(np.array(0.04045)) == pytest.approx(0.04045 / 12.92)
    assert colour.srgb_decode(np.array(0.5)) == pytest.approx(((0.5 + 0.055) / 1.055) ** 2.4)
    x = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(colour.srgb_encode(colour.srgb_decode(x)), x, atol=1e-12)
    assert colour.SRGB8_TO_LINEAR[0] == 0 and colour.SRGB8_TO_LINEAR[255] == 1


def test_matrices_are_the_reference_protocols():
    # colour-science's CAT02 ProPhoto <-> sRGB (the GamutMLP authors' code), to 4 decimals as
    # docs/design.md prints them; tests/test_spaces.py compares every digit with colour-science.
    expected = [[2.0365, -0.7376, -0.2993], [-0.2257, 1.2232, 0.0027], [-0.0105, -0.1349, 1.1452]]
    np.testing.assert_allclose(colour.PROPHOTO_TO_SRGB, expected, atol=6e-5)
    back = [[0.5288, 0.3341, 0.1374], [0.0975, 0.8790, 0.0234], [0.0164, 0.1066, 0.8772]]
    np.testing.assert_allclose(colour.SRGB_TO_PROPHOTO, back, atol=6e-5)
    # colour-science tabulates both spaces' matrices to 4 decimals, so the pair is an inverse
    # only to about 1e-4 and white maps to white within 3.6e-4; the protocol keeps that.
    np.testing.assert_allclose(colour.PROPHOTO_TO_SRGB.sum(axis=1), 1.0, atol=4e-4)
    np.testing.assert_allclose(
        colour.PROPHOTO_TO_SRGB @ colour.SRGB_TO_PROPHOTO, np.eye(3), atol=2e-4
    )


def test_quantisation_rounds_rather_than_truncates():
    values = np.array([0.0, 100.6 / 255, 100.4 / 255, 1.0, 1.2, -0.1])
    assert colour.quantise_8bit(values).tolist() == [0, 101, 100, 255, 255, 0]


def test_reduction_clips_out_of_gamut_colours():
    pure_green = np.array([[[0.0, 1.0, 0.0]]])  # ProPhoto green: far outside sRGB
    assert colour.prophoto_to_srgb8(pure_green)[0, 0].tolist() == [0, 255, 0]
    grey = np.full((1, 1, 3), 0.18)
    assert colour.prophoto_to_srgb8(grey)[0, 0].tolist() == [118, 118, 118]


def test_og_mask_excludes_all_high_and_all_low():
    srgb = np.array(
        [
            [0.5, 0.5, 0.5],
            [1.2, 0.5, 0.5],
            [-0.1, 0.5, 0.5],
            [1.2, 1.1, 1.3],
            [-0.1, -0.2, -0.05],
            [0.9, 0.05, 0.9],
        ]
    )
    prophoto = colour.apply_matrix(srgb, colour.SRGB_TO_PROPHOTO)
    assert colour.out_of_gamut_mask(prophoto).tolist() == [False, True, True, False, False, False]


def test_boundary_mask():
    px = np.array([[[0, 10, 20], [1, 254, 3], [255, 255, 255], [7, 255, 9]]], np.uint8)
    assert colour.boundary_mask(px)[0].tolist() == [True, False, True, True]


def test_srgb8_to_prophoto_matches_float64_reference():
    px = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    reference = np.clip(
        colour.apply_matrix(colour.srgb_decode(px / 255.0), colour.SRGB_TO_PROPHOTO), 0, 1
    )
    result = colour.srgb8_to_prophoto(px)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, reference, atol=2e-7)


@pytest.mark.parametrize("transform", [1, 2])
def test_srgb8_to_prophoto_tables_equal_the_graphs_products_for_every_colour(transform):
    """The (R, G) + B tables give the float32 products and sums of the fixed graph, bit for bit."""
    from gamut_onnx.colour.protocol import SRGB8_TO_LINEAR, expansion_matrix

    codes = np.arange(256, dtype=np.uint8)
    every = np.stack(np.meshgrid(codes, codes, codes, indexing="ij"), -1).reshape(4096, 4096, 3)
    lin, m = SRGB8_TO_LINEAR[every], expansion_matrix(transform)
    expected = np.empty(lin.shape, np.float32)
    for i in range(3):
        expected[..., i] = lin[..., 0] * m[i, 0] + lin[..., 1] * m[i, 1] + lin[..., 2] * m[i, 2]
    expected = np.clip(expected, np.float32(0), np.float32(1))
    result = colour.srgb8_to_prophoto(every, transform)
    assert np.array_equal(result.view(np.uint32), expected.view(np.uint32))
