"""Gate fusion for the dense backend: turn a gate sequence into fewer, larger operators.

Each gate is a :class:`Gate` of kind ``"dense"``, ``"diag"`` (diagonal) or ``"perm"``
(0/1 permutation). :func:`fuse` groups them into blocks and returns :class:`FusedOp` s whose
product, in order, equals the product of the gates. Each block becomes one operator: a dense
``2**m`` matrix (one GEMM per chunk of the state), a diagonal (one in-place multiplication) or an
index map (one gather / scatter). Qubits of a :class:`FusedOp` are in increasing order and its
data are laid out in that order (first qubit most significant).

Greedy planning, one gate at a time (a block is *open* while no later block touches any of its
qubits, so it may move to the end of the sequence):

* A non-diagonal gate merges with the open blocks on its qubits as long as the result stays within
  ``max_dense`` qubits (``max_perm`` when every gate in it is a permutation), smallest blocks
  first; the others are closed. When a single, closed block is the last one on all the gate's
  qubits, the gate is appended to it in place.
* Diagonal gates commute with each other, so they wait ("pending") until a non-diagonal gate needs
  their qubits. They then join that gate's block if it can take them all; otherwise they are
  hoisted into the latest diagonal block that no later block on their qubits follows (up to
  ``max_diag`` qubits), or start a new one. This turns the QFT's controlled-phase ladders into a
  few wide diagonal passes between 4-qubit dense blocks.
* Finally neighbouring blocks that commute up to each other are merged when the cost model
  (:func:`cost`) says one pass is cheaper than two: consecutive permutations (the QFT's final
  swaps), diagonals, and small dense blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gate:
    """One gate: ``matrix`` (2**k square, complex) acts on ``qubits`` (``qubits[0]`` leftmost
    factor). ``kind`` is ``"dense"``, ``"diag"`` or ``"perm"`` (see :func:`classify`)."""

    kind: str
    qubits: tuple[int, ...]
    matrix: np.ndarray


@dataclass(frozen=True)
class FusedOp:
    """A fused operator on ``qubits`` (increasing). ``data``: the ``2**m`` matrix (``"dense"``), its
    diagonal (``"diag"``) or the index map ``new[i] = old[data[i]]`` (``"perm"``)."""

    kind: str
    qubits: tuple[int, ...]
    data: np.ndarray


@dataclass(frozen=True)
class FusionConfig:
    """Largest block, in qubits, per kind. ``max_dense = 1`` with the others 1 disables fusion of
    different-qubit gates (gates on the same qubit still merge)."""

    max_dense: int = 4
    max_perm: int = 10
    max_diag: int = 16


def classify(matrix: np.ndarray) -> str:
    """``"diag"`` if ``matrix`` is diagonal, ``"perm"`` if it is a 0/1 permutation matrix, else
    ``"dense"`` (exact tests: these kinds get exact special kernels)."""
    m = np.asarray(matrix)
    off = m.copy()
    np.fill_diagonal(off, 0)
    if not off.any():
        return "diag"
    if np.all((m == 0) | (m == 1)) and np.all(m.sum(axis=0) == 1) and np.all(m.sum(axis=1) == 1):
        return "perm"
    return "dense"


def permutation_map(matrix: np.ndarray) -> np.ndarray:
    """The index map ``src`` of a permutation matrix P: ``(P @ x)[i] == x[src[i]]``."""
    return np.argmax(np.asarray(matrix).real, axis=1).astype(np.intp)


@dataclass(eq=False)
class _Block:
    qubits: set[int]
    gates: list[Gate]
    pos: int
    kind: str
    alive: bool = True


def _merge_kind(a: str, b: str) -> str:
    return a if a == b else "dense"


#: How far back (in operators) :meth:`_Planner.compact` looks for a partner.
COMPACT_WINDOW = 16
#: Relative cost of one dense operator by width (one pass over the state = 1), measured at 20
#: qubits (benchmarks/dev_kernels.py): up to 3 qubits a GEMM is memory bound, above it is not.
DENSE_COST = (1.0, 1.0, 1.0, 1.15, 1.6, 2.6, 4.3, 8.0)


def cost(kind: str, width: int) -> float:
    """Estimated cost of applying one fused operator of ``kind`` on ``width`` qubits."""
    if kind == "diag":
        return 0.5
    if kind == "perm":
        return 1.0
    return DENSE_COST[width] if width < len(DENSE_COST) else DENSE_COST[-1] * 2.0 ** (
        width - len(DENSE_COST) + 1)


class _Planner:
    def __init__(self, config: FusionConfig) -> None:
        self.cfg = config
        #: Largest block, in qubits, per kind.
        self.limits = {"dense": config.max_dense, "perm": config.max_perm,
                       "diag": config.max_diag}
        self.blocks: list[_Block] = []
        self.diag_blocks: list[_Block] = []
        self.last: dict[int, _Block] = {}
        self.pending: dict[int, dict[int, Gate]] = {}
        self.seq = 0
        self.pos = 0

    def limit(self, kind: str) -> int:
        return self.limits[kind]

    def is_open(self, b: _Block) -> bool:
        last = self.last
        return all(last.get(q) is b for q in b.qubits)

    def new_block(self, qubits: set[int], gates: list[Gate], kind: str) -> _Block:
        b = _Block(qubits, gates, self.pos, kind)
        self.pos += 1
        self.blocks.append(b)
        for q in qubits:
            self.last[q] = b
        return b

    # --- non-diagonal gates ---------------------------------------------------------------------
    def add(self, g: Gate) -> None:
        if g.kind == "diag":
            self.seq += 1
            for q in g.qubits:
                self.pending.setdefault(q, {})[self.seq] = g
            return
        qs = set(g.qubits)
        pending = self.pending
        if not any(pending.get(q) for q in qs):  # no diagonal waits on these qubits
            host, sel, _, kind = self.choose(qs, g.kind, live=False)
            for b in sel:
                kind = _merge_kind(kind, b.kind)
            self.merge(host, sel, [g], kind)
            return
        pd = self.take_pending(qs)
        while True:
            # With diagonals to fold in, the block will be dense: size it as such.
            host, sel, live, kind = self.choose(qs, "dense" if pd else g.kind)
            fold = [d for d in pd if live.issuperset(d.qubits)]
            rest = [d for d in pd if not live.issuperset(d.qubits)]
            if host is not None:
                flush, grow = rest, []
            else:
                hoist = [self.hoist_target(d) is not None for d in rest]
                flush = [d for d, h in zip(rest, hoist) if h]
                grow = [d for d, h in zip(rest, hoist) if not h]
            if grow:
                # All or nothing: the diagonals that would widen the new block either all fit,
                # or all go to a diagonal block (partial folding chains blocks together).
                union = live.union(*(d.qubits for d in grow))
                if len(union) <= self.cfg.max_dense:
                    fold += grow
                    new_qubits, live = union - live, union
                    kind = "dense"
                    for b in self.open_blocks_on(new_qubits, sel):
                        if len(live | b.qubits) <= self.cfg.max_dense:
                            sel.append(b)
                            live |= b.qubits
                else:
                    flush += grow
            if not flush:
                break
            for d in flush:
                self.place_diag(d)
            pd = fold
        for d in fold:
            kind = _merge_kind(kind, d.kind)
        for b in sel:
            kind = _merge_kind(kind, b.kind)
        self.merge(host, sel, fold + [g], kind)

    def open_blocks_on(self, qs: Iterable[int], exclude: list[_Block]) -> list[_Block]:
        """Open blocks last on ``qs`` not in ``exclude``, smallest first."""
        found: list[_Block] = []
        for q in qs:
            b = self.last.get(q)
            if b is not None and b not in found and b not in exclude and self.is_open(b):
                found.append(b)
        return sorted(found, key=lambda b: len(b.qubits))

    def hoist_target(self, d: Gate) -> _Block | None:
        """The latest diagonal block that may take ``d`` (no later block acts on its qubits)."""
        lo = max((self.last[q].pos for q in d.qubits if q in self.last), default=-1)
        for e in reversed(self.diag_blocks):
            if e.pos < lo:
                break
            if e.alive and e.kind == "diag" and len(e.qubits | set(d.qubits)) <= self.cfg.max_diag:
                return e
        return None

    def take_pending(self, qs: Iterable[int]) -> list[Gate]:
        found: dict[int, Gate] = {}
        for q in qs:
            found.update(self.pending.get(q, {}))
        for s, d in found.items():
            for q in d.qubits:
                self.pending[q].pop(s, None)
        return [found[s] for s in sorted(found)]

    def choose(self, qs: set[int], kind: str, live: bool = True
               ) -> tuple[_Block | None, list[_Block], set[int], str]:
        """Where a new gate of ``kind`` on ``qs`` goes: ``(host, sel, live, kind)``.

        ``host``: the block that is the last one on every qubit of ``qs`` (the others untouched so
        far), when it is not open and the gate fits in it; the gate is appended to it in place.
        Otherwise the gate starts a new block at the end, merged with ``sel``: open blocks on
        ``qs`` (smallest first, while they fit). ``live``: the block's qubits on which it is the
        last block (a gate appended to a host must act only there; with the argument ``live``
        false it is not computed: empty).
        """
        last = self.last
        cands: list[_Block] = []
        for q in qs:
            b = last.get(q)
            if b is not None and b not in cands:
                cands.append(b)
        if len(cands) == 1 and not self.is_open(cands[0]):
            x = cands[0]
            k = _merge_kind(kind, x.kind)
            if len(x.qubits | qs) <= self.limit(k):
                at = ({q for q in x.qubits if last.get(q) is x} | qs) if live else set()
                return x, [], at, k
            return None, [], set(qs), kind
        union = set(qs)
        sel: list[_Block] = []
        for b in sorted(cands, key=lambda b: len(b.qubits)):
            k = _merge_kind(kind, b.kind)
            if self.is_open(b) and len(union | b.qubits) <= self.limit(k):
                sel.append(b)
                union |= b.qubits
                kind = k
        return None, sel, union, kind

    def merge(self, host: _Block | None, sel: list[_Block], gates: list[Gate],
              kind: str) -> None:
        if host is not None:
            host.gates.extend(gates)
            host.kind = kind
            for g in gates:
                host.qubits.update(g.qubits)
                for q in g.qubits:
                    self.last[q] = host
            return
        if not sel:
            self.new_block(set().union(*(g.qubits for g in gates)), list(gates), kind)
            return
        # The selected blocks are open and on disjoint qubits, so they commute: extend the
        # largest one in place and move it to the end, instead of copying every gate list into a
        # new block (which made long runs of gates on few qubits quadratic).
        base = max(sel, key=lambda b: len(b.gates))
        for b in sel:
            if b is not base:
                b.alive = False
                base.gates.extend(b.gates)
                base.qubits |= b.qubits
        base.gates.extend(gates)
        for g in gates:
            base.qubits.update(g.qubits)
        base.kind = kind
        base.pos = self.pos
        self.pos += 1
        for q in base.qubits:
            self.last[q] = base

    # --- diagonal gates -------------------------------------------------------------------------
    def place_diag(self, d: Gate) -> None:
        """Put a diagonal gate where it must go now: into the block that is last on all its
        qubits, else into a diagonal block no later block depends on, else a new diagonal block."""
        owners = {id(self.last[q]): self.last[q] for q in d.qubits if q in self.last}
        if len(owners) == 1:
            (b,) = owners.values()
            k = _merge_kind(b.kind, "diag")
            if b.kind != "perm" and len(b.qubits | set(d.qubits)) <= self.limit(k):
                b.gates.append(d)
                b.kind = k
                b.qubits.update(d.qubits)
                for q in d.qubits:
                    self.last[q] = b
                return
        e = self.hoist_target(d)
        if e is not None:
            e.qubits.update(d.qubits)
            e.gates.append(d)
            for q in d.qubits:
                self.last[q] = e
            return
        self.diag_blocks.append(self.new_block(set(d.qubits), [d], "diag"))

    def finish(self) -> list[_Block]:
        for d in self.take_pending(list(self.pending)):
            self.place_diag(d)
        blocks = sorted((b for b in self.blocks if b.alive), key=lambda b: b.pos)
        blocks = self.compact(blocks, backward=True)
        return self.compact(blocks[::-1], backward=False)[::-1]

    def compact(self, blocks: list[_Block], backward: bool) -> list[_Block]:
        """Merge each block into a nearby one it commutes up to, when that is cheaper.

        ``backward``: blocks are in circuit order and move back; else in reverse order (each block
        moves forward to a later one)."""
        out: list[_Block] = []
        masks: list[int] = []  # out's qubit sets as bit masks (cheap to test in the window)
        limit = self.limits
        for b in blocks:
            bm = sum(1 << q for q in b.qubits)
            bk = b.kind
            for i in range(len(out) - 1, max(-1, len(out) - 1 - COMPACT_WINDOW), -1):
                c = out[i]
                cm = masks[i]
                # (the size test of try_join first, inline: most pairs fail it)
                if ((cm | bm).bit_count() <= limit[bk if c.kind == bk else "dense"]
                        and self.try_join(c, b, backward, cm, bm)):
                    masks[i] = cm | bm
                    break
                if cm & bm and not (c.kind == bk == "diag"):
                    out.append(b)
                    masks.append(bm)
                    break
            else:
                out.append(b)
                masks.append(bm)
        return out

    def try_join(self, c: _Block, b: _Block, b_after: bool, cm: int, bm: int) -> bool:
        """Merge ``b`` into ``c`` (``b`` after ``c`` when ``b_after``) if allowed and cheaper;
        ``cm``, ``bm``: their qubits as bit masks."""
        kind = _merge_kind(c.kind, b.kind)
        size = (cm | bm).bit_count()
        if size > self.limit(kind):
            return False
        if kind == "dense" and cost(kind, size) > cost(c.kind, cm.bit_count()) + cost(
                b.kind, bm.bit_count()):
            return False
        union = c.qubits | b.qubits
        if b_after:
            c.gates.extend(b.gates)
        else:  # b is absorbed, so its list can take c's gates (no new list per join)
            b.gates.extend(c.gates)
            c.gates = b.gates
        c.qubits = union
        c.kind = kind
        return True


def fuse(gates: Iterable[Gate], config: FusionConfig | None = None) -> list[FusedOp]:
    """Fuse ``gates`` (applied first to last) into operators with the same product."""
    gates = list(gates)
    return build_plan(gates, plan_blocks(gates, config))


def build_plan(gates: Sequence[Gate],
               plan: Sequence[tuple[str, tuple[int, ...], list[int]]]) -> list[FusedOp]:
    """The operators of a :func:`plan_blocks` plan of ``gates``, then the gates without qubits
    (a 1x1 "unitary": a global phase, which commutes with everything) as one scalar."""
    ops = [block_op(kind, qubits, [gates[i] for i in idx]) for kind, qubits, idx in plan]
    phase = 1 + 0j
    for g in gates:
        if not g.qubits:
            phase *= complex(np.asarray(g.matrix).reshape(-1)[0])
    if phase != 1:
        ops.append(FusedOp("diag", (), np.array([phase])))
    return ops


def block_op(kind: str, qubits: Iterable[int], gates: Sequence[Gate]) -> FusedOp:
    """The operator of ``gates`` (applied in order) on the sorted ``qubits``."""
    qs = tuple(sorted(qubits))
    pos = {q: i for i, q in enumerate(qs)}
    m = len(qs)
    if kind == "diag":
        d = np.ones((2,) * m, dtype=complex)
        for g in gates:
            _mul_diag(d, g, pos, m)
        return FusedOp("diag", qs, d.ravel())
    if kind == "perm":
        v = np.arange(1 << m, dtype=np.intp).reshape((2,) * m)
        for g in gates:
            v = _apply_axes(v, g.matrix, [pos[q] for q in g.qubits], perm=True)
        return FusedOp("perm", qs, v.ravel())
    if len(gates) == 1 and len(gates[0].qubits) == m:
        g = gates[0]
        order = sorted(range(m), key=lambda i: g.qubits[i])
        mat = np.asarray(g.matrix, dtype=complex).reshape((2,) * (2 * m))
        mat = mat.transpose(order + [m + o for o in order]).reshape(1 << m, 1 << m)
        return FusedOp("dense", qs, np.ascontiguousarray(mat))
    if m <= 2:
        return FusedOp("dense", qs, _small_dense(m, pos, gates))
    t = np.eye(1 << m, dtype=complex).reshape((2,) * m + (1 << m,))
    for g in gates:
        if g.kind == "diag":
            _mul_diag(t, g, pos, m)
        else:
            t = _apply_axes(t, g.matrix, [pos[q] for q in g.qubits], perm=g.kind == "perm")
    return FusedOp("dense", qs, np.ascontiguousarray(t.reshape(1 << m, 1 << m)))


def _small_dense(m: int, pos: dict[int, int], gates: Sequence[Gate]) -> np.ndarray:
    """:func:`block_op`'s matrix for a dense block on m <= 2 qubits: each gate as one small
    matrix product (or row scaling) on the 2**m x 2**m matrix viewed as (2**a, 2**k, rest), a
    2-qubit gate with its qubits in the other order first swapped (no axis moves)."""
    t: np.ndarray = np.eye(1 << m, dtype=complex)
    for g in gates:
        if g.kind == "diag":
            _mul_diag(t, g, pos, m)  # (rows scaled in place: t stays contiguous)
            continue
        k = len(g.qubits)
        mat = np.asarray(g.matrix)
        if k == 2 and pos[g.qubits[0]] > pos[g.qubits[1]]:
            mat = mat.reshape(2, 2, 2, 2).transpose(1, 0, 3, 2).reshape(4, 4)
        v = t.reshape(1 << pos[g.qubits[0]] if k == 1 else 1, 1 << k, -1)
        if g.kind == "perm":
            t = v[:, permutation_map(mat)].reshape(t.shape)
        else:
            t = np.matmul(mat, v).reshape(t.shape)
    return np.ascontiguousarray(t)


def _mul_diag(t: np.ndarray, g: Gate, pos: dict[int, int], m: int) -> None:
    """Multiply the first m axes of ``t`` by gate ``g``'s diagonal, in place."""
    k = len(g.qubits)
    ax = [pos[q] for q in g.qubits]
    if t.flags.c_contiguous and (k == 1 or (k == 2 and abs(ax[0] - ax[1]) == 1)):
        # one qubit or two adjacent ones: t as (2**a, 2**k, rest), no transposition
        dg = np.diagonal(np.asarray(g.matrix))
        if k == 2 and ax[0] > ax[1]:
            dg = dg.reshape(2, 2).T.reshape(4)
        v = t.reshape(1 << min(ax), 1 << k, -1)  # a view: t is contiguous
        v *= dg[:, None]
        return
    dg = np.diagonal(np.asarray(g.matrix)).reshape((2,) * k)
    order = sorted(range(k), key=lambda i: ax[i])
    dg = dg.transpose(order)
    shape = [1] * t.ndim
    for a in ax:
        shape[a] = 2
    t *= dg.reshape(shape)


