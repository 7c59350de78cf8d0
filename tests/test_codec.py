"""The encoder's gate decision, on hand-made arrays."""

import numpy as np

from gamut_onnx.codec import choose_gate, gate_restore


def scene():
    seen = np.full((4, 4, 3), 128, np.uint8)
    seen[0, :, 0] = 255  # clipped row
    seen[1, :, 0] = 252  # near-clipped row (as JPEG noise leaves it)
    truth = np.full((4, 4, 3), 0.5)
    clipped = truth.copy()
    clipped[0:2, :, 0] = 0.4  # clipping error on both rows
    return seen, truth, clipped


def test_gate_is_chosen_when_the_mlp_hurts_in_gamut_pixels():
    seen, truth, clipped = scene()
    restored = truth.copy()
    restored[2:] += 0.05  # fixes the clipped rows but damages the rest
    assert choose_gate(restored, clipped, seen, truth, "auto", (0, 4)) == (True, 4)
    assert choose_gate(restored, clipped, seen, truth, "auto", (0,)) == (True, 0)
    np.testing.assert_array_equal(gate_restore(restored, clipped, seen, 4)[2:], clipped[2:])


def test_ungated_is_kept_when_it_is_better_and_modes_can_be_forced():
    seen, truth, clipped = scene()
    restored = truth.copy()  # perfect everywhere
    assert choose_gate(restored, clipped, seen, truth, "auto", (0, 4)) == (False, 0)
    assert choose_gate(restored, clipped, seen, truth, "on", (0, 4)) == (True, 4)
    assert choose_gate(restored + 0.1, clipped, seen, truth, "off", (0, 4)) == (False, 0)
