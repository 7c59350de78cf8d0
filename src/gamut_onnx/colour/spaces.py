"""Named RGB colour spaces and the matrices between them, computed as colour-science computes them.

The reference protocol is the GamutMLP authors' code, which converts with colour-science's
`matrix_RGB_to_RGB(..., chromatic_adaptation_transform="CAT02")`: the output space's
XYZ -> RGB matrix, a von Kries CAT02 adaptation between the two white points (from their xy
chromaticities), and the input space's RGB -> XYZ matrix. colour-science publishes some of those
matrices as the standards tabulate them (ProPhoto/ROMM, sRGB and Adobe RGB to 4-5 decimals) and
derives the others from the primaries (Display P3, BT.2020); we keep the same numbers so that
carrier pixels equal the authors' (tests/test_spaces.py checks against colour-science).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from gamut_onnx.colour.transfer import TRANSFERS
from gamut_onnx.errors import GamutError

D50 = (0.3457, 0.3585)
D65 = (0.3127, 0.3290)

# CAT02 (CIECAM02) cone response matrix.
CAT02 = np.array([[0.7328, 0.4296, -0.1624], [-0.7036, 1.6975, 0.0061], [0.0030, 0.0136, 0.9834]])


def xy_to_XYZ(xy: tuple[float, float]) -> np.ndarray:  # noqa: N802 (colour-science's name)
    """CIE xy chromaticity -> XYZ with Y = 1."""
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def normalised_primary_matrix(primaries: np.ndarray, white: tuple[float, float]) -> np.ndarray:
    """RGB -> XYZ from the primaries' and the white point's xy (SMPTE RP 177)."""
    p = np.asarray(primaries, dtype=np.float64).reshape(3, 2)
    xyz = np.stack([p[:, 0] / p[:, 1], np.ones(3), (1.0 - p[:, 0] - p[:, 1]) / p[:, 1]])
    scale = np.linalg.solve(xyz, xy_to_XYZ(white))
    return xyz * scale


def chromatic_adaptation_cat02(white_in: tuple, white_out: tuple) -> np.ndarray:
    """von Kries adaptation in CAT02 cone space, from one white point's xy to another's."""
    source, target = CAT02 @ xy_to_XYZ(white_in), CAT02 @ xy_to_XYZ(white_out)
    return np.linalg.inv(CAT02) @ np.diagflat(target / source) @ CAT02


@dataclass(frozen=True)
class Primaries:
    """An RGB gamut: primaries, white, and its RGB <-> XYZ matrices as colour-science has them."""

    name: str
    label: str
    xy: tuple  # ((xr, yr), (xg, yg), (xb, yb))
    white: tuple
    cicp: int | None  # ITU-T H.273 colour_primaries code, where there is one
    tabulated: np.ndarray | None = field(default=None, repr=False)  # RGB -> XYZ as published
    tabulated_inverse: np.ndarray | None = field(default=None, repr=False)

    @property
    def to_xyz(self) -> np.ndarray:
        if self.tabulated is not None:
            return self.tabulated
        return normalised_primary_matrix(np.array(self.xy), self.white)

    @property
    def from_xyz(self) -> np.ndarray:
        if self.tabulated_inverse is not None:
            return self.tabulated_inverse
        return np.linalg.inv(self.to_xyz)


def _m(*rows: float) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(3, 3)


PRIMARIES = {
    p.name: p
    for p in (
        Primaries(
            "prophoto",
            "ProPhoto RGB (ROMM)",
            ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)),
            D50,
            None,
            _m(0.7977, 0.1352, 0.0313, 0.2880, 0.7119, 0.0001, 0.0, 0.0, 0.8249),
            _m(1.3460, -0.2556, -0.0511, -0.5446, 1.5082, 0.0205, 0.0, 0.0, 1.2123),
        ),
        Primaries(
            "bt709",
            "sRGB / BT.709",
            ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)),
            D65,
            1,
            _m(0.4124, 0.3576, 0.1805, 0.2126, 0.7152, 0.0722, 0.0193, 0.1192, 0.9505),
            _m(3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570),
        ),
        Primaries("p3", "Display P3", ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), D65, 12),
        Primaries(
            "adobe",
            "Adobe RGB (1998)",
            ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)),
            D65,
            None,
            _m(0.57667, 0.18556, 0.18823, 0.29734, 0.62736, 0.07529, 0.02703, 0.07069, 0.99134),
            _m(2.04159, -0.56501, -0.34473, -0.96924, 1.87597, 0.04156, 0.01344, -0.11836, 1.01517),
        ),
        Primaries("bt2020", "BT.2020", ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)), D65, 9),
    )
}


@cache
def rgb_to_rgb_matrix(source: str, target: str) -> np.ndarray:
    """Linear RGB in primaries `source` -> linear RGB in `target`, CAT02-adapted (read-only).
    Between the same primaries it is the identity (colour-science's tabulated pairs are not
    exact inverses, and a round trip through XYZ would move every colour by up to 1e-4)."""
    a, b = PRIMARIES[source], PRIMARIES[target]
    if source == target:
        m = np.eye(3)
        m.setflags(write=False)
        return m
    m = b.from_xyz @ (chromatic_adaptation_cat02(a.white, b.white) @ a.to_xyz)  # their order
    m.setflags(write=False)
    return m


@cache
def from_prophoto_matrix(target: str) -> np.ndarray:
    """Linear ProPhoto -> linear RGB in `target`: the exact inverse of the reading direction
    (`rgb_to_rgb_matrix(target, "prophoto")`), so a photo read and written back in its own space
    is unchanged; colour-science's own reverse matrix differs by ~1e-4 (tabulated pairs)."""
    m = np.linalg.inv(rgb_to_rgb_matrix(target, "prophoto"))
    m.setflags(write=False)
    return m


