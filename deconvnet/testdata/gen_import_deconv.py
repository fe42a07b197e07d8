#!/usr/bin/env python3
"""Reference projections through the layers the published networks add to
the paper's: ceil-mode pooling (pytorchcv), grouped convolutions (Caffe's
two-tower AlexNet) and LRN within a map (Caffe's ZF), for
deconvnet/import_projection_test.go (issue 11).

Regenerate (from the repository root) with Debian's PyTorch 1.13 and numpy:

    /usr/bin/python3 deconvnet/testdata/gen_import_deconv.py

which rewrites deconvnet/testdata/import/<net>.npz. The output is
deterministic (seeded generators, CPU, float64 arithmetic).

The deconvnet here is written independently of the Go code. Going down
from the top layer, per layer:

  * max pooling: unpooling as a scatter-add of the signal at the switches
    that the forward pass's max_pool2d(..., ceil_mode, return_indices=True)
    recorded (index_add_, not max_unpool2d, which overwrites where
    overlapping windows share a switch);
  * ReLU: deconvnet rule relu(signal); guided relu(signal) masked where
    the forward ReLU output was zero; saliency the signal masked there;
  * LRN: skipped (the paper), or, "through LRN", the vector-Jacobian
    product of the normalization at the input the forward pass recorded
    (torch.autograd.grad with the signal as grad_outputs);
  * convolution: conv_transpose2d with the same weights, the same groups,
    no bias, and the output_padding that lands on the forward input's size;
  * average pooling (fixed or adaptive): its transpose, i.e. its
    vector-Jacobian product (torch.autograd);
  * fully connected: signal @ weight, reshaped to the layer's input.

Saliency through LRN is therefore the gradient of sum(top * activation)
with respect to the input; the script checks that against autograd on the
forward pass.

LRN, as the Go code's graph.LRNParams:
  across maps: torch.nn.functional.local_response_norm(a, n, alpha, beta, k)
               (alpha divided by n);
  within a map (Caffe's WITHIN_CHANNEL):
      b = a / (k + alpha/n^2 * sum over the n x n zero-padded window of a^2)^beta
        = a / (k + alpha * avg_pool2d(a*a, n, 1, (n-1)//2, count_include_pad=True))^beta
      (Caffe's k is 1).

Nets (batch of 2; for image b the strongest activation of map MAPS[b] of
the top layer is kept, everything else zeroed, and projected):

  ceil:     3x25x27 -> conv1 6@5x5/2 pad 1 -> relu -> LRN across maps
            (5, alpha 1, beta 0.75, k 2) -> maxpool 3x3/2 ceil (12x13 ->
            6x6: the last row of windows hangs over the edge) -> conv2
            8@3x3 pad 1 -> relu -> conv3 8@3x3 pad 1 -> relu -> maxpool
            3x3/2 ceil (6x6 -> 3x3, both ways over the edge) -> fc4 (2)
  grouped:  3x31x29 -> conv1 8@5x5/2 -> relu -> LRN across maps (5, 1,
            0.75, 1) -> maxpool 3x3/2 (14x13 -> 6x6) -> conv2 8@3x3 pad 1,
            2 groups -> relu -> conv3 12@3x3 pad 1, 4 groups -> relu ->
            maxpool 3x3/2 pad 1 (-> 3x3) -> fc4 (2)
  within:   3x21x21 -> conv1 6@5x5/2 pad 1 -> relu -> LRN within maps
            (3, alpha 2, beta 0.75, k 1) -> maxpool 3x3/2 pad 1 (10 -> 5)
            -> conv2 8@3x3 pad 1 -> relu -> conv3 8@3x3 pad 1 -> relu ->
            LRN within maps (5, 2, 0.75, 1) -> maxpool 3x3/2 ceil (5 -> 2)
            -> fc4 (2)
  avg:      3x22x22 -> conv1 6@5x5/2 pad 1 -> relu -> LRN within maps (3,
            2, 0.75, 1) -> average pool 3x3/2 pad 1, ceil mode, padding
            not counted (10 -> 6) -> conv2 8@3x3 pad 1 -> relu -> adaptive
            average pool to 4x4 (6 -> 4: overlapping bins) -> fc3 (12) ->
            relu -> fc4 (2); projected from relu3 (unit MAPS[b]) and relu2

Each <net>.npz holds: x (2, C, H, W) float32; the parameters under zfnet's
names (conv1.weight, ..., fc3.bias) float32; logits (2, 2) float64; and
for each top layer T (a pooling layer and a rectified conv layer) T_pos
(2, 3) int32 (map, y, x), T_val (2,) float64, and T_<rule> and
T_<rule>_lrn (projection skipping / going through LRN; every net has an
LRN), float32, computed in float64.

The generator rejects seeds whose forward pass has near ties (a pooling
window whose two largest values differ by less than MARGIN, or a
pre-activation within MARGIN of zero), so float32 rounding on the Go side
cannot pick other switches or ReLU masks.
"""

