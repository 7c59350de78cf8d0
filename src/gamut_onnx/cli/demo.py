"""`sample` and `demo`: the built-in scene, and the main job on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gamut_onnx.cli.common import (
    app,
)
from gamut_onnx.cli.decode import decode
from gamut_onnx.cli.encode import encode


@app.command()
def sample(
    output: Annotated[Path, typer.Option("-o", "--output", help="16-bit ProPhoto TIFF.")],
    width: Annotated[int, typer.Option(min=8, max=8192)] = 384,
    height: Annotated[int, typer.Option(min=8, max=8192)] = 256,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Render the built-in synthetic wide-gamut scene (no download needed).

    Example: gamut-onnx sample -o sample.tif --width 640 --height 480
    """
    from gamut_onnx.sample import synthetic_scene
    from gamut_onnx.write import write_restored_tiff

    write_restored_tiff(output, synthetic_scene(width, height, seed), None)
    typer.echo(f"{output}: {width}x{height} synthetic ProPhoto scene")


@app.command()
def demo(
    folder: Annotated[Path, typer.Argument(help="Where to write the demo files.")] = Path("demo"),
) -> None:
    """The main job on the built-in sample: sample -> encode -> decode, with PSNR numbers.

    Example: gamut-onnx demo out/
    """
    from gamut_onnx.colour import out_of_gamut_mask, srgb8_to_prophoto
    from gamut_onnx.container.carrier import read_carrier
    from gamut_onnx.metrics import psnr
    from gamut_onnx.read import read_prophoto

    folder.mkdir(parents=True, exist_ok=True)
    source, carrier, restored = (
        folder / "sample.tif",
        folder / "sample.png",
        folder / "restored.tif",
    )
    sample(source)
    encode([str(source)], carrier, overwrite=True)
    decode([str(carrier)], restored, overwrite=True)
    truth = read_prophoto(source).prophoto
    back = read_prophoto(restored).prophoto
    clipped = srgb8_to_prophoto(read_carrier(carrier).srgb8)
    og = out_of_gamut_mask(truth)
    typer.echo(
        f"demo: PSNR on out-of-gamut pixels, plain sRGB {psnr(clipped, truth, og):.2f} dB -> "
        f"restored {psnr(back, truth, og):.2f} dB (whole image {psnr(clipped, truth):.2f} -> "
        f"{psnr(back, truth):.2f} dB); files in {folder}/"
    )