@dataclass(frozen=True)
class ColourSpace:
    """Primaries plus a transfer function: what an nclx/cICP tag or `--space NAME` names."""

    primaries: str  # key of PRIMARIES
    transfer: str  # key of transfer.TRANSFERS

    @property
    def label(self) -> str:
        """How people name the space: "Display P3", or primaries and curve for other pairs."""
        name = space_name(self)
        if name in LABELS:
            return LABELS[name]
        return f"{PRIMARIES[self.primaries].label} primaries, {self.transfer} transfer"

    @property
    def cicp(self) -> tuple[int, int] | None:
        """(colour_primaries, transfer_characteristics) codes of ITU-T H.273, if both exist."""
        p, t = PRIMARIES[self.primaries].cicp, TRANSFERS[self.transfer][2]
        return None if p is None or t is None else (p, t)


# The names users give to --space and --input-space.
NAMED_SPACES = {
    "prophoto": ColourSpace("prophoto", "romm"),
    "prophoto-linear": ColourSpace("prophoto", "linear"),
    "display-p3": ColourSpace("p3", "srgb"),
    "adobe-rgb": ColourSpace("adobe", "gamma22"),
    "rec2020": ColourSpace("bt2020", "bt709"),
    "rec2020-pq": ColourSpace("bt2020", "pq"),
    "rec2020-hlg": ColourSpace("bt2020", "hlg"),
    "srgb": ColourSpace("bt709", "srgb"),
    "srgb-linear": ColourSpace("bt709", "linear"),
}
LABELS = {
    "prophoto": "ProPhoto RGB",
    "prophoto-linear": "linear ProPhoto RGB",
    "display-p3": "Display P3",
    "adobe-rgb": "Adobe RGB (1998)",
    "rec2020": "Rec. 2020",
    "rec2020-pq": "Rec. 2100 PQ",
    "rec2020-hlg": "Rec. 2100 HLG",
    "srgb": "sRGB",
    "srgb-linear": "linear sRGB",
}
# H.273 transfer codes that name a camera OETF (BT.709, BT.601, BT.2020 10/12-bit): viewers decode
# them either with its exact inverse or as a display's BT.1886 gamma 2.4 (Chromium).
OETF_CICP_TRANSFERS = frozenset({1, 6, 14, 15})
_CICP_PRIMARIES = {p.cicp: p.name for p in PRIMARIES.values() if p.cicp is not None}
_CICP_TRANSFERS = {code: name for name, (_, _, code, _) in TRANSFERS.items() if code is not None}
_CICP_TRANSFERS |= {14: "bt709", 15: "bt709", 6: "bt709"}  # BT.2020 10/12-bit and BT.601 OETFs


def named_space(name: str) -> ColourSpace:
    if name not in NAMED_SPACES:
        raise GamutError(f"unknown colour space {name!r} (choose {', '.join(NAMED_SPACES)})")
    return NAMED_SPACES[name]


def space_name(space: ColourSpace) -> str:
    """The --space name of a named space, or 'primaries/transfer' for other combinations."""
    for name, known in NAMED_SPACES.items():
        if known == space:
            return name
    return f"{space.primaries}/{space.transfer}"


def space_from_cicp(primaries: int, transfer: int, what: str) -> ColourSpace:
    """The colour space an nclx/cICP tag names; a one-line GamutError for codes we lack."""
    if primaries not in _CICP_PRIMARIES:
        raise GamutError(
            f"{what}: colour primaries code {primaries} is not supported "
            "(BT.709 = 1, BT.2020 = 9, Display P3 = 12 are)"
        )
    if transfer not in _CICP_TRANSFERS:
        raise GamutError(
            f"{what}: transfer characteristics code {transfer} is not supported "
            "(BT.709 = 1, linear = 8, sRGB = 13, PQ = 16, HLG = 18 are)"
        )
    return ColourSpace(_CICP_PRIMARIES[primaries], _CICP_TRANSFERS[transfer])
