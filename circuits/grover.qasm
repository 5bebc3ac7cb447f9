// Grover search over 3 qubits (N = 8) for the marked item |101>, with 2 iterations.
// Each iteration rotates by 2*asin(1/sqrt(8)), so after k = 2 iterations
// P(101) = sin^2((2k+1) * asin(1/sqrt(8))) = sin^2(5*asin(1/sqrt(8))) = 0.9453125 (= 121/128), and
// each of the other 7 strings has probability (1 - 121/128)/7 = 1/128.
// Expected outcome: "101" with probability 121/128, every other string 1/128.
OPENQASM 2.0;
include "qelib1.inc";
// doubly controlled Z from qelib1 gates
gate ccz3 a, b, c { h c; ccx a, b, c; h c; }
// phase oracle: flips the sign of |101>
gate oracle a, b, c { x b; ccz3 a, b, c; x b; }
// inversion about the mean
gate diffuser a, b, c { h a; h b; h c; x a; x b; x c; ccz3 a, b, c; x a; x b; x c; h a; h b; h c; }
qreg q[3];
creg c[3];
h q;
oracle q[0], q[1], q[2];
diffuser q[0], q[1], q[2];
oracle q[0], q[1], q[2];
diffuser q[0], q[1], q[2];
measure q -> c;
