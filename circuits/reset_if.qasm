// Mid-circuit measurement, classical control and reset.
// q[0] is put in |+> and measured into m (a fair coin). Then:
//   if(m==1) x q[1];   copies the coin onto q[1]
//   if(m==1) x q[0];   actively resets q[0] to |0>
//   h q[2]; reset q[2]; resets q[2] to |0> whatever its state
//   if(m==0) x q[2];   q[2] becomes NOT m
// Finally q is measured into out (out[0] leftmost).
// Expected outcome (keys "m out"): "0 001" with probability 1/2 and "1 010" with probability 1/2,
// nothing else.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg m[1];
creg out[3];
h q[0];
measure q[0] -> m[0];
if(m==1) x q[1];
if(m==1) x q[0];
h q[2];
reset q[2];
if(m==0) x q[2];
measure q -> out;
