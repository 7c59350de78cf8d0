"""cores: numpy's BLAS is held to one thread while encoding, and given back afterwards."""

import numpy as np
import pytest

from gamut_onnx.cores import one_blas_thread

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads() -> list[int]:
    return [
        pool["num_threads"]
        for pool in threadpoolctl.threadpool_info()
        if pool["user_api"] == "blas"
    ]


def test_one_blas_thread_inside_the_block_only():
    np.ones((4, 4)) @ np.ones((4, 4))  # numpy's BLAS is loaded
    before = blas_threads()
    assert before, "numpy's BLAS was not found"
    with one_blas_thread():
        assert blas_threads() == [1] * len(before)
        product = np.arange(12.0).reshape(4, 3) @ np.eye(3)
    assert blas_threads() == before
    assert np.array_equal(product, np.arange(12.0).reshape(4, 3))
