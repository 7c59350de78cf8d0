"""The encoder's mode decision, on hand-made arrays."""

import numpy as np
import pytest

from gamut_onnx.metrics import psnr, squared_error
from gamut_onnx.scoring import candidate_modes, gate_restore, gated_error, score_modes


def scene():
    seen = np.full((4, 4, 3), 128, np.uint8)
    seen[0, :, 0] = 255  # clipped row
    seen[1, :, 0] = 252  # near-clipped row (as JPEG noise leaves it)
    truth = np.full((4, 4, 3), 0.5)
    clipped = truth.copy()
    clipped[0:2, :, 0] = 0.4  # clipping error on both rows
    return seen, truth, clipped


def best(restored, clipped, seen, truth, gate, margins):
    errors = squared_error(restored, truth), squared_error(clipped, truth)
    scores = score_modes(*errors, seen, candidate_modes(gate, margins))
    for (gated, margin), score in scores.items():  # each equals the PSNR of its restore
        image = gate_restore(restored, clipped, seen, margin) if gated else restored
        assert score == pytest.approx(psnr(image, truth), abs=1e-9)
        if gated:
            np.testing.assert_array_equal(
                gated_error(*errors, seen, margin), squared_error(image, truth)
            )
    return max(scores, key=scores.get)


def test_candidates_follow_the_gate_setting():
    assert candidate_modes("off", (0, 4)) == [(False, 0)]
    assert candidate_modes("on", (0, 4)) == [(True, 0), (True, 4)]
    assert candidate_modes("auto", (0,)) == [(False, 0), (True, 0)]


def test_gate_is_chosen_when_the_mlp_hurts_in_gamut_pixels():
    seen, truth, clipped = scene()
    restored = truth.copy()
    restored[2:] += 0.05  # fixes the clipped rows but damages the rest
    assert best(restored, clipped, seen, truth, "auto", (0, 4)) == (True, 4)
    assert best(restored, clipped, seen, truth, "auto", (0,)) == (True, 0)
    np.testing.assert_array_equal(gate_restore(restored, clipped, seen, 4)[2:], clipped[2:])


def test_ungated_is_kept_when_it_is_better_and_modes_can_be_forced():
    seen, truth, clipped = scene()
    restored = truth.copy()  # perfect everywhere
    assert best(restored, clipped, seen, truth, "auto", (0, 4)) == (False, 0)
    assert best(restored, clipped, seen, truth, "on", (0, 4)) == (True, 4)
    assert best(restored + 0.1, clipped, seen, truth, "off", (0, 4)) == (False, 0)
