"""Shared fixtures: run the real CLI in a subprocess, and carriers encoded once per session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("gamut-onnx")
# Fast, deterministic fits: tiny images, few steps, fitted on the CPU.
FAST_FIT = ("--steps", "150", "--batch", "2048", "--device", "cpu", "--seed", "3")


def run_cli(*args, block_torch=False, block=(), cwd=None):
    """Run `gamut-onnx ARGS` in a fresh interpreter; importing torch (block_torch) or the
    modules in `block` fails there, as if they were not installed."""
    block = (*block, "torch") if block_torch else tuple(block)
    if block or not SCRIPT.exists():
        prefix = "".join(f"sys.modules[{name!r}] = None; " for name in block)
        main = "import sys; " + prefix + "from gamut_onnx.cli import main; main()"
        cmd = [sys.executable, "-c", main]
    else:
        cmd = [str(SCRIPT)]
    env = dict(os.environ)
    # torch fits with one OpenMP thread per core; busy-waiting threads crawl when another
    # process holds a core (10x slower on a loaded 2-core runner), passive waiting does not.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return subprocess.run(
        [*cmd, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def check_ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def make_source(path, width=96, height=64):
    check_ok(run_cli("sample", "-o", path, "--width", width, "--height", height))
    return path


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    """A 96x64 ProPhoto source with a PNG and a TIFF carrier encoded from it (with --json)."""
    folder = tmp_path_factory.mktemp("session")
    source = make_source(folder / "source.tif")
    reports = {}
    for fmt, name in (("png", "carrier.png"), ("tiff", "carrier.tif")):
        result = check_ok(run_cli("encode", source, "-o", folder / name, *FAST_FIT, "--json"))
        reports[fmt] = (result.stdout, json.loads(result.stdout))
    return {
        "dir": folder,
        "source": source,
        "png": folder / "carrier.png",
        "tiff": folder / "carrier.tif",
        "reports": reports,
    }


def pool_loss(model, pool) -> float:
    """A fitted model's mean squared error over its whole training pool: a steadier yardstick
    than the last batch's loss when two fits drew different batches (CPU against CUDA)."""
    from gamut_onnx.fit import model_parameters
    from gamut_onnx.fit.step import gradients

    params = [p.unsqueeze(0) for p in model_parameters(model)]
    _, loss = gradients(params, pool[0].unsqueeze(0), pool[1].unsqueeze(0))
    return float(loss[0])


# Seed-to-seed spread of that loss for the same recipe, measured on the synthetic scenes
# (6 seeds, 200-300 steps): up to 1.43x. CPU and CUDA fits draw different batches.
FIT_NOISE = 1.5


def trained_like_model(width=32, octaves=12, seed=0, context=False):
    """A GamutMLP with larger weights than the init, like a fitted model (torch needed)."""
    import torch

    from gamut_onnx.fit import build_model

    torch.manual_seed(seed)
    model = build_model(width, octaves, context)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    return model


def fp32_blob(model, srgb8, octaves=12, gated=False, context=False):
    """The model as an unpacked float32 blob for the carrier pixels `srgb8`."""
    from gamut_onnx.blob import pixel_digest, unpack_blob
    from gamut_onnx.exporters.weights import blob_from_model

    data = blob_from_model(
        model,
        octaves,
        image_size=srgb8.shape[:2],
        digest=pixel_digest(srgb8),
        weight_dtype="float32",
        gated=gated,
        context=context,
    )
    return unpack_blob(data)
