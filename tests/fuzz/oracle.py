"""The fuzz oracle: what every input must do, checked in-process on one case.

For every input, `decode_carrier(data, "fuzz")` then `runtime.decode.decode(carrier, "cpu")`
either succeed with a finite float32 HxWx3 image in [0, 1] of the carrier's size (and of the
size its header declares), or fail with a GamutError whose message is one line. The same holds
for `gamut-onnx inspect` (its command function, called in-process) and for `decode_to_file`
(which must leave no output and no temporary file behind when it fails). Anything else is a
finding: another exception type, a crash, a hang past the per-case limit, NaN/inf or values
outside [0, 1], a size mismatch, a message of several lines, output on stderr (C libraries,
Python warnings, log records), a case that grows the process by more than 300 MB.

The processes that apply it: `worker` and `pool` (crashes, hangs, memory), `cli_checks` (the
real command line), `bomb_check` (time and peak RSS of the named bombs); `summary` counts.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import struct
import time
import traceback
import zlib
from pathlib import Path

import numpy as np

from fuzz.file_header import declared_size, extension
from fuzz.output_capture import StderrCapture
from fuzz.png_format import png_parse, png_raw_length

MAX_MESSAGE = 1000  # a one-line message longer than this is a finding too
OUTPUT_EXTS = (".png", ".tif")
KEEP = {"fd1.txt", "fd2.txt", "crash.txt", "worker.log"}  # the worker's own files


def one_line(message: str) -> bool:
    return bool(message.strip()) and len(message.splitlines()) == 1


def message_problems(stage: str, message: str) -> list[tuple[str, str]]:
    if not message.strip():
        return [(f"{stage}:empty-message", repr(message))]
    if not one_line(message):
        return [(f"{stage}:message-not-one-line", repr(message[:2000]))]
    if len(message) > MAX_MESSAGE:
        return [(f"{stage}:long-message", f"{len(message)} chars: {message[:300]!r}")]
    return []


def prefix(message: str) -> str:
    """The message with the file name, numbers and quoted details generalised, for counting."""
    m = message.replace("cannot read fuzz:", "cannot read:").removeprefix("fuzz: ")
    m = re.sub(r"(?<![A-Za-z])b?'[^']*'", "'…'", m)
    m = re.sub(r"\d+", "N", m)
    return m[:90]


def exception_signature(stage: str, exc: BaseException) -> tuple[str, str]:
    """(kind, traceback): the kind names the type and the innermost gamut_onnx frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "gamut_onnx" in f.filename and "/tests/" not in f.filename]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    at = f"@{Path(where.filename).name}:{where.lineno}" if where else ""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{stage}:exception:{type(exc).__name__}{at}", text


def png_data_problems(data: bytes) -> list[tuple[str, str]]:
    """A PNG that decoded must hold all its pixels: IDAT data that inflates to fewer bytes than
    the IHDR needs (the rest silently zero-filled) or that is not valid zlib is a finding."""
    parsed = png_parse(data)
    if parsed is None:
        return []
    chunks = parsed[0]
    ihdr = next((c for c in chunks if c.ctype == b"IHDR"), None)
    if ihdr is None or len(ihdr.payload) != 13:
        return []
    w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr.payload)
    expected = png_raw_length(w, h, depth, colour, interlace)
    stream = b"".join(c.payload for c in chunks if c.ctype == b"IDAT")
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(stream, expected + 1)
    except zlib.error as exc:
        return [("decode:png-corrupt-image-data-accepted", f"IDAT zlib error: {exc}")]
    if len(raw) < expected:
        return [
            (
                "decode:png-short-image-data-accepted",
                f"IDAT inflates to {len(raw)} of the {expected} bytes a {w}x{h} image needs",
            )
        ]
    return []


