// Quantum Fourier transform on 3 qubits applied to the basis state |x> = |101> (x = 5, q[0] the
// most significant bit). With the final swap the output is in the same bit order:
// QFT|x> = (1/sqrt(8)) * sum_k exp(2*pi*i*x*k/8) |k>.
// Expected outcome: every 3-bit string with probability 1/8; the amplitude of |k> is
// exp(2*pi*i*5*k/8)/sqrt(8) (e.g. |001> has phase 5*pi/4, |010> has phase pi/2).
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
// input |101>
x q[0];
x q[2];
barrier q;
// QFT
h q[0];
cu1(pi/2) q[1], q[0];
cu1(pi/4) q[2], q[0];
h q[1];
cu1(pi/2) q[2], q[1];
h q[2];
swap q[0], q[2];
measure q -> c;
