"""Reference values from PyTorch for graph/reference_test.go.

Regenerate (from the repository root) with

    /usr/bin/python3 graph/testdata/gen_fixtures.py

which needs PyTorch (1.13 was used: Debian's python3-torch) and numpy, and
rewrites every graph/testdata/*.npy. The output is deterministic
(torch.manual_seed(0), CPU, float64 arithmetic).

Conventions, relied on by the Go test:
  * inputs (x, weights, upstream gradients r, targets) are drawn in float64,
    rounded to float32 and saved as float32 ("<f4"): the Go test feeds the
    very same numbers to its float32 and float64 graphs;
  * every reference output or gradient is computed in float64 from those
    rounded inputs and saved as float64 ("<f8");
  * max-pool indices are saved as int32 ("<i4");
  * a gradient "g_<arg>" is d(sum(out * r))/d(arg) for the saved r;
  * scalars (losses) are saved with shape (1,).
Files are named <case>_<array>.npy. Everything is NumPy format 1.0, C order,
which is all gorgonia.org/tensor's (*Dense).ReadNpy reads.
"""

import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)


def f32(t):
    """Round to float32 and come back to float64: an exact float32 value."""
    return t.to(torch.float32).to(torch.float64)


def randn(*shape, scale=1.0):
    return f32(torch.randn(*shape, dtype=torch.float64) * scale)


def distinct(*shape, scale=1.0):
    """Random values, distinct in float32 (max pooling needs no ties)."""
    while True:
        t = randn(*shape, scale=scale)
        if torch.unique(t.to(torch.float32)).numel() == t.numel():
            return t


def save(name, t, dtype):
    a = t.detach().cpu().numpy().astype(dtype)
    if a.ndim == 0:
        a = a.reshape(1)
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a), allow_pickle=False)


def inp(name, t):
    save(name, t, np.float32)


def ref(name, t):
    save(name, t, np.float64)


def idx(name, t):
    save(name, t, np.int32)  # "<i8" would load as tensor.Int, which ReadNpy cannot decode (binary.Read of *int)


# --------------------------------------------------------------------- LRN
# (name, size, alpha, beta, k, input scale)
LRN_CASES = [
    ("lrn_paper", 5, 1e-4, 0.75, 2.0, 100.0),  # AlexNet/ZFNet params, scaled so the norm matters
    ("lrn_s3", 3, 0.5, 0.75, 1.0, 1.0),
    ("lrn_s4", 4, 0.5, 0.6, 1.5, 1.0),  # even size: asymmetric window; beta != 0.75 (pow path)
    ("lrn_s10", 10, 1.0, 0.75, 2.0, 1.0),  # window wider than the 7 maps
]
for name, size, alpha, beta, k, scale in LRN_CASES:
    x = randn(2, 7, 4, 5, scale=scale).requires_grad_()
    r = randn(2, 7, 4, 5)
    y = torch.nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=k)(x)
    (gx,) = torch.autograd.grad((y * r).sum(), x)
    inp(name + "_x", x)
    inp(name + "_r", r)
    ref(name + "_y", y)
    ref(name + "_gx", gx)

# ----------------------------------------------------------------- MaxPool
# (name, input shape, kernel, stride, pad); non-overlapping cases also get
# max_unpool2d of the pooled values (which equals Unpool there: no switch is
# shared, so overwrite and add agree).
POOL_CASES = [
    ("pool_k2s2", (2, 3, 7, 9), 2, 2, 0, True),  # odd sizes: floor mode drops the last row/col
    ("pool_k3s3p1", (2, 3, 8, 7), 3, 3, 1, True),
    ("pool_k3s2p1", (2, 3, 9, 10), 3, 2, 1, False),  # overlapping
    ("pool_k3s2", (1, 2, 13, 13), 3, 2, 0, False),  # ZFNet's pooling
]
for name, shape, k, s, p, nonoverlap in POOL_CASES:
    x = distinct(*shape).requires_grad_()
    y, ind = F.max_pool2d(x, k, s, p, return_indices=True)
    r = randn(*y.shape)
    (gx,) = torch.autograd.grad((y * r).sum(), x)
    inp(name + "_x", x)
    inp(name + "_r", r)
    ref(name + "_y", y)
    idx(name + "_idx", ind)
    ref(name + "_gx", gx)
    if nonoverlap:
        u = F.max_unpool2d(y.detach(), ind, k, s, p, output_size=shape[2:])
        ref(name + "_unpool", u)

