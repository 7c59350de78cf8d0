"""Where a fit starts: the shipped meta-learned weights (init files) or PyTorch's default.

An init file is an .npz with the six weight arrays (W as (in, out)) and a JSON `meta` record:
format name and version, width, octaves, and how it was trained (docs/design.md).
"""

from __future__ import annotations

import io
import json
import os
from functools import cache
from pathlib import Path

import numpy as np

from gamut_onnx.errors import GamutError
from gamut_onnx.fit.config import FitConfig
from gamut_onnx.fit.model import build_model, load_parameters

INIT_FORMAT = "gamut-onnx-init"
INIT_VERSION = 1
INIT_DIR = Path(__file__).with_name("init")
PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")


def init_path(width: int, octaves: int) -> Path:
    """Where the shipped init for this architecture lives."""
    return INIT_DIR / f"meta_w{width}_o{octaves}.npz"


def save_init(path: Path, params: list[np.ndarray], width: int, octaves: int, about: dict) -> None:
    """Write an init file atomically."""
    from gamut_onnx.files import write_atomic

    record = {"format": INIT_FORMAT, "version": INIT_VERSION, "width": width, "octaves": octaves}
    buffer = io.BytesIO()
    np.savez(
        buffer,
        meta=np.array(json.dumps({**record, **about}, sort_keys=True)),
        **{n: np.asarray(p, np.float32) for n, p in zip(PARAM_NAMES, params, strict=True)},
    )
    write_atomic(Path(path), buffer.getvalue())


def read_init(path: Path) -> tuple[list[np.ndarray], dict]:
    """(weights, meta record) of an init file, checked."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            params = [np.asarray(data[n], np.float32) for n in PARAM_NAMES]
    except (OSError, KeyError, ValueError) as exc:
        raise GamutError(f"{path}: not a gamut-onnx init file ({exc})") from exc
    if meta.get("format") != INIT_FORMAT or meta.get("version") != INIT_VERSION:
        raise GamutError(f"{path}: unsupported init format {meta.get('format')!r}")
    return params, meta


@cache
def load_init(width: int, octaves: int) -> list[np.ndarray] | None:
    """The shipped meta-learned weights for this architecture, or None when there are none."""
    path = init_path(width, octaves)
    return read_init(path)[0] if path.exists() else None


def initial_model(config: FitConfig):
    """A fresh torch model: the shipped meta-learned weights when `config.init` asks for them
    and they exist for this width and octave count, else PyTorch's default initialisation."""
    import torch

    torch.manual_seed(config.seed)
    model = build_model(config.width, config.octaves, config.context)
    if config.init == "random":
        return model, "random"
    if config.init == "meta":
        init = load_init(config.width, config.octaves)
    else:
        init, about = read_init(config.init)
        if (about["width"], about["octaves"]) != (config.width, config.octaves):
            raise GamutError(
                f"{config.init} is for width {about['width']}, {about['octaves']} octaves, "
                f"not width {config.width}, {config.octaves} octaves"
            )
    if init is None:
        return model, "random"
    if config.context:  # zero rows: the context inputs start with no effect
        rows = model[0].in_features - init[0].shape[0]
        w1 = np.concatenate([init[0], np.zeros((rows, init[0].shape[1]), np.float32)])
        init = [w1, *init[1:]]
    load_parameters(model, [torch.from_numpy(w) for w in init])
    return model, "meta" if config.init == "meta" else os.path.basename(config.init)
