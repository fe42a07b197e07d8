"""Reference deconvnet projections from PyTorch for deconvnet/deconvnet_test.go.

Regenerate (from the repository root) with

    /usr/bin/python3 deconvnet/testdata/gen_deconv_fixture.py

which needs PyTorch (1.13 was used: Debian's python3-torch) and numpy, and
rewrites deconvnet/testdata/deconv_*.npy. The output is deterministic
(seeded generator, CPU, float64 arithmetic).

The network, written independently of the Go code:

    conv1 3->4, 7x7, stride 2, pad 1, bias   input 3x26x23 -> 4x11x10
    relu1
    pool1 max 3x3, stride 2, pad 1           -> 4x6x5  (overlapping windows)
    conv2 4->5, 3x3, stride 1, pad 1, bias   -> 5x6x5
    relu2
    pool2 max 3x3, stride 2, pad 0           -> 5x2x2  (overlapping windows)

The input is 26 high and 23 wide so that conv1's transpose needs
output_padding 1 in height (26 and 25 both convolve to 11) and 0 in width.

For each image b of the batch of 2, the strongest activation of map MAPS[b]
at the top (pool2, and separately relu2) is kept, everything else zeroed,
and projected to pixel space:

  * deconvnet: per layer going down, unpool = scatter-add of the pooled
    signal at the recorded switch indices (index_add_, NOT max_unpool2d,
    which overwrites where two overlapping 3x3/2 windows share a switch, so
    a zero from a neighbouring window can erase a value), relu of the
    signal, conv_transpose2d with the same weights, no bias, output_padding
    chosen to land on the forward input's size;
  * guided backpropagation: the same, and additionally masked where the
    forward ReLU output was zero;
  * saliency: torch.autograd's gradient of sum(top * activation) with
    respect to the input, where top is the isolated signal (so it is the
    gradient scaled by the picked activation's value).

Conventions (as graph/testdata/gen_fixtures.py, except for the references'
storage): inputs (x, weights, biases) are float32 numbers saved as "<f4";
references are computed in float64 from them and rounded to float32 ("<f4",
to keep the fixture under 200 KB; the rounding, 6e-8 relative, is far below
the Go test's tolerance); picked positions are "<i4".
The generator rejects seeds whose forward pass has near ties (a pooling
window whose two largest values differ by less than MARGIN, or a
pre-activation within MARGIN of zero), so float32 rounding in the Go
forward pass cannot pick different switches or ReLU masks.
"""

import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.dirname(os.path.abspath(__file__))
MAPS = [3, 1]  # map projected for image 0 and image 1
MARGIN = 1e-3
N, C, H, W = 2, 3, 26, 23


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def save(name, t, dtype):
    a = t.detach().cpu().numpy().astype(dtype)
    np.save(os.path.join(OUT, "deconv_" + name + ".npy"), np.ascontiguousarray(a), allow_pickle=False)


def pool_margin(x, k, s, p):
    """Smallest gap between the largest and second largest value of any
    window that has a positive maximum (all-zero windows tie by design and
    both implementations take the first cell)."""
    xp = F.pad(x, (p, p, p, p), value=-float("inf"))
    win = xp.unfold(2, k, s).unfold(3, k, s).reshape(*xp.shape[:2], -1, k * k)
    top2 = win.topk(2, dim=-1).values
    gap = top2[..., 0] - top2[..., 1]
    gap = gap[top2[..., 0] > 0]
    return gap.min().item() if gap.numel() else float("inf")


def forward(x, w1, b1, w2, b2):
    z1 = F.conv2d(x, w1, b1, stride=2, padding=1)
    a1 = F.relu(z1)
    p1, i1 = F.max_pool2d(a1, 3, 2, 1, return_indices=True)
    z2 = F.conv2d(p1, w2, b2, stride=1, padding=1)
    a2 = F.relu(z2)
    p2, i2 = F.max_pool2d(a2, 3, 2, 0, return_indices=True)
    return dict(z1=z1, a1=a1, p1=p1, i1=i1, z2=z2, a2=a2, p2=p2, i2=i2)


def isolate(act):
    """Keep the strongest activation of map MAPS[b] of image b (first in
    row-major order on ties, as the Go code)."""
    top = torch.zeros_like(act)
    pos = []
    for b, k in enumerate(MAPS):
        plane = act[b, k].reshape(-1)
        j = int(torch.argmax(plane))
        y, xx = divmod(j, act.shape[3])
        top[b, k, y, xx] = plane[j]
        pos.append([k, y, xx])
    return top, torch.tensor(pos, dtype=torch.int32)


def unpool(sig, idx, shape):
    """Scatter-add: out.flat[idx] += sig, per (image, map) plane."""
    n, c, h, w = shape
    out = torch.zeros(n, c, h * w, dtype=sig.dtype)
    flat_sig = sig.reshape(n, c, -1)
    flat_idx = idx.reshape(n, c, -1)
    for b in range(n):
        for ch in range(c):
            out[b, ch].index_add_(0, flat_idx[b, ch], flat_sig[b, ch])
    return out.reshape(n, c, h, w)


