"""The GamutMLP as a torch module, its octave features and its weights as plain tensors."""

from __future__ import annotations

from gamut_onnx.blob import weight_shapes
from gamut_onnx.errors import GamutError
from gamut_onnx.features import INPUT_CHANNELS
from gamut_onnx.fit.config import WIDTHS


def build_model(width: int, octaves: int, context: bool = False):
    """The GamutMLP as a torch module taking pre-encoded features (then the raw context)."""
    import torch

    if width not in WIDTHS:
        raise GamutError(f"width {width} is not supported (choose {', '.join(map(str, WIDTHS))})")
    features = weight_shapes(width, octaves, context)[0][0]
    return torch.nn.Sequential(
        torch.nn.Linear(features, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, 3),
    )


def encode_features(inputs, freq):
    """sin/cos octave encoding with the graph's layout: per input, sin over k then cos over k.
    Columns after the first five (the context inputs) follow as they are."""
    import torch

    angles = inputs[:, :INPUT_CHANNELS, None] * freq
    encoded = torch.cat([torch.sin(angles), torch.cos(angles)], dim=2).flatten(1)
    return torch.cat([encoded, inputs[:, INPUT_CHANNELS:]], dim=1)


def model_parameters(model) -> list:
    """[W1, b1, W2, b2, W3, b3] with W as (in, out): the layout of the hand-written step."""
    layers = [m for m in model if hasattr(m, "weight")]
    out = []
    for layer in layers:
        out += [layer.weight.detach().t().contiguous(), layer.bias.detach().clone()]
    return out


def load_parameters(model, params: list) -> None:
    """Copy [W1, b1, W2, b2, W3, b3] (W as (in, out)) back into the torch module."""
    import torch

    layers = [m for m in model if hasattr(m, "weight")]
    with torch.no_grad():
        for layer, w, b in zip(layers, params[0::2], params[1::2], strict=True):
            layer.weight.copy_(w.t())
            layer.bias.copy_(b)
