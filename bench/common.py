"""Shared by the bench scripts: what machine this is, and a real small fit to tile up."""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform

import numpy as np


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else whatever platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line: date, CPU, cores (all / usable by this process), GPU when torch sees one."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    line = (
        f"{datetime.datetime.now().isoformat(timespec='seconds')} | {cpu_model()} | "
        f"{os.cpu_count()} cores ({usable} usable) | OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')} | Python {platform.python_version()}"
    )
    try:
        import torch

        if torch.cuda.is_available():
            line += f" | GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return line


def small_fit(
    height: int = 96, width: int = 128, steps: int = 200, mlp_width: int = 32, context=True
):
    """A real fit (CPU, few steps) on the synthetic scene: its EncodeResult (pixels + blob),
    with carrier context (the costlier restore) unless `context` is False; no race."""
    from gamut_onnx.codec import encode
    from gamut_onnx.fit import preset
    from gamut_onnx.sample import synthetic_scene

    config = preset(
        "default", steps=steps, batch=2048, width=mlp_width, context=context, context_race=0.0
    )
    return encode(synthetic_scene(width, height), config=config, device="cpu", provider="cpu")


def tiled(srgb8: np.ndarray, height: int, width: int) -> np.ndarray:
    """The small carrier's pixels repeated to height x width (keeps its boundary fraction)."""
    reps = (-(-height // srgb8.shape[0]), -(-width // srgb8.shape[1]), 1)
    return np.ascontiguousarray(np.tile(srgb8, reps)[:height, :width])


def blob_for(blob_bytes: bytes, srgb8: np.ndarray, gated: bool):
    """The fitted weights as a Blob for another image (its size and digest) and gate mode."""
    from gamut_onnx.blob import pixel_digest, unpack_blob

    return dataclasses.replace(
        unpack_blob(blob_bytes),
        image_height=srgb8.shape[0],
        image_width=srgb8.shape[1],
        pixel_digest=pixel_digest(srgb8),
        gated=gated,
        boundary_margin=0,
    )


def gated_scores(srgb8, truth, og, edge, residual: np.ndarray) -> tuple[float, float]:
    """Whole / OG PSNR of a gated restore: `residual` [len(edge), 3] added at the flat pixel
    indices `edge`, clipped, the plain expansion elsewhere (the probes score torch fits so)."""
    from gamut_onnx.colour import srgb8_to_prophoto
    from gamut_onnx.metrics import psnr

    restored = srgb8_to_prophoto(srgb8).reshape(-1, 3)
    restored[edge] = np.clip(restored[edge] + residual, 0, 1)
    restored = restored.reshape(truth.shape)
    return psnr(restored, truth), psnr(restored, truth, og)


def print_means(label: str, rows: list[list[tuple]]) -> None:
    """The mean whole / OG PSNR of each column of per-photo (whole, OG, ...) scores."""
    import statistics

    columns = range(len(rows[0]))
    means = [[statistics.mean(r[i][j] for r in rows) for j in (0, 1)] for i in columns]
    print(f"\nmean of {len(rows)} ({label}):", "  ".join(f"{w:.2f} / {o:.2f}" for w, o in means))
