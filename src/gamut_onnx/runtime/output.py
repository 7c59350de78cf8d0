"""Restored linear ProPhoto -> samples of the output colour space, through the output graph
(`output.onnx`): a matrix to the space's primaries, clipping, HLG's inverse OOTF where it
applies, and the transfer curve as a table (exporters/output_graph.py).

The tables come from the named spaces' curves (colour/transfer.py) or from the photo's own
matrix/TRC ICC profile (colour/matrix_trc.py), so a decode-only install writes into the photo's
profile without LittleCMS. A LUT-based profile is the exception: only LittleCMS can invert it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import numpy as np

from gamut_onnx.colour.cms import IccProfile
from gamut_onnx.colour.spaces import ColourSpace, from_prophoto_matrix
from gamut_onnx.colour.transfer import TRANSFERS, hlg_inverse_ootf, hlg_oetf
from gamut_onnx.cores import cpu_threads
from gamut_onnx.errors import GamutError
from gamut_onnx.runtime.graphs import OUTPUT_PATH, session

CURVE_SAMPLES = 4097  # points of the x^(1/4) grid: within one 16-bit code of every curve
BAND_ROWS = 16  # rows per output-graph run: 64 K pixels at 4,000 wide, temporaries in cache
NO_OOTF = np.array([1.0, 0.0, 0.0, 0.0, 0.0], np.float32)


@dataclass(frozen=True)
class OutputSpace:
    """The output graph's `matrix`, `curve` and `ootf` inputs for one colour space."""

    matrix: np.ndarray  # [3, 3] float32, linear ProPhoto -> the space's linear RGB
    curve: np.ndarray  # [3, n] float32 on the x^(1/4) grid; n = 0 for linear (float) output
    ootf: np.ndarray  # [5] float32

    def feeds(self, top: int) -> dict[str, np.ndarray]:
        return {
            "matrix": self.matrix,
            "curve": self.curve,
            "ootf": self.ootf,
            "top": np.array(top, np.float32),
        }


def curve_grid(samples: int = CURVE_SAMPLES) -> np.ndarray:
    """The linear values the curve table is sampled at: (i / (n - 1))^4."""
    return (np.arange(samples) / (samples - 1)) ** 4


def named_output(space: ColourSpace, linear: bool = False) -> OutputSpace:
    """A named space's inputs; `linear`: its primaries without a curve (float output)."""
    matrix = np.asarray(from_prophoto_matrix(space.primaries), np.float32)
    ootf = NO_OOTF
    if linear or space.transfer == "linear":
        return OutputSpace(matrix, np.zeros((3, 0), np.float32), ootf)
    if space.transfer == "hlg":
        scale, exponent, weights = hlg_inverse_ootf()
        ootf = np.array([scale, exponent, *weights], np.float32)
        values = hlg_oetf(curve_grid())
    else:
        values = TRANSFERS[space.transfer][1](curve_grid())
    return OutputSpace(matrix, np.tile(values.astype(np.float32), (3, 1)), ootf)


@cache
def icc_output(profile: IccProfile) -> OutputSpace | None:
    """A matrix/TRC profile's inputs: ProPhoto -> the profile's linear RGB through the PCS
    (both profiles' colorants, as LittleCMS chains them for relative colorimetric), then each
    channel's inverse tone curve. None for a LUT-based profile."""
    from gamut_onnx.colour.icc import PROPHOTO_LINEAR_ICC
    from gamut_onnx.colour.matrix_trc import read_matrix_trc

    found = read_matrix_trc(profile.data)
    if found is None:
        return None
    prophoto = read_matrix_trc(PROPHOTO_LINEAR_ICC).colorants  # as LittleCMS reads ours
    matrix = (np.linalg.inv(found.colorants) @ prophoto).astype(np.float32)
    grid = curve_grid()
    curve = np.stack([found.encode(c, grid) for c in range(3)]).astype(np.float32)
    return OutputSpace(matrix, curve, NO_OOTF)


def output_space(space: ColourSpace | IccProfile, linear: bool = False) -> OutputSpace | None:
    """The output graph's inputs for `space`, or None where only LittleCMS can convert (a
    LUT-based ICC profile)."""
    if isinstance(space, IccProfile):
        if linear:
            raise GamutError(
                "float output is linear: use --space prophoto-linear (or another space)"
            )
        return icc_output(space)
    return named_output(space, linear)


class OutputEncoder:
    """Runs the output graph over row bands, on as many threads as the session has cores."""

    def __init__(self, provider: str = "cpu", threads: int = 0) -> None:
        # CPU: bands on every core, each a single-threaded run; CUDA: one run for the image.
        self.workers = (threads or cpu_threads()) if provider == "cpu" else 1
        self.rows = BAND_ROWS if provider == "cpu" else 1 << 16
        self._session = session(OUTPUT_PATH, provider, 1)

    def run(self, prophoto: np.ndarray, space: OutputSpace, bits: int | None) -> np.ndarray:
        """HxWx3 linear ProPhoto -> HxWx3 uint16 codes of `bits` bits, or float32 encoded
        values in [0, 1] when `bits` is None."""
        feeds = space.feeds(0 if bits is None else (1 << bits) - 1)
        name = "encoded" if bits is None else "codes"
        out = np.empty(prophoto.shape, np.float32 if bits is None else np.uint16)

        def band(top: int) -> None:
            rows = np.ascontiguousarray(prophoto[top : top + self.rows], np.float32)
            (out[top : top + self.rows],) = self._session.run([name], {**feeds, "prophoto": rows})

        with ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(band, range(0, prophoto.shape[0], self.rows)))
        return out
