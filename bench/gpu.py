"""Every GPU measurement in one run (issues 15 and 16): fit, batched fits, restore, parity, and
a whole batch encode. Results go to --out as JSON and to stdout as they come.

    python bench/gpu.py --device cuda --photos PHOTO.jpg ... --out gpu.json

Each section is timed with a warm-up first (CUDA context, cuBLAS, graph capture) and reports the
median of its repeats. Sections that cannot run here (no onnxruntime CUDA provider, say) are
reported as skipped with the reason. `--device cpu` runs the same code on the CPU (a dry run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
from common import machine

RESULTS: dict = {}


def section(name: str):
    """Run a section; record its result or the reason it could not run, and go on."""

    def wrap(fn):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                RESULTS[name] = fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 (one failed section must not lose the rest)
                RESULTS[name] = {"skipped": f"{type(exc).__name__}: {exc}"}
                traceback.print_exc()
            RESULTS[name + "_wall_s"] = round(time.perf_counter() - start, 2)
            print(name, json.dumps(RESULTS[name]), flush=True)

        return run

    return wrap


def median_time(fn, repeats: int, sync=lambda: None) -> float:
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def prepared(paths: list[Path], input_space: str | None = None):
    from gamut_onnx.codec import prepare
    from gamut_onnx.read import read_prophoto

    out = []
    for path in paths:
        image = read_prophoto(path, input_space)
        prep = prepare(image.prophoto, source=image.space, source_levels=image.levels)
        out.append((path.name, prep))
    return out


@section("fit")
def bench_fit(photos, device: str, repeats: int) -> dict:
    """The default fit of each photo on `device`: total (pool + training) and the training loop
    alone, captured graph against the eager loop; the CPU fit of the same photo for reference."""
    rows = {}
    for name, prep in photos:
        rows[name] = fit_row(prep, device, repeats)
        print(name, rows[name], flush=True)
    return rows


def fit_row(prep, device: str, repeats: int) -> dict:
    import torch

    from gamut_onnx.fit import (
        encode_pool,
        fit,
        initial_model,
        model_parameters,
        train,
        training_pixels,
    )
    from gamut_onnx.fit.captured import train_captured

    sync = torch.cuda.synchronize if device == "cuda" else lambda: None
    config = prep.config
    args = (prep.fit_pixels, prep.prophoto, prep.og, config)
    fit(*args, device=device)  # warm-up: context, cuBLAS, the graph
    total = median_time(lambda: fit(*args, device=device), repeats, sync)
    index = training_pixels(prep.fit_pixels, prep.og, config)
    sync()
    start = time.perf_counter()
    pool = encode_pool(prep.fit_pixels, prep.prophoto, index, config.octaves, device)
    sync()
    pool_s = time.perf_counter() - start
    model, _ = initial_model(config)
    start_params = [p.to(device) for p in model_parameters(model)]

    def captured():
        g = torch.Generator(device=device).manual_seed(0)
        train_captured([pool], start_params, config, [g], device)

    def eager():
        g = torch.Generator(device=device).manual_seed(0)
        train([p.clone() for p in start_params], *pool, config, generator=g)

    return {
        "pixels": int(prep.og.size),
        "samples": int(index.size),
        "fit_s": round(total, 4),
        "pool_s": round(pool_s, 4),
        "train_captured_s": round(median_time(captured, repeats, sync), 4),
        "train_eager_s": round(median_time(eager, 1, sync), 4),
        "fit_cpu_s": round(median_time(lambda: fit(*args, device="cpu"), 1), 3),
    }


@section("race")
def bench_race(photos, device: str) -> dict:
    """The context race of the default recipe on `device` against the CPU's, photo by photo:
    the choice (context or plain) and both pool losses, the fit's seconds, and the OG PSNR of
    each encode scored through the real graph (CPU onnxruntime). On CUDA both contestants run
    to the end in one captured graph; the CPU decides after 30 % of the steps."""
    from gamut_onnx.codec import finish
    from gamut_onnx.fit import fit

    rows, agree = {}, 0
    for name, prep in photos:
        row = {}
        for where in dict.fromkeys((device, "cpu")):
            result = fit(prep.fit_pixels, prep.prophoto, prep.og, prep.config,
                         boundary_margin=prep.train_margin, device=where)  # fmt: skip
            encoded = finish(prep, result, provider="cpu")
            row[where] = {
                "context": result.context,
                "pool_loss_plain": result.race and result.race["pool_loss_plain"],
                "pool_loss_context": result.race and result.race["pool_loss_context"],
                "fit_s": round(result.seconds, 3),
                "psnr_og": round(encoded.psnr_og, 3),
                "psnr": round(encoded.psnr, 3),
            }
        agree += row[device]["context"] == row["cpu"]["context"]
        rows[name] = row
        print(name, row, flush=True)
    rows["agreement"] = f"{agree} of {len(photos)} photos choose as the CPU does"
    print(rows["agreement"], flush=True)
    return rows


@section("batched_fit")
def bench_batched(photos, device: str, sizes: list[int]) -> dict:
    """Training throughput of B models at once from pools already on the device (pools of the
    photos, repeated), and the pool-building time per photo that comes on top."""
    import torch

    from gamut_onnx.fit import encode_pool, initial_model, model_parameters, training_pixels
    from gamut_onnx.fit.captured import train_captured

    sync = torch.cuda.synchronize if device == "cuda" else lambda: None
    config = photos[0][1].config
    pools, pool_times = [], []
    for _, prep in photos:
        start = time.perf_counter()
        index = training_pixels(prep.fit_pixels, prep.og, config)
        pools.append(encode_pool(prep.fit_pixels, prep.prophoto, index, config.octaves, device))
        sync()
        pool_times.append(time.perf_counter() - start)
    model, _ = initial_model(config)
    start_params = [p.to(device) for p in model_parameters(model)]
    rows = {"pool_s_per_photo": round(statistics.median(pool_times), 4)}
    for b in sizes:
        group = [pools[i % len(pools)] for i in range(b)]

        def run(group=group):
            gens = [torch.Generator(device=device).manual_seed(0) for _ in group]
            train_captured(group, start_params, config, gens, device)

        run()  # warm-up and capture
        seconds = median_time(run, 2, sync)
        rows[f"B={b}"] = {"train_s": round(seconds, 4), "fits_per_s": round(b / seconds, 1)}
        print(b, rows[f"B={b}"], flush=True)
        torch.cuda.empty_cache() if device == "cuda" else None
    return rows


@section("restore")
def bench_restore(carriers: list[Path], device: str, repeats: int) -> dict:
    """12 MP restores of real carriers (context blobs, residual maps) on onnxruntime: CUDA
    against the CPU provider in every graph (grids, restore with its map, output codes), and
    the restore's time host uint8 -> host float32 (fresh, reused and pinned output arrays) and
    device-resident (IO binding)."""
    from gamut_onnx.runtime import RestoreSession

    provider = "cuda" if device == "cuda" else "cpu"
    gpu, cpu = RestoreSession(provider), RestoreSession("cpu")
    rows = {}
    for path in carriers:
        rows[path.name] = restore_row(path, gpu, cpu, repeats)
        print(path.name, rows[path.name], flush=True)
    return rows


def restore_row(path: Path, gpu, cpu, repeats: int) -> dict:
    import onnxruntime as ort

    from gamut_onnx.colour.spaces import named_space
    from gamut_onnx.container.carrier import read_carrier
    from gamut_onnx.runtime.decode import checked
    from gamut_onnx.runtime.output import OutputEncoder, output_space
    from gamut_onnx.runtime.pinned import is_pinned, pinned_empty

    carrier = read_carrier(path)
    srgb8 = carrier.srgb8
    blob, residual_map, _ = checked(carrier, strict=False)
    row = {"pixels": int(srgb8.shape[0] * srgb8.shape[1]), "context": blob.context,
           "residual_map": residual_map is not None}  # fmt: skip
    if blob.context:
        grids = zip(gpu.grids(srgb8).levels, cpu.grids(srgb8).levels, strict=True)
        row["grids_max_abs_diff"] = max(float(np.abs(a - b).max()) for a, b in grids)
    want = cpu.restore(srgb8, blob, residual_map=residual_map)
    got = gpu.restore(srgb8, blob, residual_map=residual_map)
    row["restore_max_abs_diff"] = float(np.abs(got - want).max())
    space = output_space(named_space("display-p3"))
    codes = [OutputEncoder(p).run(want, space, 16) for p in (gpu.provider, "cpu")]
    row["output_codes_max_diff"] = int(np.abs(codes[0].astype(int) - codes[1]).max())

    def restore(out=None):
        return gpu.restore(srgb8, blob, out=out, residual_map=residual_map)

    row["host_to_host_s"] = round(median_time(restore, repeats), 4)
    for label, out in (("reused", np.empty(srgb8.shape, np.float32)),
                       ("pinned", pinned_empty(srgb8.shape, np.float32))):  # fmt: skip
        restore(out)
        row[f"host_to_host_{label}_out_s"] = round(
            median_time(lambda o=out: restore(o), repeats), 4
        )
        row[f"{label}_is_pinned"] = is_pinned(out)
    value = ort.OrtValue.ortvalue_from_numpy(srgb8, gpu.provider, 0)
    gpu.restore_on_device(value, blob)  # the model without its map: pixels stay on the GPU
    row["device_resident_s"] = round(
        median_time(lambda: gpu.restore_on_device(value, blob), repeats), 4
    )
    row["cpu_provider_s"] = round(median_time(lambda: cpu.restore(srgb8, blob), 2), 4)
    return row


@section("batch_encode")
def bench_batch_encode(paths: list[Path], copies: int, fit_batch: int, jobs: int, device: str):
    """`gamut-onnx encode DIR -o OUT --fit-batch B --jobs J`: end-to-end photos per minute, and
    how the time splits (from the manifest)."""
    work = Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    inputs = work / "in"
    inputs.mkdir()
    for i in range(copies):
        for path in paths:
            shutil.copy(path, inputs / f"{i:03d}_{path.name}")
    count = copies * len(paths)
    runs = {}
    for label, extra in (("batched", ["--fit-batch", str(fit_batch)]), ("one_at_a_time", [])):
        target = work / f"out_{label}"
        command = [sys.executable, "-m", "gamut_onnx", "encode", str(inputs), "-o", str(target),
                   "--jobs", str(jobs), "--device", device, "--json", *extra]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        records = [json.loads(line) for line in (target / "gamut-onnx-manifest.jsonl").open()]
        ok = [r for r in records if r.get("status") == "ok"]
        runs[label] = {
            "photos": count,
            "ok": len(ok),
            "exit": done.returncode,
            "wall_s": round(seconds, 1),
            "photos_per_min": round(60 * len(ok) / seconds, 1),
            "mean_s": {
                key: round(statistics.mean(r[key] for r in ok), 3)
                for key in sorted(ok[0])
                if key.endswith("_s") or key == "seconds"
                if all(isinstance(r.get(key), (int, float)) for r in ok)
            }
            if ok
            else None,
            "stderr_tail": done.stderr[-400:],
        }
        print(label, runs[label], flush=True)
        if label == "batched" and seconds > 90:
            break  # no time for the slow reference
    shutil.rmtree(work, ignore_errors=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--photos", nargs="*", type=Path, default=[])
    parser.add_argument("--out", type=Path, default=Path("gpu.json"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-sizes", default="1,16,64,256")
    parser.add_argument("--copies", type=int, default=8, help="copies of each photo to encode")
    parser.add_argument("--fit-batch", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--carriers", nargs="*", type=Path, default=[], help="for restore")
    parser.add_argument("--input-space", help="for untagged photos (the dev set: prophoto)")
    parser.add_argument("--only", default="fit,race,batched_fit,restore,batch_encode")
    args = parser.parse_args()
    only = args.only.split(",")
    RESULTS["machine"] = machine()
    print(RESULTS["machine"], flush=True)
    photos = prepared(args.photos, args.input_space)
    if "fit" in only:
        bench_fit(photos, args.device, args.repeats)
    if "race" in only:
        bench_race(photos, args.device)
    if "batched_fit" in only:
        bench_batched(photos, args.device, [int(b) for b in args.batch_sizes.split(",")])
    if "restore" in only:
        bench_restore(args.carriers, args.device, args.repeats)
    if "batch_encode" in only:
        bench_batch_encode(args.photos, args.copies, args.fit_batch, args.jobs, args.device)
    args.out.write_text(json.dumps(RESULTS, indent=2))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
