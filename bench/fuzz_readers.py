"""Fuzz the photo readers (what `encode` reads) with mutated camera and phone originals.

    python bench/fuzz_readers.py [--small 400] [--large 25] [--seed 2] [--originals DIR]

Each file of ../shared/data/originals is mutated --small times (files under 600 KB) or --large
times (the 12 MP ones): truncation, byte flips in the header or anywhere, 2- and 4-byte fields
set to extremes, inserted bytes, and aimed edits where the file has them: HEIF `ispe` sizes
set to extremes (coded-size bombs), the ICC profile's size field changed, an ICC XYZ colorant
zeroed (a profile the restore cannot invert). Each case goes through `read_prophoto_bytes` in
a worker process that is restarted after a crash or a 30 s hang. A finding is an exception
other than GamutError, a message over one line or 400 characters, a warning that is not our
own one line, anything on stderr, a non-finite result, or a case over 5 s. Exit code 1 when
there is any.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ORIGINALS = Path(__file__).resolve().parents[2] / "shared" / "data" / "originals"
FIELDS = (
    b"\xff\xff\xff\xff",
    b"\x7f\xff\xff\xff",
    b"\0\0\0\0",
    b"\0\x01\0\0",
    b"\xff\xff",
    b"\0\0",
)


SIZES = (0, 1, 2, 16385, 65535, 1 << 20, 0x7FFFFFFF, 0xFFFFFFFF)


def occurrences(data: bytes, marker: bytes) -> list[int]:
    found, at = [], data.find(marker)
    while at >= 0 and len(found) < 64:
        found.append(at)
        at = data.find(marker, at + 1)
    return found


def aimed(out: bytearray, kind: str, rng: random.Random) -> None:
    """Edit a structure the readers must check before they trust it."""
    if kind == "ispe":  # box type, version/flags, then width and height
        at = rng.choice(occurrences(out, b"ispe")) + 8 + rng.choice((0, 4))
        out[at : at + 4] = rng.choice(SIZES).to_bytes(4, "big")
    elif kind == "icc_size":  # 'acsp' sits 36 bytes into a profile; its size is the first field
        at = rng.choice([a for a in occurrences(out, b"acsp") if a >= 36]) - 36
        out[at : at + 4] = rng.choice(SIZES + (8 << 20,)).to_bytes(4, "big")
    else:  # icc_xyz: one colorant (or the white point) becomes zero
        at = rng.choice(occurrences(out, b"XYZ \0\0\0\0")) + 8
        out[at : at + 12] = bytes(12)


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    kinds = ["trunc", "trunc_head", "flip_head", "flip", "field", "insert"]
    kinds += [
        k
        for k, m in (("ispe", b"ispe"), ("icc_size", b"acsp"), ("icc_xyz", b"XYZ \0"))
        if data.find(m, 36) >= 0
    ]
    out, kind = bytearray(data), rng.choice(kinds)
    head = min(len(out), 4096)
    if kind in ("ispe", "icc_size", "icc_xyz"):
        aimed(out, kind, rng)
    elif kind == "trunc":
        del out[rng.randrange(1, len(out)) :]
    elif kind == "trunc_head":
        del out[rng.randrange(1, min(len(out), 8192)) :]
    elif kind in ("flip_head", "flip"):
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(head if kind == "flip_head" else len(out))] = rng.randrange(256)
    elif kind == "field":
        at, value = rng.randrange(max(1, head - 4)), rng.choice(FIELDS)
        out[at : at + len(value)] = value
    else:
        at = rng.randrange(len(out))
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    return bytes(out), kind


def check(path: str, seed: str, captured) -> dict:
    """One case in this process: its result and findings (stderr goes to `captured`)."""
    import numpy as np

    from gamut_onnx.errors import GamutError
    from gamut_onnx.read import read_prophoto_bytes

    data, kind = mutate(Path(path).read_bytes(), random.Random(f"{path}:{seed}"))
    captured.seek(0)
    captured.truncate()
    name, start = Path(path).name, time.perf_counter()
    result, findings = {"file": name, "seed": seed, "kind": kind}, []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            image = read_prophoto_bytes(data, name, None, Path(path).suffix, "display-p3")
            result["ok"] = True
            if not np.isfinite(image.prophoto).all():
                findings.append("non-finite pixels")
        except GamutError as exc:
            result["ok"] = False
            if "\n" in str(exc) or len(str(exc)) > 400:
                findings.append(f"long message: {str(exc)[:200]}")
        except Exception as exc:  # the finding this bench looks for
            findings.append(f"{type(exc).__name__}: {str(exc)[:200]}")
    for w in caught:  # ours name the file, on one line
        if not str(w.message).startswith(name) or "\n" in str(w.message):
            findings.append(f"warning: {str(w.message)[:200]}")
    captured.seek(0)
    if err := captured.read():
        findings.append(f"stderr: {err[:200].decode('latin-1')}")
    result["seconds"] = round(time.perf_counter() - start, 2)
    if result["seconds"] > 5:
        findings.append("slow")
    return {**result, "findings": findings}


def worker() -> None:
    """Read 'path seed' lines on stdin; print one JSON line when a case starts and one result."""
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        for line in sys.stdin:
            path, seed = line.split()
            print(json.dumps({"start": [path, seed]}), flush=True)
            print(json.dumps(check(path, seed, captured)), flush=True)


def run(cases: list[tuple[str, int]]) -> tuple[int, int, list[dict]]:
    """All cases through restarted workers: (decoded, refused with one line, findings)."""
    decoded, refused, findings, i = 0, 0, [], 0
    while i < len(cases):
        proc = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        proc.stdin.write("".join(f"{p} {s}\n" for p, s in cases[i : i + 50]))
        proc.stdin.close()
        current, done = None, 0
        while True:
            if not select.select([proc.stdout], [], [], 30)[0]:
                findings.append({"hang": current})
                print(findings[-1], flush=True)
                proc.kill()
                break
            line = proc.stdout.readline()
            if not line:
                break
            record = json.loads(line)
            if "start" in record:
                current = record["start"]
                continue
            done += 1
            decoded += record.get("ok") is True
            refused += record.get("ok") is False
            if record["findings"]:
                findings.append(record)
                print(record, flush=True)
        if proc.wait() not in (0, -9):
            findings.append({"crash": current, "exit": proc.returncode})
            print(findings[-1], flush=True)
        i += done + (current is not None and done < len(cases[i : i + 50]))
    return decoded, refused, findings


def main() -> None:
    if sys.argv[1:] == ["--worker"]:
        return worker()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=400)
    parser.add_argument("--large", type=int, default=25)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--originals", type=Path, default=ORIGINALS)
    args = parser.parse_args()
    files = sorted(p for p in args.originals.glob("*") if p.suffix != ".md")
    if not files:
        raise SystemExit(f"no originals in {args.originals}")
    cases = []
    for path in files:
        count = args.small if path.stat().st_size < 600_000 else args.large
        cases += [(str(path), args.seed * 1_000_000 + n) for n in range(count)]
    start = time.perf_counter()
    decoded, refused, findings = run(cases)
    print(
        f"{len(cases)} cases from {len(files)} originals: {decoded} decoded, {refused} refused, "
        f"{len(findings)} with findings, "
        f"{time.perf_counter() - start:.0f} s"
    )
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