import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "import")
MAPS = [1, 4]
MARGIN = 1e-3
N = 2


def conv(out, k, s, p, groups=1):
    return dict(kind="conv", out=out, k=k, s=s, p=p, groups=groups)


def relu():
    return dict(kind="relu")


def lrn(n, alpha, beta, k, within):
    return dict(kind="lrn", n=n, alpha=alpha, beta=beta, kk=k, within=within)


def maxpool(k, s, p, ceil=False):
    return dict(kind="maxpool", k=k, s=s, p=p, ceil=ceil)


def avgpool(k, s, p, ceil, count_pad):
    return dict(kind="avgpool", k=k, s=s, p=p, ceil=ceil, count_pad=count_pad)


def adaptive(h, w):
    return dict(kind="adaptive", out=(h, w))


def linear(out):
    return dict(kind="linear", out=out)


NETS = {
    "ceil": dict(input=(3, 25, 27), layers=[
        ("conv1", conv(6, 5, 2, 1)), ("relu1", relu()), ("norm1", lrn(5, 1.0, 0.75, 2.0, False)),
        ("pool1", maxpool(3, 2, 0, ceil=True)),
        ("conv2", conv(8, 3, 1, 1)), ("relu2", relu()),
        ("conv3", conv(8, 3, 1, 1)), ("relu3", relu()), ("pool3", maxpool(3, 2, 0, ceil=True)),
        ("fc4", linear(2)),
    ], tops=["pool3", "relu3"]),
    "grouped": dict(input=(3, 31, 29), layers=[
        ("conv1", conv(8, 5, 2, 0)), ("relu1", relu()), ("norm1", lrn(5, 1.0, 0.75, 1.0, False)),
        ("pool1", maxpool(3, 2, 0)),
        ("conv2", conv(8, 3, 1, 1, groups=2)), ("relu2", relu()),
        ("conv3", conv(12, 3, 1, 1, groups=4)), ("relu3", relu()), ("pool3", maxpool(3, 2, 1)),
        ("fc4", linear(2)),
    ], tops=["pool3", "relu3", "relu2"]),
    "within": dict(input=(3, 21, 21), layers=[
        ("conv1", conv(6, 5, 2, 1)), ("relu1", relu()), ("norm1", lrn(3, 2.0, 0.75, 1.0, True)),
        ("pool1", maxpool(3, 2, 1)),
        ("conv2", conv(8, 3, 1, 1)), ("relu2", relu()),
        ("conv3", conv(8, 3, 1, 1)), ("relu3", relu()), ("norm3", lrn(5, 2.0, 0.75, 1.0, True)),
        ("pool3", maxpool(3, 2, 0, ceil=True)),
        ("fc4", linear(2)),
    ], tops=["pool3", "relu3"]),
    "avg": dict(input=(3, 22, 22), layers=[
        ("conv1", conv(6, 5, 2, 1)), ("relu1", relu()), ("norm1", lrn(3, 2.0, 0.75, 1.0, True)),
        ("avgpool1", avgpool(3, 2, 1, ceil=True, count_pad=False)),
        ("conv2", conv(8, 3, 1, 1)), ("relu2", relu()),
        ("avgpool2", adaptive(4, 4)),
        ("fc3", linear(12)), ("relu3", relu()),
        ("fc4", linear(2)),
    ], tops=["relu3", "relu2"]),
}


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def lrn_fn(a, L):
    if L["within"]:
        n = L["n"]
        avg = F.avg_pool2d(a * a, n, 1, (n - 1) // 2, count_include_pad=True)
        return a / (L["kk"] + L["alpha"] * avg) ** L["beta"]
    return F.local_response_norm(a, L["n"], L["alpha"], L["beta"], L["kk"])


def avgpool_fn(a, L):
    return F.avg_pool2d(a, L["k"], L["s"], L["p"], ceil_mode=L["ceil"], count_include_pad=L["count_pad"])


def vjp(fn, inp, sig):
    a = inp.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(a), a, grad_outputs=sig)
    return g


