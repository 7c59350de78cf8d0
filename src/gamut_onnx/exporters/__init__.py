"""Exporters: the only code that knows ONNX and torch.

`graph` builds the fixed restore graph (onnx helper API); `weights` packs fitted torch weights
into blobs. Installed as `gamut_onnx.exporters`.
"""
