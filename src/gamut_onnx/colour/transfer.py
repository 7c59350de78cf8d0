"""Transfer functions (encoded value <-> linear light), named after their standards.

Everything is float64 numpy, values in [0, 1] unless stated. HDR curves (PQ, HLG) are mapped to
the SDR-referred range the method works in: reference white (ITU-R BT.2408, 203 cd/m2) is 1.0
and brighter light is clipped by the caller (docs/design.md, "HDR sources").
"""

from __future__ import annotations

import numpy as np

REFERENCE_WHITE_NITS = 203.0  # ITU-R BT.2408: HDR reference (diffuse) white
PQ_PEAK_NITS = 10_000.0
HLG_PEAK_NITS = 1_000.0  # BT.2100 nominal display peak for the HLG OOTF
ADOBE_RGB_GAMMA = 563.0 / 256.0  # Adobe RGB (1998), 2.19921875


def srgb_decode(v: np.ndarray) -> np.ndarray:
    """sRGB encoded value -> linear light (IEC 61966-2-1)."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, np.power((np.maximum(v, 0.0) + 0.055) / 1.055, 2.4))


def srgb_encode(x: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] -> sRGB encoded value (IEC 61966-2-1)."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)


ROMM_ET = 1.0 / 512.0  # ROMM: linear segment below Et = 1/512 (encoded 1/32), then 1/1.8


def romm_decode(v: np.ndarray) -> np.ndarray:
    """ROMM/ProPhoto encoded value in [0, 1] -> linear light (ISO 22028-2)."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(v < 16.0 * ROMM_ET, v / 16.0, np.power(np.maximum(v, 0.0), 1.8))


def romm_encode(x: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] -> ROMM/ProPhoto encoded value (inverse of `romm_decode`)."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return np.where(x < ROMM_ET, 16.0 * x, np.power(x, 1.0 / 1.8))


def gamma_decode(v: np.ndarray, gamma: float = ADOBE_RGB_GAMMA) -> np.ndarray:
    """Pure power law (Adobe RGB (1998): 563/256)."""
    return np.power(np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0), gamma)


def gamma_encode(x: np.ndarray, gamma: float = ADOBE_RGB_GAMMA) -> np.ndarray:
    return np.power(np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0), 1.0 / gamma)


_BT709_BETA, _BT709_ALPHA = 0.018053968510807, 1.09929682680944


def bt709_decode(v: np.ndarray) -> np.ndarray:
    """Inverse of the ITU-R BT.709 / BT.2020 OETF (scene light, as colour-managed apps read it)."""
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    knee = 4.5 * _BT709_BETA
    return np.where(v < knee, v / 4.5, np.power((v + _BT709_ALPHA - 1.0) / _BT709_ALPHA, 1 / 0.45))


def bt709_encode(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return np.where(
        x < _BT709_BETA, 4.5 * x, _BT709_ALPHA * np.power(x, 0.45) - (_BT709_ALPHA - 1.0)
    )


_PQ_M1, _PQ_M2 = 2610.0 / 16384.0, 2523.0 / 4096.0 * 128.0
_PQ_C1, _PQ_C2, _PQ_C3 = 3424.0 / 4096.0, 2413.0 / 4096.0 * 32.0, 2392.0 / 4096.0 * 32.0


def pq_decode(v: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 EOTF, scaled so that 203 cd/m2 is 1.0 (values above 1 are HDR highlights)."""
    p = np.power(np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0), 1.0 / _PQ_M2)
    nits = PQ_PEAK_NITS * np.power(np.maximum(p - _PQ_C1, 0.0) / (_PQ_C2 - _PQ_C3 * p), 1 / _PQ_M1)
    return nits / REFERENCE_WHITE_NITS


def pq_encode(x: np.ndarray) -> np.ndarray:
    """Inverse of `pq_decode`: 1.0 (reference white) -> 203 cd/m2 -> PQ signal (about 0.58)."""
    y = np.clip(np.asarray(x, dtype=np.float64) * REFERENCE_WHITE_NITS / PQ_PEAK_NITS, 0.0, 1.0)
    p = np.power(y, _PQ_M1)
    return np.power((_PQ_C1 + _PQ_C2 * p) / (1.0 + _PQ_C3 * p), _PQ_M2)


_HLG_A, _HLG_B, _HLG_C = 0.17883277, 0.28466892, 0.55991073
_BT2020_LUMA = np.array([0.2627, 0.6780, 0.0593])


def _hlg_system_gamma() -> float:
    return 1.2 + 0.42 * np.log10(HLG_PEAK_NITS / 1000.0)  # BT.2100: 1.2 at 1,000 cd/m2


def hlg_decode(v: np.ndarray) -> np.ndarray:
    """BT.2100 HLG signal (..., 3) -> display light through the OOTF of a 1,000 cd/m2 display,
    scaled so that 203 cd/m2 is 1.0. Needs all three channels (the OOTF uses luminance)."""
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    scene = np.where(
        v <= 0.5, v * v / 3.0, (np.exp((v - _HLG_C) / _HLG_A) + _HLG_B) / 12.0
    )  # inverse OETF, scene light in [0, 1]
    luma = np.maximum(scene @ _BT2020_LUMA, 1e-12)[..., None]
    display = HLG_PEAK_NITS * np.power(luma, _hlg_system_gamma() - 1.0) * scene
    return display / REFERENCE_WHITE_NITS


def hlg_oetf(scene: np.ndarray) -> np.ndarray:
    """The BT.2100 HLG OETF: scene light in [0, 1] -> signal."""
    scene = np.clip(np.asarray(scene, dtype=np.float64), 0.0, 1.0)
    safe = np.maximum(12.0 * scene - _HLG_B, 1e-12)
    return np.where(scene <= 1.0 / 12.0, np.sqrt(3.0 * scene), _HLG_A * np.log(safe) + _HLG_C)


def hlg_inverse_ootf() -> tuple[float, float, np.ndarray]:
    """(scale, exponent, luma weights) of `hlg_encode`'s inverse OOTF: with d = scale x
    (x = 1 at reference white), scene = d * (d . weights)^exponent."""
    gamma = _hlg_system_gamma()
    return REFERENCE_WHITE_NITS / HLG_PEAK_NITS, (1.0 - gamma) / gamma, _BT2020_LUMA


def hlg_encode(x: np.ndarray) -> np.ndarray:
    """Inverse of `hlg_decode` (inverse OOTF, then the HLG OETF)."""
    scale, exponent, weights = hlg_inverse_ootf()
    display = np.minimum(np.maximum(np.asarray(x, dtype=np.float64), 0.0) * scale, 1.0)
    luma_d = np.maximum(display @ weights, 1e-12)[..., None]
    return hlg_oetf(display * np.power(luma_d, exponent))


def linear(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


# name -> (decode, encode, H.273 transfer_characteristics code or None, per-channel?)
TRANSFERS = {
    "linear": (linear, lambda x: np.clip(linear(x), 0.0, 1.0), 8, True),
    "srgb": (srgb_decode, srgb_encode, 13, True),
    "romm": (romm_decode, romm_encode, None, True),
    "gamma22": (gamma_decode, gamma_encode, None, True),
    "bt709": (bt709_decode, bt709_encode, 1, True),
    "pq": (pq_decode, pq_encode, 16, True),
    "hlg": (hlg_decode, hlg_encode, 18, False),
}
HDR_TRANSFERS = ("pq", "hlg")
