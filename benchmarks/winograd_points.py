#!/usr/bin/python3
"""Float32 error of Winograd F(m x m, 3x3) for a choice of interpolation points.

Why graph/winograd43.go uses the points 0, 1, -1, 2, -1/2 (and infinity) for
F(4x4, 3x3): this script derives the Toom-Cook transforms (At, G, Bt) of each
point set exactly (sympy), runs the convolution in float32 with numpy (the
tile transforms, then the products summed over input maps one map at a time,
as the SGEMM does), and prints the largest error against the float64 direct
convolution relative to the output's largest magnitude, the measure and the
1e-5 bound of graph's tests (issue 14). Inputs and filters are uniform in
[-1, 1): 384 input maps of 28x28 (zfnet's conv2 in phase form) and 1024 of
15x15 (conv5 with its padding).

    /usr/bin/python3 benchmarks/winograd_points.py    # a few seconds

Output of 2026-12-01 (Debian's numpy and sympy):

    F(2x2,3x3) points [0, 1, -1]: 7.4e-07 1.0e-06
    F(4x4,3x3) points [0, 1, -1, 2, -2]: 1.0e-05 1.6e-05
    F(4x4,3x3) points [0, 1, -1, 1/2, -1/2]: 1.1e-05 1.7e-05
    F(4x4,3x3) points [0, 1, -1, 2, -1/2]: 5.0e-06 5.1e-06
    F(3x3,3x3) points [0, 1, -1, 2]: 5.9e-06 5.5e-06
"""
import sys
from fractions import Fraction

import numpy as np
import sympy as sp


def toom_cook(m, r, points):
    """At (m x a), G (a x r), Bt (a x a) of F(m, r), a = m+r-1, for the
    finite points given and infinity: At the powers of the points, G the
    Lagrange basis, Bt solved so that At[(G g) * (Bt d)] is the correlation."""
    a = m + r - 1
    P = [sp.Rational(p) for p in points]
    At, G = sp.zeros(m, a), sp.zeros(a, r)
    for j, p in enumerate(P):
        f = sp.prod([p - q for q in P if q != p])
        for i in range(m):
            At[i, j] = p**i
        for k in range(r):
            G[j, k] = p**k / f
    At[m - 1, a - 1] = 1
    G[a - 1, r - 1] = 1
    bs = sp.symbols(f"b0:{a * a}")
    B = sp.Matrix(a, a, bs)
    eqs = [sum(At[i, j] * G[j, k] * B[j, l] for j in range(a)) - (1 if l == i + k else 0)
           for i in range(m) for k in range(r) for l in range(a)]
    sol = sp.solve(eqs, bs, dict=True)[0]
    B = B.subs(sol).subs({b: 0 for b in bs})
    return (np.array(At, float), np.array(G, float), np.array(B, float))


def direct(x, w):
    n, c, h, wd = x.shape
    oh, ow = h - 2, wd - 2
    y = np.zeros((n, w.shape[0], oh, ow))
    for i in range(3):
        for j in range(3):
            y += np.einsum("nchw,oc->nohw", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    return y


def winograd(x, w, At, G, Bt, m, dt=np.float32):
    a = m + 2
    x, w = x.astype(dt), w.astype(dt)
    n, c, h, wd = x.shape
    oh, ow = h - 2, wd - 2
    th, tw = (oh + m - 1) // m, (ow + m - 1) // m
    xp = np.zeros((n, c, m * th + 2, m * tw + 2), dt)
    xp[:, :, :h, :wd] = x
    U = np.einsum("ai,ocij,bj->ocab", G.astype(dt), w, G.astype(dt))
    tiles = np.stack([np.stack([xp[:, :, m * i:m * i + a, m * j:m * j + a] for j in range(tw)], 2)
                      for i in range(th)], 2)
    V = np.einsum("ai,nctsij,bj->nctsab", Bt.astype(dt), tiles, Bt.astype(dt))
    M = np.zeros((n, w.shape[0], th, tw, a, a), dt)
    for ci in range(c):  # one map at a time, as the SGEMM sums
        M += np.einsum("oab,ntsab->notsab", U[:, ci], V[:, ci])
    Y = np.einsum("pa,notsab,qb->notspq", At.astype(dt), M, At.astype(dt))
    return Y.transpose(0, 1, 2, 4, 3, 5).reshape(n, w.shape[0], m * th, m * tw)[:, :, :oh, :ow]


def main():
    rng = np.random.default_rng(1)
    cases = []
    for n, c, h, o in [(2, 384, 28, 16), (1, 1024, 15, 16)]:
        x = rng.uniform(-1, 1, (n, c, h, h))
        w = rng.uniform(-1, 1, (o, c, 3, 3))
        cases.append((x, w, direct(x, w)))
    half = Fraction(1, 2)
    for m, points in [(2, [0, 1, -1]), (4, [0, 1, -1, 2, -2]), (4, [0, 1, -1, half, -half]),
                      (4, [0, 1, -1, 2, -half]), (3, [0, 1, -1, 2])]:
        At, G, Bt = toom_cook(m, 3, points)
        errs = [np.abs(winograd(x, w, At, G, Bt, m) - ref).max() / np.abs(ref).max() for x, w, ref in cases]
        print(f"F({m}x{m},3x3) points [{', '.join(str(p) for p in points)}]:", " ".join(f"{e:.1e}" for e in errs))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