def _apply_axes(t: np.ndarray, matrix: np.ndarray, axes: list[int], perm: bool) -> np.ndarray:
    """Apply a gate on ``axes`` of tensor ``t`` (leading axes are qubits); returns a new tensor."""
    k = len(axes)
    shp = t.shape
    if axes == list(range(axes[0], axes[0] + k)):  # adjacent, in order: no transposition
        a = axes[0]
        v = t.reshape(1 << a, 1 << k, -1)
        if perm:
            return v[:, permutation_map(matrix)].reshape(shp)
        return np.matmul(np.asarray(matrix), v).reshape(shp)
    moved = np.moveaxis(t, axes, list(range(k)))
    flat = moved.reshape(1 << k, -1)
    out = flat[permutation_map(matrix)] if perm else np.asarray(matrix) @ flat
    return np.moveaxis(out.reshape(moved.shape), list(range(k)), axes)


def plan_blocks(gates: Sequence[Gate], config: FusionConfig | None = None
                ) -> list[tuple[str, tuple[int, ...], list[int]]]:
    """The fusion plan of ``gates`` without building any matrix: for each fused operator, its
    kind, its sorted qubits and the indices (into ``gates``, in application order) of the gates
    it multiplies. A sweep plans once and rebuilds only the blocks whose gates changed
    (:func:`block_op` on the new gates). Gates without qubits (a global phase) are not planned:
    the caller handles them."""
    p = _Planner(config or FusionConfig())
    index = {id(g): i for i, g in enumerate(gates)}
    for g in gates:
        if g.qubits:
            p.add(g)
    return [(b.kind, tuple(sorted(b.qubits)), [index[id(g)] for g in b.gates])
            for b in p.finish()]
