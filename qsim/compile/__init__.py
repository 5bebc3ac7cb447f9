"""From a :class:`qsim.Circuit` to what the engine runs: definitions lowered once
(:mod:`.lower`), the one measurement plan (:mod:`.plan`), and gate fusion for the dense backend
(:mod:`.fusion`)."""

from .lower import Body, DefinedGate, LoweredOp, lower
from .plan import Plan, Step, plan

__all__ = ["Body", "DefinedGate", "LoweredOp", "Plan", "Step", "lower", "plan"]
