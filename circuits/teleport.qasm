// Quantum teleportation with mid-circuit measurement and classically controlled corrections.
// q[0] is prepared in |psi> = u3(1.2, 0.7, -0.4)|0> and teleported to q[2] through the Bell pair
// (q[1], q[2]); Bob applies X if m1 == 1 and Z if m0 == 1. To check the transfer, the inverse of
// the preparation, u3(-1.2, 0.4, -0.7), is applied to q[2] and q[2] is measured into r.
// Expected outcome (keys "m0 m1 r"): r is always 0; the Bell measurement (m0, m1) is uniform, so
// "0 0 0", "0 1 0", "1 0 0" and "1 1 0" each with probability 1/4. Without the corrections r would
// be 1 in about half of the shots.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg m0[1];
creg m1[1];
creg r[1];
u3(1.2, 0.7, -0.4) q[0];
h q[1];
cx q[1], q[2];
barrier q;
cx q[0], q[1];
h q[0];
measure q[0] -> m0[0];
measure q[1] -> m1[0];
if(m1==1) x q[2];
if(m0==1) z q[2];
u3(-1.2, 0.4, -0.7) q[2];
measure q[2] -> r[0];
