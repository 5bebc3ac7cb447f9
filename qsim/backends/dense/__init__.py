"""The dense state-vector backend: :class:`DenseState`, its fusion-driven gate application
(:mod:`.state`) and chunked in-place kernels (:mod:`.kernels`)."""

from .state import DenseState

__all__ = ["DenseState"]
