"""Deployment of upgraded networks: MXNet's symbol + params format, and ONNX with ``DeformConv``."""
