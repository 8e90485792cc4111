"""Compiled operators: ``gu_deform_sample``, the sampling half of a deformable convolution on CPU."""
from .build import FAST_OPERATOR, library_path, load_fast_operator

__all__ = ["FAST_OPERATOR", "library_path", "load_fast_operator"]
