"""Reference values from PyTorch for graph/reference_import_test.go: the ops
the importer of published networks needs (ceil-mode max pooling, grouped
convolution, average and adaptive average pooling, Caffe's within-map LRN).

Regenerate (from the repository root) with

    /usr/bin/python3 graph/testdata/gen_fixtures_import.py

which needs PyTorch (1.13 was used: Debian's python3-torch) and numpy, and
rewrites only the files this script names (prefixes poolc_, gconv_, avg_,
adapt_, lrnw_); gen_fixtures.py writes the others. The output is
deterministic (torch.manual_seed(1), CPU, float64 arithmetic). The
conventions are gen_fixtures.py's: inputs rounded to float32 and saved as
"<f4", references computed in float64 from them and saved as "<f8",
max-pool indices as "<i4", a gradient g<arg> is d(sum(out * r))/d(arg).
"""

import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1)
written = []


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
    written.append(name + ".npy")


def inp(name, t):
    save(name, t, np.float32)


def ref(name, t):
    save(name, t, np.float64)


def idx(name, t):
    save(name, t, np.int32)


# ------------------------------------------------------ Ceil-mode max pooling
# (name, input shape, kernel, stride, pad); all ceil_mode=True.
POOLC_CASES = [
    ("poolc_k3s2_13", (1, 2, 13, 13), 3, 2, 0),  # pytorchcv ZFNet: odd size, ceil = floor
    ("poolc_k3s2_12", (1, 2, 12, 12), 3, 2, 0),  # even: one more, clipped window
    ("poolc_k3s2p1", (2, 2, 10, 9), 3, 2, 1),  # padded; the last window runs past the right pad
    ("poolc_k2s2p1", (1, 2, 5, 6), 2, 2, 1),  # 5: the window starting in the right pad is dropped
]
for name, shape, k, s, p in POOLC_CASES:
    x = distinct(*shape).requires_grad_()
    y, ind = F.max_pool2d(x, k, s, p, ceil_mode=True, return_indices=True)
    r = randn(*y.shape)
    (gx,) = torch.autograd.grad((y * r).sum(), x)
    inp(name + "_x", x)
    inp(name + "_r", r)
    ref(name + "_y", y)
    idx(name + "_idx", ind)
    ref(name + "_gx", gx)

# ------------------------------------------------------- Grouped convolution
# (name, N, C, H, W, O, K, stride, pad, groups, bias)
GCONV_CASES = [
    ("gconv_k3s1p1", 2, 4, 7, 6, 6, 3, 1, 1, 2, True),  # AlexNet conv3-5 style
    ("gconv_k5s2p2", 1, 4, 11, 10, 4, 5, 2, 2, 2, True),  # 11 -> 6, 10 -> 5: output_padding (0, 1)
    ("gconv_k1g4", 2, 4, 3, 5, 8, 1, 1, 0, 4, False),  # 1x1 fast path, 4 groups, no bias
]
for name, n, c, h, w_, o, k, s, p, groups, bias in GCONV_CASES:
    x = randn(n, c, h, w_).requires_grad_()
    w = randn(o, c // groups, k, k, scale=0.3).requires_grad_()
    b = randn(o).requires_grad_() if bias else None
    y = F.conv2d(x, w, b, stride=s, padding=p, groups=groups)
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
    tx = F.conv_transpose2d(ty, w2, stride=s, padding=p, output_padding=op, groups=groups)
    assert tuple(tx.shape) == (n, c, h, w_), (tx.shape, op)
    tr = randn(*tx.shape)
    gty, gtw = torch.autograd.grad((tx * tr).sum(), (ty, w2))
    inp(name + "_ty", ty)
    inp(name + "_tr", tr)
    ref(name + "_tx", tx)
    ref(name + "_gty", gty)
    ref(name + "_gtw", gtw)

# ------------------------------------------------------------- AvgPool2d
# (name, input shape, kernel, stride, pad, ceil_mode, count_include_pad).
# gx, the input gradient for upstream r, is also AvgPoolTranspose(r).
AVG_CASES = [
    ("avg_k3s2_ceil_inc", (1, 2, 12, 12), 3, 2, 0, True, True),  # ceil window past the input: divisor 6
    ("avg_k3s2_ceil_exc", (1, 2, 12, 12), 3, 2, 0, True, False),
    ("avg_k3s2p1_ceil_inc", (2, 2, 10, 9), 3, 2, 1, True, True),
    ("avg_k3s2p1_ceil_exc", (2, 2, 10, 9), 3, 2, 1, True, False),
    ("avg_k2s2p1_floor_inc", (1, 2, 7, 8), 2, 2, 1, False, True),
    ("avg_k2s2p1_floor_exc", (1, 2, 7, 8), 2, 2, 1, False, False),
]
for name, shape, k, s, p, ceil, inc in AVG_CASES:
    x = randn(*shape).requires_grad_()
    y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=inc)
    r = randn(*y.shape)
    (gx,) = torch.autograd.grad((y * r).sum(), x)
    inp(name + "_x", x)
    inp(name + "_r", r)
    ref(name + "_y", y)
    ref(name + "_gx", gx)

