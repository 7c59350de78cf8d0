"""The Python restore runtime (onnxruntime, no torch). Installed as `gamut_onnx.runtime`."""

from gamut_onnx.runtime.session import GRAPH_PATH, RestoreSession, cuda_usable, resolve_provider

__all__ = ["GRAPH_PATH", "RestoreSession", "cuda_usable", "resolve_provider"]