def result_problems(result, carrier, declared) -> list[tuple[str, str]]:
    p = result.prophoto
    if not isinstance(p, np.ndarray) or p.dtype != np.float32 or p.ndim != 3 or p.shape[2] != 3:
        shape = getattr(p, "shape", None)
        return [("decode:result-type", f"{type(p).__name__} {getattr(p, 'dtype', '')} {shape}")]
    out = []
    h, w = carrier.srgb8.shape[:2]
    if p.shape[:2] != (h, w):
        out.append(("decode:result-size", f"result {p.shape}, carrier {carrier.srgb8.shape}"))
    if declared is not None and tuple(declared) != (w, h):
        out.append(("decode:size-vs-header", f"header {declared[0]}x{declared[1]}, pixels {w}x{h}"))
    finite = np.isfinite(p)
    if not finite.all():
        out.append(("decode:non-finite", f"{int((~finite).sum())} NaN/inf values"))
    elif p.size and (p.min() < 0 or p.max() > 1):
        out.append(("decode:out-of-range", f"values in [{p.min()}, {p.max()}]"))
    a = carrier.alpha
    if a is not None and (a.shape != (h, w) or a.dtype != np.uint8):
        out.append(("decode:alpha", f"alpha {a.dtype} {a.shape} for {w}x{h}"))
    for message in result.warnings:
        if not isinstance(message, str) or not one_line(message):
            out.append(("decode:warning-not-one-line", repr(message)[:500]))
    return out


def check_case(
    data: bytes,
    work: Path,
    capture: StderrCapture,
    *,
    inspect: bool = True,
    to_file: bool = True,
    out_ext: str = ".png",
) -> dict:
    """Apply the oracle to one input; a dict with outcome ok / refused / finding."""
    from gamut_onnx.cli.decode import inspect as cli_inspect
    from gamut_onnx.container.carrier import decode_carrier
    from gamut_onnx.errors import GamutError
    from gamut_onnx.runtime.decode import decode
    from gamut_onnx.write.decoded import decode_to_file

    found: list[tuple[str, str]] = []
    status, message = "ok", ""
    declared = declared_size(data)
    start = time.perf_counter()
    with capture(found):
        carrier = None
        try:
            carrier = decode_carrier(data, "fuzz")
            result = decode(carrier, provider="cpu")
        except GamutError as exc:
            status, message = "refused", str(exc)
            found += message_problems("decode", message)
        except Exception as exc:  # the finding the fuzzer is for
            status = "error"
            found.append(exception_signature("decode", exc))
        else:
            found += result_problems(result, carrier, declared)
            if carrier.format == "png":
                found += png_data_problems(data)
            del result
        if inspect:
            found += _check_inspect(data, work, status, cli_inspect, GamutError)
        if to_file and status == "ok":
            found += _check_to_file(carrier, work, out_ext, decode_to_file, GamutError)
    seconds = time.perf_counter() - start
    return {
        "outcome": "finding" if found else status,
        "status": status,
        "message": message,
        "prefix": prefix(message) if status == "refused" else "",
        "seconds": seconds,
        "findings": found,
    }


def _check_inspect(data, work, status, cli_inspect, GamutError) -> list:  # noqa: N803
    path = work / f"case.{extension(data)}"
    path.write_bytes(data)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            cli_inspect(path, as_json=True)
    except GamutError as exc:
        problems = message_problems("inspect", str(exc))
        if status == "ok":  # inspect checks a subset of what decode checks
            problems.append(("inspect:refused-a-decodable-file", str(exc)[:500]))
        return problems
    except Exception as exc:
        return [exception_signature("inspect", exc)]
    finally:
        path.unlink(missing_ok=True)
    text = out.getvalue()
    try:
        info = json.loads(text)
        assert isinstance(info, dict) and text.count("\n") == 1
    except (ValueError, AssertionError):
        return [("inspect:bad-json", text[:500])]
    return []


def _check_to_file(carrier, work, out_ext, decode_to_file, GamutError) -> list:  # noqa: N803
    out = work / f"out{out_ext}"
    problems = []
    try:
        decode_to_file(carrier, out, provider="cpu")
    except GamutError as exc:
        problems += message_problems("to_file", str(exc))
        left = [p.name for p in work.iterdir() if p.name not in KEEP]
        if left:
            problems.append(("to_file:left-files-behind", ", ".join(left)))
    except Exception as exc:
        problems.append(exception_signature("to_file", exc))
    else:
        if not out.exists() or out.stat().st_size == 0:
            problems.append(("to_file:no-output", str(out)))
    for p in work.iterdir():
        if p.name not in KEEP:
            p.unlink()
    return problems