# Ties (small integers): PyTorch keeps the first maximum in row-major order.
x = f32(torch.randint(0, 3, (1, 2, 7, 7)).to(torch.float64) - 1)
y, ind = F.max_pool2d(x, 3, 2, 1, return_indices=True)
inp("pool_ties_x", x)
ref("pool_ties_y", y)
idx("pool_ties_idx", ind)

# ------------------------------------------------- Conv2d / ConvTranspose2d
# (name, N, C, H, W, O, K, stride, pad, bias)
CONV_CASES = [
    ("conv_k7s2p1", 2, 3, 15, 15, 8, 7, 2, 1, True),  # ZFNet conv1 shape, 15 -> 6
    ("conv_k7s2p1_odd", 1, 2, 16, 15, 4, 7, 2, 1, True),  # 16 -> 6 too: output_padding (1, 0)
    ("conv_k5s2", 1, 3, 14, 13, 5, 5, 2, 0, True),  # 14 -> 5, 13 -> 5: output_padding (1, 0)
    ("conv_k3s1p1", 1, 3, 9, 8, 6, 3, 1, 1, True),
    ("conv_k5s1p2_narrow", 2, 2, 6, 3, 3, 5, 1, 2, False),  # padding on both ends of a row, no bias
    ("conv_k1", 2, 5, 4, 3, 3, 1, 1, 0, True),  # 1x1 fast path
]
for name, n, c, h, w_, o, k, s, p, bias in CONV_CASES:
    x = randn(n, c, h, w_).requires_grad_()
    w = randn(o, c, k, k, scale=0.3).requires_grad_()
    b = randn(o).requires_grad_() if bias else None
    y = F.conv2d(x, w, b, stride=s, padding=p)
    r = randn(*y.shape)
    wrt = (x, w, b) if bias else (x, w)
    grads = torch.autograd.grad((y * r).sum(), wrt)
    inp(name + "_x", x)
    inp(name + "_w", w)
    inp(name + "_r", r)
    ref(name + "_y", y)
    ref(name + "_gx", grads[0])
    ref(name + "_gw", grads[1])
    if bias:
        inp(name + "_b", b)
        ref(name + "_gb", grads[2])

    # The transposed convolution with the same weights, landing on (h, w_).
    oh, ow = y.shape[2], y.shape[3]
    op = (h - ((oh - 1) * s - 2 * p + k), w_ - ((ow - 1) * s - 2 * p + k))
    assert 0 <= op[0] < s or op[0] == 0, op
    assert 0 <= op[1] < s or op[1] == 0, op
    ty = randn(n, o, oh, ow).requires_grad_()
    w2 = w.detach().clone().requires_grad_()
    tx = F.conv_transpose2d(ty, w2, stride=s, padding=p, output_padding=op)
    assert tuple(tx.shape) == (n, c, h, w_), (tx.shape, op)
    tr = randn(*tx.shape)
    gty, gtw = torch.autograd.grad((tx * tr).sum(), (ty, w2))
    inp(name + "_ty", ty)
    inp(name + "_tr", tr)
    ref(name + "_tx", tx)
    ref(name + "_gty", gty)
    ref(name + "_gtw", gtw)

