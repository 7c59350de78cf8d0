"""Metrics against hand-computed values (a constant-factor error is the classic bug)."""

import math

import numpy as np

from gamut_onnx.metrics import psnr, rmse


def test_rmse_and_psnr_hand_computed():
    truth = np.zeros((2, 2, 3))
    estimate = truth.copy()
    estimate[0, 0] = [0.1, 0.1, 0.1]  # 3 of 12 values off by 0.1: mse = 0.03 / 12
    assert math.isclose(rmse(estimate, truth), math.sqrt(0.03 / 12))
    assert math.isclose(psnr(estimate, truth), -20 * math.log10(math.sqrt(0.03 / 12)))
    mask = np.array([[True, False], [False, False]])
    assert math.isclose(rmse(estimate, truth, mask), 0.1)
    assert math.isclose(psnr(estimate, truth, mask), 20.0)


def test_psnr_edge_cases():
    a = np.ones((2, 2, 3))
    assert psnr(a, a) == math.inf
    assert math.isnan(psnr(a, a, np.zeros((2, 2), bool)))


# Pairs and expected values from Sharma, Wu, Dalal (2005), "The CIEDE2000 color-difference
# formula: implementation notes, supplementary test data and mathematical observations".
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_ciede2000_matches_sharma_reference_data():
    from gamut_onnx.metrics import delta_e_2000

    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    expected = np.array([p[2] for p in SHARMA])
    np.testing.assert_allclose(delta_e_2000(lab1, lab2), expected, atol=1e-4)
    np.testing.assert_allclose(delta_e_2000(lab2, lab1), expected, atol=1e-4)  # symmetric


def test_prophoto_to_lab_white_grey_and_primary():
    from gamut_onnx.metrics import prophoto_to_lab

    lab = prophoto_to_lab(np.array([[1.0, 1.0, 1.0], [0.18, 0.18, 0.18], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=1e-3)
    assert abs(lab[1, 0] - 49.496) < 0.01 and np.abs(lab[1, 1:]).max() < 1e-3  # L* of 18 % grey
    np.testing.assert_allclose(lab[2], [0, 0, 0], atol=1e-9)
