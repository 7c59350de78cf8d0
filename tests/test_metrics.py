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
