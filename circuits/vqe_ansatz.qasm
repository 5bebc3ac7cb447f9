// A hardware-efficient variational ansatz (two layers of ry/rz rotations with a CNOT ladder) on
// 3 qubits, with the angles written as parameter expressions, as an optimiser would emit them.
// Expected outcome: the state prod(layer 2) . CNOT ladder . prod(layer 1) |000> computed from the
// textbook matrices with the angles
//   layer 1: ry(pi/4 + 0.1*2) q0, ry(pi/3 - 0.5/2) q1, ry(2*0.3^2) q2,
//            rz(-pi/8*3) q0, rz(sqrt(2)/4) q1, rz(ln(2)) q2
//   ladder : cx q0,q1; cx q1,q2
//   layer 2: ry(cos(pi/3) + 1) q0, ry(exp(-0.5)) q1, ry(-(pi/2 - 0.2)) q2
// (see tests/test_circuits.py, which computes those probabilities independently of qsim).
OPENQASM 2.0;
include "qelib1.inc";
gate layer(a, b, c, d, e, f) x, y, z { ry(a) x; ry(b) y; ry(c) z; rz(d) x; rz(e) y; rz(f) z; }
qreg q[3];
creg c[3];
layer(pi/4 + 0.1*2, pi/3 - 0.5/2, 2*0.3^2, -pi/8*3, sqrt(2)/4, ln(2)) q[0], q[1], q[2];
cx q[0], q[1];
cx q[1], q[2];
ry(cos(pi/3) + 1) q[0];
ry(exp(-0.5)) q[1];
ry(-(pi/2 - 0.2)) q[2];
measure q -> c;
