"""Deployment of upgraded networks: MXNet's symbol + params format, and ONNX with ``DeformConv``."""

ONNX_OPSET = 19
"""The first opset with ``DeformConv``."""
