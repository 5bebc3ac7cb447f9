"""Benchmark harness comparing qsim with Qiskit Aer, qulacs and qsimcirq (`make bench`)."""
