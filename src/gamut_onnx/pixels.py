"""An image's pixels under a mask: gathered into a list, or written back from one.

numpy's boolean indexing of an HxWx3 image by an HxW mask walks both leading axes with its
general index iterator; on the flattened pixels `np.compress` and an index write do the same
in a quarter of the time (0.01 s against 0.045 s to gather 1.5 M of 12 M pixels). Same
values, same order (row-major), same dtype.
"""

from __future__ import annotations

import numpy as np


def _check_covers(image: np.ndarray, mask: np.ndarray) -> None:
    if image.shape[: mask.ndim] != mask.shape:
        raise ValueError(f"mask {mask.shape} does not cover image {image.shape}")


def masked(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`image[mask]` for a mask over the leading axes of `image` (HxW over HxW or HxWxC, or
    [n] over [n] or [n, C])."""
    _check_covers(image, mask)
    flat = mask.reshape(-1)
    return np.compress(flat, image.reshape(flat.size, *image.shape[mask.ndim :]), axis=0)


def put_masked(image: np.ndarray, mask: np.ndarray, values: np.ndarray) -> None:
    """`image[mask] = values`, for `masked`'s shapes; `image` is written in place."""
    _check_covers(image, mask)
    if not image.flags.c_contiguous:  # a reshape would copy: the write would be lost
        image[mask] = values
        return
    flat = image.reshape(mask.size, *image.shape[mask.ndim :])
    flat[np.flatnonzero(mask)] = values
