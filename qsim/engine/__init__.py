"""The engine: :func:`simulate` and :func:`run`, shot branching and trajectories, written against
the :class:`~qsim.backends.base.State` protocol only."""

from .simulate import run, simulate

__all__ = ["run", "simulate"]
