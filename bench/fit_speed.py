"""Fit seconds of the `paper` and `default` presets on the same image, CPU and CUDA (if any).

    python bench/fit_speed.py [PHOTO.tif] [--size 512x512] [--paper-steps 200]
                              [--default-steps 400] [--devices cpu,cuda]

Fits run through gamut_onnx.codec.encode, which reports fit_s: the fit alone, not the encoder's
restore and scoring. Each preset runs the given step count (0 = the preset's full count). Setup
(sampling, feature encoding) is measured by a 1-step fit of the same preset, so seconds per step
are (t(N) - t(1)) / (N - 1), and the full-recipe time is t(1) + s/step x (full steps - 1),
labelled "extrapolated" unless the full count was run. Without PHOTO, the synthetic scene is
rendered at --size. Prints the machine, then the table and the ratios paper/default, CPU/CUDA.
"""

from __future__ import annotations

import argparse

from common import machine

from gamut_onnx.codec import encode
from gamut_onnx.colour import out_of_gamut_mask
from gamut_onnx.fit import PRESETS, cpu_threads, preset


def timed_fit(truth, name: str, steps: int, device: str):
    """The encoder's own fit time (EncodeResult.fit_s) for `steps` steps of preset `name`."""
    result = encode(truth, config=preset(name, steps=steps), device=device, provider="cpu")
    return result.fit_s, result.samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photo", nargs="?", help="ProPhoto TIFF/PNG (default: synthetic scene)")
    parser.add_argument("--size", default="512x512", help="synthetic scene WxH (default 512x512)")
    parser.add_argument("--paper-steps", type=int, default=200, help="0 = full (10000)")
    parser.add_argument("--default-steps", type=int, default=400, help="0 = full (4000)")
    parser.add_argument("--devices", default="cpu,cuda", help="cuda is skipped when absent")
    args = parser.parse_args()

    import torch

    if args.photo:
        from gamut_onnx.read import read_prophoto

        truth, label = read_prophoto(args.photo, untagged="prophoto").prophoto, args.photo
    else:
        from gamut_onnx.sample import synthetic_scene

        w, h = map(int, args.size.lower().split("x"))
        truth, label = synthetic_scene(w, h), f"synthetic {w}x{h}"
    og = out_of_gamut_mask(truth)
    devices = [d for d in args.devices.split(",") if d == "cpu" or torch.cuda.is_available()]

    print(machine())
    print(f"image: {label}, {truth.shape[1]}x{truth.shape[0]}, OG {100 * og.mean():.1f} %")
    print(f"torch {torch.__version__}, CPU threads {cpu_threads()}\n")
    head = "| device | preset | samples | batch | steps run | s run | setup s | s/step | full steps"
    print(head + " | full-recipe s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    full_s = {}
    for device in devices:
        for name, steps in (("paper", args.paper_steps), ("default", args.default_steps)):
            config = PRESETS[name]
            steps = steps or config.steps
            timed_fit(truth, name, 2, device)  # warm-up (CUDA init, kernels)
            setup, samples = timed_fit(truth, name, 1, device)
            run, _ = timed_fit(truth, name, steps, device)
            per_step = (run - setup) / max(steps - 1, 1)
            full = setup + per_step * (config.steps - 1)
            kind = "measured" if steps == config.steps else "extrapolated"
            full_s[(device, name)] = full
            print(
                f"| {device} | {name} | {samples} | {min(config.batch, samples)} "
                f"| {steps} | {run:.2f} | {setup:.2f} | {1000 * per_step:.2f} ms "
                f"| {config.steps} | {full:.1f} ({kind}) |"
            )
    print("\nratios (full-recipe seconds):")
    for device in devices:
        paper, default = full_s[(device, "paper")], full_s[(device, "default")]
        print(f"  {device}: paper / default = {paper / default:.2f}")
    if {"cpu", "cuda"} <= set(devices):
        for name in ("paper", "default"):
            ratio = full_s[("cpu", name)] / full_s[("cuda", name)]
            print(f"  {name}: cpu / cuda = {ratio:.1f}")


if __name__ == "__main__":
    main()
