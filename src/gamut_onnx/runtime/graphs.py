"""The three shipped graphs and their cached onnxruntime sessions.

`grids.onnx` computes a carrier's context grids, `restore.onnx` restores carrier pixels to
linear ProPhoto, `output.onnx` encodes linear ProPhoto into an output space; together they are
the whole per-pixel restore (docs/blob-format.md, "Embedding restore"). Sessions are cached per
(graph, provider, threads): a process creates each once.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from gamut_onnx.errors import GamutError
from gamut_onnx.runtime.backend import import_onnxruntime, preload_cuda_libraries

GRAPH_DIR = Path(__file__).parent
GRAPH_PATH = GRAPH_DIR / "restore.onnx"
GRIDS_PATH = GRAPH_DIR / "grids.onnx"
OUTPUT_PATH = GRAPH_DIR / "output.onnx"
GRAPHS = {"restore": GRAPH_PATH, "grids": GRIDS_PATH, "output": OUTPUT_PATH}
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
CUDA_OPTIONS = {"use_tf32": "0"}  # float32 MatMuls in float32, as on every other provider


@cache
def session(graph: Path, provider: str, threads: int):
    """An InferenceSession over `graph` on `provider` ('cpu' or 'cuda', CPU as fallback for
    ops the GPU lacks) with `threads` intra-op threads."""
    ort = import_onnxruntime()
    if provider == "cuda":
        preload_cuda_libraries(ort)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.intra_op_num_threads = threads
    if provider == "cpu" and _shared_cpu_arena(ort):
        options.add_session_config_entry("session.use_env_allocators", "1")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    names = [PROVIDERS["cpu"]]
    if provider == "cuda":
        names = [(PROVIDERS["cuda"], CUDA_OPTIONS), PROVIDERS["cpu"]]
    try:
        return ort.InferenceSession(str(graph), sess_options=options, providers=names)
    except Exception as exc:  # onnxruntime raises its own unrelated types
        raise GamutError(f"cannot start onnxruntime with {provider}: {exc}") from exc


@cache
def _shared_cpu_arena(ort) -> bool:
    """One CPU memory arena for every session of the process, growing by what is asked: the
    grid, restore and output graphs run one after another, so sharing caps the memory onnxruntime
    keeps at the largest of them instead of their sum (it keeps what an arena grew to)."""
    try:
        info = ort.OrtMemoryInfo(
            "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
        )
        config = ort.OrtArenaCfg({"arena_extend_strategy": 1})  # kSameAsRequested
        ort.create_and_register_allocator(info, config)
    except Exception:  # noqa: BLE001 (an older onnxruntime: each session keeps its own arena)
        return False
    return True