def out_pad(size_in, size_out, k, s, p):
    """output_padding that makes conv_transpose2d land on size_in."""
    op = size_in - ((size_out - 1) * s - 2 * p + k)
    assert 0 <= op < s, (size_in, size_out, op)
    return op


def project(top, start, f, w1, w2, guided):
    """start: "pool2" or "relu2"."""
    def rect(sig, act):
        sig = F.relu(sig)
        if guided:
            sig = sig * (act > 0)
        return sig

    sig = top
    if start == "pool2":
        sig = unpool(sig, f["i2"], f["a2"].shape)
    sig = rect(sig, f["a2"])
    sig = F.conv_transpose2d(sig, w2, stride=1, padding=1)  # 6x5 -> 6x5, no padding needed
    sig = unpool(sig, f["i1"], f["a1"].shape)
    sig = rect(sig, f["a1"])
    oh = out_pad(H, f["a1"].shape[2], 7, 2, 1)
    ow = out_pad(W, f["a1"].shape[3], 7, 2, 1)
    assert (oh, ow) == (1, 0), (oh, ow)
    return F.conv_transpose2d(sig, w1, stride=2, padding=1, output_padding=(oh, ow))


def saliency(x, w1, b1, w2, b2, start, top):
    xg = x.clone().requires_grad_(True)
    f = forward(xg, w1, b1, w2, b2)
    act = f["p2"] if start == "pool2" else f["a2"]
    (g,) = torch.autograd.grad((act * top).sum(), xg)
    return g


def draw(seed):
    g = torch.Generator().manual_seed(seed)
    x = f32(torch.rand(N, C, H, W, generator=g, dtype=torch.float64) * 2 - 0.5)
    w1 = f32(torch.randn(4, C, 7, 7, generator=g, dtype=torch.float64) * 0.15)
    b1 = f32(torch.randn(4, generator=g, dtype=torch.float64) * 0.1)
    w2 = f32(torch.randn(5, 4, 3, 3, generator=g, dtype=torch.float64) * 0.3)
    b2 = f32(torch.randn(5, generator=g, dtype=torch.float64) * 0.1)
    return x, w1, b1, w2, b2


def ok(x, w1, b1, w2, b2):
    f = forward(x, w1, b1, w2, b2)
    if f["z1"].abs().min() < MARGIN or f["z2"].abs().min() < MARGIN:
        return False
    if pool_margin(f["a1"], 3, 2, 1) < MARGIN or pool_margin(f["a2"], 3, 2, 0) < MARGIN:
        return False
    # The picked activations must be unique maxima of their maps.
    for act in (f["p2"], f["a2"]):
        for b, k in enumerate(MAPS):
            v = act[b, k].reshape(-1).sort(descending=True).values
            if v[0] <= 0 or v[0] - v[1] < MARGIN:
                return False
    # Some relu2 maps have zeros (so the masks matter).
    return bool((f["a1"] == 0).any() and (f["a2"] == 0).any())


def main():
    seed = 0
    while not ok(*draw(seed)):
        seed += 1
    x, w1, b1, w2, b2 = draw(seed)
    print("seed", seed)
    f = forward(x, w1, b1, w2, b2)
    for name, t in (("x", x), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)):
        save(name, t, np.float32)
    for start, act in (("pool2", f["p2"]), ("relu2", f["a2"])):
        top, pos = isolate(act)
        save(start + "_pos", pos, np.int32)
        save(start + "_val", act.reshape(N, -1).gather(1, torch.tensor(
            [[k * act.shape[2] * act.shape[3] + y * act.shape[3] + xx] for k, y, xx in pos.tolist()])).reshape(N), np.float64)
        d = project(top, start, f, w1, w2, guided=False)
        gd = project(top, start, f, w1, w2, guided=True)
        s = saliency(x, w1, b1, w2, b2, start, top)
        for rule, t in (("deconvnet", d), ("guided", gd), ("saliency", s)):
            assert t.shape == x.shape
            assert t.abs().max() > 0
            save(start + "_" + rule, t, np.float32)
        assert (d - s).abs().max() > 1e-2 and (d - gd).abs().max() > 1e-2 and (gd - s).abs().max() > 1e-2
        print(start, "picked", pos.tolist(), "max |deconvnet|", d.abs().max().item())
    # The references differ from what overwriting unpooling would give:
    # at pool1, overlapping windows share switches and their signals add.
    top, _ = isolate(f["p2"])
    sig = F.conv_transpose2d(F.relu(unpool(top, f["i2"], f["a2"].shape)), w2, stride=1, padding=1)
    scat = unpool(sig, f["i1"], f["a1"].shape)
    over = F.max_unpool2d(sig, f["i1"], 3, 2, 1, output_size=f["a1"].shape[2:])
    diff = (scat - over).abs().max().item()
    print("pool1 unpooling: |scatter-add - max_unpool2d| up to", diff)
    assert diff > 1e-3, "the fixture should need scatter-add"


if __name__ == "__main__":
    main()
