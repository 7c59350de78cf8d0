"""The Python restore runtime (onnxruntime, no torch): the shipped graphs (`graphs`), what
they are fed (`feeds`), the sessions (`session`, `output`) and a carrier's decode (`decode`)."""

from gamut_onnx.runtime.graphs import GRAPH_PATH, GRAPHS, GRIDS_PATH, OUTPUT_PATH
from gamut_onnx.runtime.session import RestoreSession, cuda_usable, resolve_provider

__all__ = [
    "GRAPHS",
    "GRAPH_PATH",
    "GRIDS_PATH",
    "OUTPUT_PATH",
    "RestoreSession",
    "cuda_usable",
    "resolve_provider",
]
