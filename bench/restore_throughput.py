"""Restore throughput (MPix/s): onnxruntime vs the torch forward vs a measured matmul roofline.

    OMP_NUM_THREADS=2 python bench/restore_throughput.py [--megapixels 1,12,24] [--gemm 2048]

A real small fit (synthetic scene, CPU, few steps) gives the weights; its carrier pixels are
tiled up to each size and the blob is re-packed for that size, gated and ungated. Timed:
gamut_onnx.runtime.RestoreSession (the shipped graph, CPU, and CUDA when usable) and the same
MLP as a torch forward on the same pixels (numpy inputs + sin/cos + 3 layers, ungated, in
chunks). The roofline is a large float32 matmul through numpy (GFLOP/s), divided by the MLP's
matmul FLOPs per pixel into an MPix/s ceiling; "ratio" = measured / that ceiling (gated
restores skip most pixels, so theirs may exceed 1). OMP_NUM_THREADS sets the threads of all
three (onnxruntime, torch, numpy's BLAS); unset, each uses every core.
"""

from __future__ import annotations

import argparse
import math
import time
from functools import partial

import numpy as np
from common import blob_for, machine, small_fit, tiled

from gamut_onnx.colour import boundary_mask
from gamut_onnx.features import INPUT_CHANNELS, frequency_bands, mlp_inputs
from gamut_onnx.fit import build_model, cpu_threads, encode_features


def gemm_gflops(n: int, repeat: int = 3) -> float:
    """Best-of-`repeat` float32 n x n matmul through numpy, in GFLOP/s (2 n^3 FLOPs)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    a @ b  # warm-up: BLAS threads start
    best = min(_seconds(lambda: a @ b) for _ in range(repeat))
    return 2 * n**3 / best / 1e9


def cuda_gemm_gflops(n: int = 8192, repeat: int = 3) -> float:
    """The same roofline on the GPU: float32 torch matmul (TF32 off), GFLOP/s."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    a, b = (torch.randn(n, n, device="cuda") for _ in range(2))
    a @ b
    torch.cuda.synchronize()

    def run():
        a @ b
        torch.cuda.synchronize()

    return 2 * n**3 / min(_seconds(run) for _ in range(repeat)) / 1e9


def mlp_flops_per_pixel(width: int, octaves: int) -> int:
    """Multiply-adds of the three layers, x2 (sin/cos and ReLU not counted)."""
    features = INPUT_CHANNELS * 2 * octaves
    return 2 * (features * width + width * width + width * 3)


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def torch_model(blob):
    import torch

    model = build_model(blob.width, blob.octaves)
    layers = [m for m in model if hasattr(m, "weight")]
    with torch.no_grad():
        for layer, w, b in zip(layers, blob.weights[0::2], blob.weights[1::2], strict=True):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            layer.bias.copy_(torch.from_numpy(b))
    return model


def torch_restore(model, octaves: int, srgb8: np.ndarray, device: str, rows: int) -> np.ndarray:
    """The torch forward over the whole image in row chunks (inputs from numpy, as in fit)."""
    import torch

    freq = torch.from_numpy(frequency_bands(octaves)).to(device)
    h, w = srgb8.shape[:2]
    out = np.empty((h, w, 3), np.float32)
    with torch.no_grad():
        for r in range(0, h, rows):
            inputs, clipped = mlp_inputs(srgb8[r : r + rows], (r, 0), (h, w))
            x = torch.from_numpy(inputs.reshape(-1, INPUT_CHANNELS)).to(device)
            y = model(encode_features(x, freq)).cpu().numpy().reshape(clipped.shape)
            out[r : r + rows] = np.clip(clipped + y, 0, 1)
        if device == "cuda":
            torch.cuda.synchronize()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", default="1,12,24", help="image sizes (default 1,12,24)")
    parser.add_argument("--gemm", type=int, default=2048, help="roofline matmul size n")
    parser.add_argument("--width", type=int, default=32, help="MLP width of the small fit")
    parser.add_argument("--fit-steps", type=int, default=200, help="steps of the small fit")
    args = parser.parse_args()

    import torch

    from gamut_onnx.runtime import RestoreSession
    from gamut_onnx.runtime.session import cuda_usable

    threads = cpu_threads()
    torch.set_num_threads(threads)
    print(machine())
    fit = small_fit(steps=args.fit_steps, mlp_width=args.width, context=False)  # torch twin
    base = blob_for(fit.blob, fit.srgb8, gated=False)
    flops = mlp_flops_per_pixel(base.width, base.octaves)
    gflops = gemm_gflops(args.gemm)
    ceiling = gflops * 1e9 / flops / 1e6
    print(
        f"threads {threads}; MLP width {base.width}, {base.octaves} octaves: {flops} FLOP/pixel; "
        f"numpy sgemm n={args.gemm}: {gflops:.1f} GFLOP/s -> roofline {ceiling:.1f} MPix/s"
    )
    ceilings = {"cpu": ceiling}
    if torch.cuda.is_available():
        gpu = cuda_gemm_gflops()
        ceilings["cuda"] = gpu * 1e9 / flops / 1e6
        roof = ceilings["cuda"]
        print(f"torch CUDA sgemm n=8192 (no TF32): {gpu:.0f} GFLOP/s -> roofline {roof:.0f} MPix/s")
    runners = {"cpu": RestoreSession("cpu", threads=threads)}
    devices = ["cpu"]
    if cuda_usable():
        runners["cuda"] = RestoreSession("cuda")
    if torch.cuda.is_available():
        devices.append("cuda")
    model = torch_model(base)
    # Warm-up on the small image: sessions start, kernels load.
    for session in runners.values():
        session.restore(fit.srgb8, base)
    for device in devices:
        torch_restore(model.to(device), base.octaves, fit.srgb8, device, 64)

    print("\n| MP | WxH | boundary % | engine | mode | s | MPix/s | ratio to roofline |")
    print("|---|---|---|---|---|---|---|---|")
    for mp in map(float, args.megapixels.split(",")):
        h = max(16, round(math.sqrt(mp * 1e6 * 3 / 4)))
        w = max(16, round(h * 4 / 3))
        srgb8 = tiled(fit.srgb8, h, w)
        boundary = 100 * float(boundary_mask(srgb8).mean())
        results = []
        for provider, session in runners.items():
            for gated in (False, True):
                blob = blob_for(fit.blob, srgb8, gated)
                s = _seconds(partial(session.restore, srgb8, blob))
                results.append((f"onnxruntime {provider}", "gated" if gated else "ungated", s))
        rows = max(1, 65_536 // w)  # ~64k pixels per torch chunk
        for device in devices:
            run = partial(torch_restore, model.to(device), base.octaves, srgb8, device, rows)
            results.append((f"torch {device}", "ungated", _seconds(run)))
        for engine, mode, s in results:
            rate = h * w / s / 1e6
            roof = ceilings.get(engine.split()[-1])  # no GPU roofline without torch CUDA
            ratio = f"{rate / roof:.3f}" if roof else "n/a"
            print(
                f"| {mp:g} | {w}x{h} | {boundary:.1f} | {engine} | {mode} | {s:.2f} "
                f"| {rate:.2f} | {ratio} |"
            )
    print("\nratio = MPix/s / roofline MPix/s of the engine's device (CPU: numpy, GPU: torch)")


if __name__ == "__main__":
    main()
