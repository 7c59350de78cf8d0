"""Build the wheel and sdist and install each documented path into a fresh virtual environment.

Run by `make package-check` (and .ci/run). Every step is a real `pip install` from the built
artefacts; versions come from constraints.txt so the check is reproducible. Prints one line per
step and the decode-only footprint; exits non-zero on the first failure.

1. `python -m build` -> wheel + sdist, `twine check` on both.
2. Decode only: `pip install WHEEL` -> `decode` names the extras that bring onnxruntime; then
   `pip install WHEEL[cpu]` -> site-packages <= 250 MB, no onnx, no torch; `gamut-onnx decode`
   restores a conformance vector; `encode` says which extra to install.
3. Encoder from the sdist: `pip install SDIST[cpu,fit]` (torch CPU build) -> encode + decode.
4. GPU path: `pip install --dry-run WHEEL[gpu]` resolves onnxruntime-gpu with its CUDA and cuDNN
   wheels and without the CPU onnxruntime (no GPU here, so nothing is installed).
5. Two builds at once: onnxruntime-gpu added beside onnxruntime -> `decode` warns in one line,
   `decode --provider cuda` fails in one line, both naming the fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
VECTOR = ROOT / "tests/conformance/vectors/png_gated_fp16.png"
DECODE_ONLY_LIMIT_MB = 250


def run(*cmd, cwd=None, check=True, env=None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=env)
    if check and result.returncode != 0:
        sys.exit(
            f"FAILED: {' '.join(map(str, cmd))}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result


def pinned_version(name: str) -> str:
    for line in CONSTRAINTS.read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.split("==")[1]
    sys.exit(f"{name} is not pinned in constraints.txt")


def fresh_venv(folder: Path) -> tuple[Path, Path]:
    """(python, bin folder) of a new virtual environment without pip of its own, so that its
    site-packages holds exactly what gamut-onnx brings (this pip installs into it)."""
    venv.EnvBuilder(with_pip=False, clear=True).create(folder)
    return folder / "bin" / "python", folder / "bin"


def pip(python: Path, *args, check: bool = True) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "pip", "--python", python, *args, check=check)


def pip_install(python: Path, *args) -> None:
    pip(python, "install", "-q", "-c", CONSTRAINTS, *args)


def site_packages_mb(python: Path) -> float:
    path = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout
    total = sum(f.stat().st_size for f in Path(path.strip()).rglob("*") if f.is_file())
    return total / 1e6


def one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    lines = result.stderr.strip().splitlines()
    if result.returncode != 1 or len(lines) != 1 or fragment not in lines[0]:
        sys.exit(f"expected one line with {fragment!r}, exit 1; got {result.returncode}: {lines}")


def build(work: Path) -> tuple[Path, Path]:
    dist = work / "dist"
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
    wheel, sdist = next(dist.glob("*.whl")), next(dist.glob("*.tar.gz"))
    run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    print(f"build: {wheel.name} ({wheel.stat().st_size // 1024} KB), {sdist.name}; twine ok")
    return wheel, sdist


def check_decode_only(work: Path, wheel: Path) -> Path:
    python, bindir = fresh_venv(work / "decode-only")
    pip_install(python, wheel)  # no onnxruntime build yet: decode says which extra to add
    bare = run(bindir / "gamut-onnx", "decode", VECTOR, "-o", work / "none.tif", check=False)
    one_line_error(bare, "pip install 'gamut-onnx[cpu]'")
    pip_install(python, f"{wheel}[cpu]")
    size = site_packages_mb(python)
    for absent in ("onnx", "torch"):
        found = run(python, "-c", f"import importlib.util as u; print(u.find_spec('{absent}'))")
        if found.stdout.strip() != "None":
            sys.exit(f"decode-only install pulled in {absent}")
    out = work / "restored.tif"
    run(bindir / "gamut-onnx", "decode", VECTOR, "-o", out)
    encode = run(bindir / "gamut-onnx", "encode", out, "-o", work / "x.png", check=False)
    one_line_error(encode, "gamut-onnx[fit]")
    verdict = "ok" if size <= DECODE_ONLY_LIMIT_MB else "OVER THE LIMIT"
    limit = f"limit {DECODE_ONLY_LIMIT_MB}"
    print(f"decode-only [cpu]: {size:.0f} MB of site-packages ({limit}): {verdict}")
    if size > DECODE_ONLY_LIMIT_MB:
        sys.exit(1)
    return python


def check_encoder(work: Path, sdist: Path) -> None:
    python, bindir = fresh_venv(work / "encoder")
    pip_install(python, f"{sdist}[cpu,fit]")
    cli = bindir / "gamut-onnx"
    run(cli, "sample", "-o", work / "scene.tif", "--width", "64", "--height", "48")
    run(cli, "encode", work / "scene.tif", "-o", work / "scene.png", "--steps", "50")
    run(cli, "decode", work / "scene.png", "-o", work / "back.tif")
    print(
        f"encoder from the sdist [cpu,fit]: encode + decode ok ({site_packages_mb(python):.0f} MB)"
    )


def check_gpu_resolution(work: Path, wheel: Path) -> None:
    python, _ = fresh_venv(work / "gpu")
    report = work / "gpu-report.json"
    pip(python, "install", "-q", "--dry-run", "--report", report, f"{wheel}[gpu]")
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    wanted = {"onnxruntime-gpu", "nvidia-cuda-runtime", "nvidia-cudnn-cu13"}
    if not wanted <= names or "onnxruntime" in names:
        sys.exit(f"[gpu] resolves to {sorted(names)}")
    cuda = sorted(n for n in names if n.startswith("nvidia-"))
    print(f"gpu [gpu]: resolves onnxruntime-gpu with {', '.join(cuda)}; no CPU onnxruntime")


def check_two_builds(work: Path, python: Path) -> None:
    version = pinned_version("onnxruntime")
    pip(python, "install", "-q", "--no-deps", f"onnxruntime-gpu=={version}")
    cli = python.parent / "gamut-onnx"
    result = run(cli, "decode", VECTOR, "-o", work / "two.tif", check=False)
    warning = [line for line in result.stderr.splitlines() if "installed together" in line]
    if result.returncode != 0 or len(warning) != 1:
        sys.exit(f"two builds: expected success with one warning, got {result.returncode}: "
                 f"{result.stderr}")  # fmt: skip
    cuda = run(
        cli, "decode", VECTOR, "-o", work / "two-cuda.tif", "--provider", "cuda", check=False
    )
    one_line_error(cuda, "pip uninstall -y onnxruntime onnxruntime-gpu")
    said = cuda.stderr.strip()[:80]
    print(f"onnxruntime + onnxruntime-gpu: decode warns in one line; --provider cuda: {said}...")


def main() -> None:
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    with tempfile.TemporaryDirectory(prefix="gamut-package-") as tmp:
        work = Path(tmp)
        wheel, sdist = build(work)
        python = check_decode_only(work, wheel)
        check_encoder(work, sdist)
        check_gpu_resolution(work, wheel)
        check_two_builds(work, python)
    print("package-check: all install paths ok")


if __name__ == "__main__":
    main()
