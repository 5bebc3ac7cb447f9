"""Noise: quantum channels in Kraus form and the :class:`NoiseModel` that says where they apply.

>>> import qsim
>>> noise = (qsim.NoiseModel()
...          .add(qsim.depolarizing(0.01, qubits=2), gates=["cx"])
...          .add(qsim.amplitude_damping(0.02))
...          .readout(0.03))

Channels (:mod:`qsim.noise.channels`) follow qsim's bit order: a k-qubit channel's first Kronecker
factor acts on the first qubit it is applied to. The JSON format of a model is documented in
``docs/noise_model.md``. Importing this package imports neither scipy nor matplotlib.
"""

from __future__ import annotations

from .channels import (
    Channel,
    amplitude_damping,
    bit_flip,
    bit_phase_flip,
    channel_from_dict,
    depolarizing,
    kraus_channel,
    pauli_channel,
    phase_damping,
    phase_flip,
    reset_error,
    thermal_relaxation,
)
from .model import NoiseModel, NoiseRule, ReadoutRule

__all__ = [
    "Channel", "NoiseModel", "NoiseRule", "ReadoutRule", "amplitude_damping", "bit_flip",
    "bit_phase_flip", "channel_from_dict", "depolarizing", "kraus_channel", "pauli_channel",
    "phase_damping", "phase_flip", "reset_error", "thermal_relaxation",
]
