"""Fitting the per-image GamutMLP (needs torch): recipe, model, starting weights, training.

Modules import in one direction: config -> model -> initial -> train -> meta (Reptile, which
reuses train's step). Importing this package does not import torch; the functions do.
"""

from gamut_onnx.fit.config import (
    PIXEL_CHOICES,
    PRESETS,
    WIDTHS,
    FitConfig,
    check_config,
    cpu_threads,
    preset,
    resolve_device,
)
from gamut_onnx.fit.initial import init_path, initial_model, load_init, read_init, save_init
from gamut_onnx.fit.model import build_model, encode_features, load_parameters, model_parameters
from gamut_onnx.fit.pool import encode_pool, sample_indices, training_pixels
from gamut_onnx.fit.step import train
from gamut_onnx.fit.train import FitResult, fit

__all__ = [
    "PIXEL_CHOICES",
    "PRESETS",
    "WIDTHS",
    "FitConfig",
    "FitResult",
    "build_model",
    "check_config",
    "cpu_threads",
    "encode_features",
    "encode_pool",
    "fit",
    "init_path",
    "initial_model",
    "load_init",
    "load_parameters",
    "model_parameters",
    "preset",
    "read_init",
    "resolve_device",
    "sample_indices",
    "save_init",
    "train",
    "training_pixels",
]