def draw(net, seed):
    g = torch.Generator().manual_seed(seed)
    c, h, w = net["input"]
    x = f32(torch.rand(N, c, h, w, generator=g, dtype=torch.float64) * 2 - 0.5)
    params = {}
    shape = (c, h, w)
    for name, L in net["layers"]:
        if L["kind"] == "conv":
            cin = shape[0] // L["groups"]
            fan_in = cin * L["k"] ** 2
            params[name + ".weight"] = f32(torch.randn(L["out"], cin, L["k"], L["k"], generator=g, dtype=torch.float64) * (2.0 / fan_in) ** 0.5)
            params[name + ".bias"] = f32(torch.randn(L["out"], generator=g, dtype=torch.float64) * 0.1)
        elif L["kind"] == "linear":
            n = int(np.prod(shape))
            params[name + ".weight"] = f32(torch.randn(L["out"], n, generator=g, dtype=torch.float64) * n ** -0.5)
            params[name + ".bias"] = f32(torch.randn(L["out"], generator=g, dtype=torch.float64) * 0.1)
        shape = forward_shape(shape, L)
    return x, params


def forward_shape(shape, L):
    t = torch.zeros(1, *shape, dtype=torch.float64)
    if L["kind"] == "conv":
        return tuple(F.conv2d(t, torch.zeros(L["out"], shape[0] // L["groups"], L["k"], L["k"], dtype=torch.float64),
                              stride=L["s"], padding=L["p"], groups=L["groups"]).shape[1:])
    if L["kind"] == "maxpool":
        return tuple(F.max_pool2d(t, L["k"], L["s"], L["p"], ceil_mode=L["ceil"]).shape[1:])
    if L["kind"] == "avgpool":
        return tuple(F.avg_pool2d(t, L["k"], L["s"], L["p"], ceil_mode=L["ceil"], count_include_pad=L["count_pad"]).shape[1:])
    if L["kind"] == "adaptive":
        return (shape[0],) + tuple(L["out"])
    if L["kind"] == "linear":
        return (L["out"],)
    return shape


def forward(net, x, params):
    """Every layer's input and output (and pooling switches), by name."""
    rec = {}
    a = x
    for name, L in net["layers"]:
        inp = a
        k = L["kind"]
        if k == "conv":
            z = F.conv2d(a, params[name + ".weight"], params[name + ".bias"], L["s"], L["p"], groups=L["groups"])
            rec[name + ":pre"] = z
            a = z
        elif k == "relu":
            a = F.relu(a)
        elif k == "lrn":
            a = lrn_fn(a, L)
        elif k == "maxpool":
            a, idx = F.max_pool2d(a, L["k"], L["s"], L["p"], ceil_mode=L["ceil"], return_indices=True)
            rec[name + ":idx"] = idx
        elif k == "avgpool":
            a = avgpool_fn(a, L)
        elif k == "adaptive":
            a = F.adaptive_avg_pool2d(a, L["out"])
        elif k == "linear":
            a = F.linear(a.reshape(a.shape[0], -1), params[name + ".weight"], params[name + ".bias"])
            rec[name + ":pre"] = a
        rec[name + ":in"] = inp
        rec[name] = a
    return rec


def pool_margin(x, L):
    """Smallest gap between the largest and second largest value of any
    window with a positive maximum (windows clipped at the edges, as
    ceil-mode windows are)."""
    k, s, p = L["k"], L["s"], L["p"]
    out = F.max_pool2d(x, k, s, p, ceil_mode=L["ceil"])
    big = F.pad(x, (p, p + k, p, p + k), value=-float("inf"))
    gaps = []
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            win = big[:, :, i * s:i * s + k, j * s:j * s + k].reshape(x.shape[0], x.shape[1], -1)
            top2 = win.topk(2, dim=-1).values
            gap = top2[..., 0] - top2[..., 1]
            gaps.append(gap[top2[..., 0] > 0])
    g = torch.cat(gaps)
    return g.min().item() if g.numel() else float("inf")


def ok(net, x, params):
    rec = forward(net, x, params)
    for name, L in net["layers"]:
        if L["kind"] in ("conv", "linear") and rec[name + ":pre"].abs().min() < MARGIN:
            return False
        if L["kind"] == "maxpool" and pool_margin(rec[name + ":in"], L) < MARGIN:
            return False
    for top in net["tops"]:
        act = rec[top]
        for b, k in enumerate(MAPS):
            if act.dim() == 2:
                if act[b, k] < MARGIN:
                    return False
                continue
            v = act[b, k].reshape(-1).sort(descending=True).values
            if v[0] <= 0 or v[0] - v[1] < MARGIN:
                return False
    relus = [n for n, L in net["layers"] if L["kind"] == "relu"]
    return all(bool((rec[r] == 0).any()) for r in relus)


def isolate(act):
    top = torch.zeros_like(act)
    pos, val = [], []
    if act.dim() == 2:  # a fully connected layer: unit MAPS[b]
        for b, k in enumerate(MAPS):
            top[b, k] = act[b, k]
            pos.append([k, 0, 0])
            val.append(act[b, k].item())
        return top, pos, val
    for b, k in enumerate(MAPS):
        plane = act[b, k].reshape(-1)
        j = int(torch.argmax(plane))
        y, xx = divmod(j, act.shape[3])
        top[b, k, y, xx] = plane[j]
        pos.append([k, y, xx])
        val.append(plane[j].item())
    return top, pos, val


def unpool(sig, idx, shape):
    n, c, h, w = shape
    out = torch.zeros(n, c, h * w, dtype=sig.dtype)
    fs, fi = sig.reshape(n, c, -1), idx.reshape(n, c, -1)
    for b in range(n):
        for ch in range(c):
            out[b, ch].index_add_(0, fi[b, ch], fs[b, ch])
    return out.reshape(n, c, h, w)


def project(net, rec, params, top_name, top, rule, through_lrn):
    names = [n for n, _ in net["layers"]]
    sig = top
    for name, L in reversed(net["layers"][:names.index(top_name) + 1]):
        k = L["kind"]
        inp = rec[name + ":in"]
        if k == "maxpool":
            sig = unpool(sig, rec[name + ":idx"], inp.shape)
        elif k == "relu":
            live = (rec[name] > 0).to(sig.dtype)
            if rule == "deconvnet":
                sig = F.relu(sig)
            elif rule == "guided":
                sig = F.relu(sig) * live
            else:
                sig = sig * live
        elif k == "lrn":
            if through_lrn:
                sig = vjp(lambda a: lrn_fn(a, L), inp, sig)
        elif k == "avgpool":  # linear: its transpose is its vector-Jacobian product
            sig = vjp(lambda a: avgpool_fn(a, L), inp, sig)
        elif k == "adaptive":
            sig = vjp(lambda a: F.adaptive_avg_pool2d(a, L["out"]), inp, sig)
        elif k == "linear":
            sig = (sig @ params[name + ".weight"]).reshape(inp.shape)
        elif k == "conv":
            w = params[name + ".weight"]
            size = (sig.shape[2] - 1) * L["s"] - 2 * L["p"] + L["k"]
            op = (inp.shape[2] - size, inp.shape[3] - ((sig.shape[3] - 1) * L["s"] - 2 * L["p"] + L["k"]))
            assert 0 <= op[0] < L["s"] and 0 <= op[1] < L["s"], op
            sig = F.conv_transpose2d(sig, w, stride=L["s"], padding=L["p"], output_padding=op, groups=L["groups"])
        else:
            raise ValueError(k)
    return sig


def gradient(net, x, params, top_name, top):
    xg = x.clone().requires_grad_(True)
    rec = forward(net, xg, params)
    (g,) = torch.autograd.grad((rec[top_name] * top).sum(), xg)
    return g


def save(path, arrays):
    np.savez_compressed(path, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})