# ------------------------------------------------------------------ Linear
# (name, x shape, out, bias); x of rank 4 is flattened as torch.flatten(x, 1).
LINEAR_CASES = [
    ("linear_4d", (4, 3, 2, 2), 5, True),
    ("linear_2d", (3, 7), 6, False),
]
for name, xs, out, bias in LINEAR_CASES:
    x = randn(*xs).requires_grad_()
    fin = int(np.prod(xs[1:]))
    w = randn(out, fin, scale=0.5).requires_grad_()
    b = randn(out).requires_grad_() if bias else None
    y = F.linear(torch.flatten(x, 1), w, b)
    r = randn(*y.shape)
    wrt = (x, w, b) if bias else (x, w)
    grads = torch.autograd.grad((y * r).sum(), wrt)
    inp(name + "_x", x)
    inp(name + "_w", w)
    inp(name + "_r", r)
    ref(name + "_y", y)
    ref(name + "_gx", grads[0])
    ref(name + "_gw", grads[1])
    if bias:
        inp(name + "_b", b)
        ref(name + "_gb", grads[2])

# ------------------------------------------------------ Softmax cross-entropy
# Targets are saved as (N, K) rows; the loss is mean CE over rows whose target
# is not all zero (PyTorch: ignore_index rows are left out of the mean).
N, K = 6, 10
z = randn(N, K, scale=5.0).requires_grad_()
lab = torch.randint(0, K, (N,))
loss = F.cross_entropy(z, lab)
(gz,) = torch.autograd.grad(loss, z)
inp("ce_onehot_z", z)
inp("ce_onehot_t", F.one_hot(lab, K).to(torch.float64))
ref("ce_onehot_loss", loss)
ref("ce_onehot_gz", gz)

lab_pad = lab.clone()
lab_pad[[1, 4]] = -100  # padding rows
loss = F.cross_entropy(z, lab_pad, ignore_index=-100)
(gz,) = torch.autograd.grad(loss, z)
t = F.one_hot(lab, K).to(torch.float64)
t[[1, 4]] = 0
inp("ce_pad_t", t)
ref("ce_pad_loss", loss)
ref("ce_pad_gz", gz)

soft = f32(torch.softmax(torch.randn(N, K, dtype=torch.float64), 1))  # rows sum to 1 within float32 rounding
loss = F.cross_entropy(z, soft)  # probability targets: -sum t log softmax(z), mean over N
(gz,) = torch.autograd.grad(loss, z)
inp("ce_soft_t", soft)
ref("ce_soft_loss", loss)
ref("ce_soft_gz", gz)

# ----------------------------------------------------- A small ZFNet pipeline
# conv 7x7/2 pad 1 -> ReLU -> LRN(5, 1e-4, 0.75, 2) -> max pool 3x3/2 pad 1
# -> linear -> mean softmax cross-entropy; gradients wrt every parameter.
x = randn(2, 3, 15, 15, scale=10.0).requires_grad_()
w1 = randn(4, 3, 7, 7, scale=0.5).requires_grad_()
b1 = randn(4).requires_grad_()
wl = randn(5, 4 * 3 * 3, scale=0.02).requires_grad_()
bl = randn(5).requires_grad_()
lab = torch.tensor([3, 1])
h = F.conv2d(x, w1, b1, stride=2, padding=1)
h = F.relu(h)
h = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2)(h)
h = F.max_pool2d(h, 3, 2, 1)
logits = F.linear(torch.flatten(h, 1), wl, bl)
loss = F.cross_entropy(logits, lab)
grads = torch.autograd.grad(loss, (x, w1, b1, wl, bl))
for nm, v in (("x", x), ("w1", w1), ("b1", b1), ("wl", wl), ("bl", bl)):
    inp("net_" + nm, v)
inp("net_t", F.one_hot(lab, 5).to(torch.float64))
ref("net_logits", logits)
ref("net_loss", loss)
for nm, g in zip(("gx", "gw1", "gb1", "gwl", "gbl"), grads):
    ref("net_" + nm, g)

total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.endswith(".npy"))
print("wrote %d fixtures, %d bytes" % (len([f for f in os.listdir(OUT) if f.endswith(".npy")]), total))
