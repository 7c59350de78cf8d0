"""`detach` and `attach`: a carrier's model in a sidecar file beside it, and back.

Many tools rewrite images without their metadata; a sidecar made before keeps the model, and
`attach` (or `decode`, which looks for `FILE.gamut`) uses it again when the pixels still match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gamut_onnx.cli.common import app, print_json
from gamut_onnx.errors import GamutError


@app.command()
def detach(
    carrier: Annotated[Path, typer.Argument(help="A PNG, TIFF or JPEG carrier with a model.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="The sidecar to write (default: CARRIER.gamut)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write the carrier's model (blob and residual map) to a sidecar file beside it.

    Example: gamut-onnx detach photo.jpg   (writes photo.jpg.gamut)
    """
    from gamut_onnx.blob import unpack_blob
    from gamut_onnx.container.carrier import probe_carrier, read_bytes
    from gamut_onnx.container.sidecar import Sidecar, pack_sidecar, sidecar_path
    from gamut_onnx.files import write_atomic
    from gamut_onnx.jobs import check_paths

    output = output or sidecar_path(carrier)
    check_paths(carrier, output)
    header = probe_carrier(read_bytes(carrier), str(carrier))
    if header.model_damage is not None:
        raise GamutError(f"{carrier}: the model is damaged ({header.model_damage})")
    if header.blob is None:
        raise GamutError(f"{carrier} carries no gamut-onnx model to detach")
    try:
        unpack_blob(header.blob)  # a damaged model is not worth keeping
    except GamutError as exc:
        raise GamutError(f"{carrier}: {exc}") from None
    data = pack_sidecar(Sidecar(header.blob, header.residual_map))
    write_atomic(output, data)
    info = {"carrier": str(carrier), "sidecar": str(output), "sidecar_bytes": len(data),
            "blob_bytes": len(header.blob),
            "residual_map_bytes": len(header.residual_map or b"")}  # fmt: skip
    if as_json:
        print_json(info)
    else:
        typer.echo(f"{output}: model of {carrier} ({len(data):,} bytes)")


@app.command()
def attach(
    image: Annotated[Path, typer.Argument(help="A PNG, TIFF or JPEG with the model's pixels.")],
    sidecar: Annotated[
        Path | None, typer.Argument(help="The sidecar (default: IMAGE.gamut).")
    ] = None,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The carrier to write (a copy of IMAGE).")
    ] = ...,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Put a sidecar's model into a copy of IMAGE, if IMAGE's pixels are the ones it was fitted on.

    Example: gamut-onnx attach edited.jpg photo.jpg.gamut -o carrier.jpg
    """
    from gamut_onnx.container.attach import check_fits, with_model
    from gamut_onnx.container.carrier import (
        carrier_format_for,
        decode_carrier,
        read_bytes,
        sniff_carrier,
    )
    from gamut_onnx.container.sidecar import read_sidecar, sidecar_path
    from gamut_onnx.files import write_atomic
    from gamut_onnx.jobs import check_paths

    sidecar = sidecar or sidecar_path(image)
    check_paths(image, output)
    model = read_sidecar(sidecar)
    data = read_bytes(image)
    fmt = sniff_carrier(data, str(image))
    if carrier_format_for(output) != fmt:  # the copy keeps the image's pixels and format
        raise GamutError(f"{image} is a {fmt.upper()} file: give the output its extension")
    carrier = decode_carrier(data, str(image))
    check_fits(carrier, model, str(image))
    write_atomic(output, with_model(data, carrier, model))
    info = {"image": str(image), "sidecar": str(sidecar), "output": str(output),
            "carrier": fmt, "residual_map": model.residual_map is not None}  # fmt: skip
    if as_json:
        print_json(info)
    else:
        typer.echo(f"{output}: {image} with the model of {sidecar}")