def main():
    os.makedirs(OUT, exist_ok=True)
    for net_name, net in NETS.items():
        seed = 0
        while not ok(net, *draw(net, seed)):
            seed += 1
        x, params = draw(net, seed)
        rec = forward(net, x, params)
        has_lrn = any(L["kind"] == "lrn" for _, L in net["layers"])
        out = {"x": x.numpy().astype("<f4"), "logits": rec[net["layers"][-1][0]].numpy().astype("<f8")}
        for k, v in params.items():
            out[k] = v.numpy().astype("<f4")
        max_guided_diff = 0.0
        for top_name in net["tops"]:
            top, pos, val = isolate(rec[top_name])
            out[top_name + "_pos"] = np.array(pos, dtype="<i4")
            out[top_name + "_val"] = np.array(val, dtype="<f8")
            res = {}
            for rule in ("deconvnet", "guided", "saliency"):
                for through in ((False, True) if has_lrn else (False,)):
                    p = project(net, rec, params, top_name, top, rule, through)
                    assert p.shape == x.shape and p.abs().max() > 0, (net_name, top_name, rule)
                    key = top_name + "_" + rule + ("_lrn" if through else "")
                    res[key] = p
                    out[key] = p.numpy().astype("<f4")
            # Saliency (through LRN where there is one) is the gradient.
            sal = res[top_name + "_saliency" + ("_lrn" if has_lrn else "")]
            grad = gradient(net, x, params, top_name, top)
            assert (sal - grad).abs().max() < 1e-10 * grad.abs().max(), (net_name, top_name)
            # The rules differ (deconvnet and guided only where a mask
            # falls on the signal: see the net's total below), and going
            # through LRN matters.
            d = res[top_name + "_deconvnet"]
            guided_diff = ((d - res[top_name + "_guided"]).abs().max() / d.abs().max()).item()
            max_guided_diff = max(max_guided_diff, guided_diff)
            assert (d - res[top_name + "_saliency"]).abs().max() > 1e-3 * d.abs().max()
            if has_lrn:
                dl = res[top_name + "_deconvnet_lrn"]
                change = ((d - dl).abs().max() / d.abs().max()).item()
                assert change > 1e-2, (net_name, top_name, change)
            print("%-8s seed %d %-6s picked %s max |deconvnet| %.3g, guided differs by %.0f%%%s" % (
                net_name, seed, top_name, pos, d.abs().max().item(), 100 * guided_diff,
                ", through LRN changes it by %.0f%%" % (100 * change) if has_lrn else ""))
        assert max_guided_diff > 1e-2, (net_name, "guided equals deconvnet from every top")
        save(os.path.join(OUT, net_name + ".npz"), out)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("fixtures: %d bytes" % total)


if __name__ == "__main__":
    main()