# ----------------------------------------------------- AdaptiveAvgPool2d
# (name, input shape, output size)
ADAPT_CASES = [
    ("adapt_13to6", (1, 2, 13, 13), (6, 6)),  # torchvision AlexNet at 224
    ("adapt_6to6", (1, 2, 6, 6), (6, 6)),  # identity
    ("adapt_7to3", (2, 2, 7, 7), (3, 3)),  # overlapping windows
    ("adapt_5x7to3x2", (1, 2, 5, 7), (3, 2)),
]
for name, shape, osz in ADAPT_CASES:
    x = randn(*shape).requires_grad_()
    y = F.adaptive_avg_pool2d(x, osz)
    r = randn(*y.shape)
    (gx,) = torch.autograd.grad((y * r).sum(), x)
    inp(name + "_x", x)
    inp(name + "_r", r)
    ref(name + "_y", y)
    ref(name + "_gx", gx)


# ------------------------------------------------------- Within-map LRN
# Caffe's LRN with norm_region WITHIN_CHANNEL (PyTorch has none): the squares
# average-pooled over a size x size window with padding (size-1)/2 counted in
# the divisor (size^2), then b = a / (k + alpha * pooled)^beta. Caffe itself
# always uses k = 1 here; other k test the general formula.
def lrn_within(x, size, alpha, beta, k):
    pooled = F.avg_pool2d(x * x, size, 1, (size - 1) // 2, count_include_pad=True)
    return x / (k + alpha * pooled) ** beta


# (name, size, alpha, beta, k, input scale)
LRNW_CASES = [
    ("lrnw_caffe", 3, 5e-5, 0.75, 1.0, 100.0),  # cifar10_full's norm1/norm2
    ("lrnw_s3", 3, 0.5, 0.75, 1.0, 1.0),
    ("lrnw_s5", 5, 2.0, 0.6, 1.5, 1.0),  # pow path (beta != 0.75)
    ("lrnw_s7", 7, 1.0, 0.75, 2.0, 1.0),  # window wider than the 4-row maps
]
for name, size, alpha, beta, k, scale in LRNW_CASES:
    x = randn(2, 3, 4, 6, scale=scale).requires_grad_()
    r = randn(2, 3, 4, 6)
    y = lrn_within(x, size, alpha, beta, k)
    (gx,) = torch.autograd.grad((y * r).sum(), x)
    inp(name + "_x", x)
    inp(name + "_r", r)
    ref(name + "_y", y)
    ref(name + "_gx", gx)

total = sum(os.path.getsize(os.path.join(OUT, f)) for f in written)
print("wrote %d fixtures, %d bytes" % (len(written), total))
