// Custom gates three levels deep, with parameters passed down through expressions.
//   level 1: rot(theta) a          = ry(theta) a
//   level 2: entangle(theta) a, b  = rot(theta) a; cx a, b  ->  cos(theta/2)|00> + sin(theta/2)|11>
//   level 3: spread(theta) a, b, c = entangle(2*theta) a, b; cx b, c; flip c
//   (flip is a level-1 gate: x)
// spread(pi/6) on q[0], q[1], q[2] gives cos(pi/6)|001> + sin(pi/6)|110>; rot(pi) q[3] sets q[3]
// to |1>.
// Expected outcome: "0011" with probability cos^2(pi/6) = 3/4, "1101" with probability 1/4.
OPENQASM 2.0;
include "qelib1.inc";
gate rot(theta) a { ry(theta) a; }
gate flip a { x a; }
gate entangle(theta) a, b { rot(theta) a; cx a, b; }
gate spread(theta) a, b, c { entangle(2*theta) a, b; cx b, c; flip c; }
qreg q[4];
creg c[4];
spread(pi/6) q[0], q[1], q[2];
rot(pi) q[3];
measure q -> c;
