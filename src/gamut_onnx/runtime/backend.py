"""Which onnxruntime build is installed, and one line on what to do when it is the wrong one.

onnxruntime ships as several pip distributions (`onnxruntime`, `onnxruntime-gpu`, ...) that all
install the same `onnxruntime` package folder. Installed side by side they overwrite each
other's files, and the CUDA provider silently disappears: the most common broken install, so
it is detected from the installed distributions' metadata before anything else.
"""

from __future__ import annotations

import contextlib
import io
from functools import cache
from importlib import metadata

from gamut_onnx.errors import GamutError

# Distributions that install the `onnxruntime` package folder.
BUILDS = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-qnn",
    "onnxruntime-silicon",
)
INSTALL_CPU = "pip install 'gamut-onnx[cpu]'"
INSTALL_GPU = "pip install 'gamut-onnx[gpu]'"


def installed_builds() -> list[str]:
    """The onnxruntime distributions installed in the folder Python imports `onnxruntime` from
    (normally exactly one). A build in another folder, e.g. a system one shadowed by a
    PYTHONPATH or `pip install --target` folder, does not touch its files and is not counted."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("onnxruntime")
    home = None
    if spec is not None and spec.submodule_search_locations:
        home = Path(next(iter(spec.submodule_search_locations))).resolve().parent
    found = []
    for name in BUILDS:  # found by file name, without parsing every installed package's metadata
        for dist in metadata.distributions(name=name):
            if home is None or Path(dist.locate_file("")).resolve() == home:
                found.append(name)
                break
    return found


def conflict_message(builds: list[str]) -> str | None:
    """The one-line fix when several onnxruntime builds share one environment, else None."""
    if len(builds) < 2:
        return None
    keep = INSTALL_GPU if "onnxruntime-gpu" in builds else INSTALL_CPU
    return (
        f"{' and '.join(builds)} are installed together and overwrite each other's files "
        f"(the CUDA provider can vanish): pip uninstall -y {' '.join(builds)} && {keep}"
    )


@cache
def import_onnxruntime():
    """The onnxruntime module, quiet; a one-line GamutError when there is none."""
    try:
        import onnxruntime
    except ImportError:
        builds = installed_builds()
        if builds:  # installed but broken, e.g. half-overwritten by a second build
            fix = conflict_message(builds) or f"pip install --force-reinstall {builds[0]}"
            raise GamutError(f"onnxruntime is installed but cannot be imported: {fix}") from None
        raise GamutError(
            f"restoring needs onnxruntime: {INSTALL_CPU}, or {INSTALL_GPU} for NVIDIA GPUs"
        ) from None
    onnxruntime.set_default_logger_severity(4)  # keep provider fallback chatter off stderr
    return onnxruntime


def preload_cuda_libraries(ort) -> None:
    """Load the CUDA and cuDNN libraries that `onnxruntime-gpu[cuda,cudnn]` installs with pip
    (onnxruntime does not look in site-packages by itself unless torch was imported first)."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    # It prints its own warnings; missing libraries are reported by the provider check.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(OSError):
        preload()


def cuda_missing_reason(ort) -> str:
    """Why the CUDA provider is not usable, as a one-line instruction."""
    builds = installed_builds()
    conflict = conflict_message(builds)
    if conflict:
        return conflict
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        remove = " ".join(builds) or "onnxruntime"
        fix = f"pip uninstall -y {remove} && {INSTALL_GPU}"
        return f"this onnxruntime build has no CUDA provider: {fix}"
    return (
        "onnxruntime-gpu could not start CUDA (no NVIDIA GPU, or CUDA 13 / cuDNN 9 libraries "
        f"missing): {INSTALL_GPU} brings the libraries, or use --provider cpu"
    )
