"""pixels.masked / put_masked: numpy's boolean indexing, faster, for every shape they take."""

import numpy as np
import pytest

from gamut_onnx.pixels import masked, put_masked


@pytest.mark.parametrize(
    "shape,dtype",
    [
        ((37, 53, 3), np.uint8),
        ((37, 53, 4), np.float32),
        ((37, 53), np.float32),
        ((91, 3), np.float64),
    ],
)
def test_masked_is_boolean_indexing(shape, dtype):
    rng = np.random.default_rng(3)
    image = (rng.random(shape) * 200).astype(dtype)
    mask = rng.random(shape[: 1 if len(shape) == 2 and shape[1] == 3 else 2]) < 0.3
    assert masked(image, mask).shape == image[mask].shape
    assert np.array_equal(masked(image, mask), image[mask])
    values = (rng.random(image[mask].shape) * 50).astype(dtype)
    expected, got = image.copy(), image.copy()
    expected[mask] = values
    put_masked(got, mask, values)
    assert np.array_equal(got, expected)


def test_non_contiguous_images():
    rng = np.random.default_rng(4)
    base = rng.integers(0, 255, (20, 30, 4), dtype=np.uint8)
    mask = rng.random((20, 30)) < 0.5
    view = base[..., :3]  # what an image with alpha passes
    assert np.array_equal(masked(view, mask), view[mask])
    values = rng.integers(0, 255, (int(mask.sum()), 3), dtype=np.uint8)
    expected = base.copy()
    expected[..., :3][mask] = values
    put_masked(view, mask, values)  # written through the view, not into a copy
    assert np.array_equal(base, expected)


def test_a_mask_of_another_shape_is_refused():
    with pytest.raises(ValueError, match="does not cover"):
        masked(np.zeros((4, 5, 3)), np.ones((5, 4), bool))
    with pytest.raises(ValueError, match="does not cover"):
        put_masked(np.zeros((4, 5, 3)), np.ones((4, 6), bool), np.zeros((24, 3)))
