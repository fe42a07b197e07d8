#!/usr/bin/env python3
"""zfnet-small on MNIST in PyTorch, with the recipe of `zfnet train`.

The comparison point for issue 4's "our accuracy within 0.3 points of
PyTorch's and our wall time no worse": the same network, initialization,
optimizer, schedule, augmentation and data, so the two differ only in the
framework. Runs with Debian's PyTorch (apt-get install python3-torch):

  /usr/bin/python3 benchmarks/torch_small.py --epochs 4 --threads 2
  /usr/bin/python3 benchmarks/torch_small.py --epochs 1 --limit 5000      # quick check
  zfnet arch --arch zfnet-small > small.txt
  /usr/bin/python3 benchmarks/torch_small.py --table small.txt ...        # the Go table, exactly

The recipe, as zfnet.DefaultRunConfig and the Go trainer apply it:
  - network: the "zfnet-small" entry of zfnet/arch.go, conv -> ReLU -> LRN ->
    max pool per stage, fc -> ReLU -> dropout for fc6 and fc7 (by default the
    copy below; --table reads `zfnet arch` output so the two cannot drift);
  - weights N(0, 2/fan_in) (He; --init paper: N(0, 0.01^2)), biases zero;
  - SGD, momentum 0.9, lr 0.02, weight decay 5e-4 on weights only, PyTorch's
    formulation (v = mu v + g + wd w; w -= lr v), batch 128;
  - no filter renormalization: zfnet train takes the architecture's radius,
    which is off for zfnet-small (its He-initialized 7x7x1 filters start at
    RMS 0.2); --filter-radius 0.1 applies the paper's after every step;
  - 1/12 of the training set held out for validation (stratified by class,
    seeded); lr x0.1 after epochs 6 and 9 of 10 (--anneal-at; with
    --anneal-at '' when the validation loss does not improve by 0.1%,
    --patience 0), never below 1e-5;
  - input pixel/255 minus the per-pixel mean of the training part; training
    crops are random 28x28 windows of the mean-subtracted picture zero-padded
    by --pad-crop pixels (2 here; `zfnet train --pad-crop 2`);
  - evaluation on the full test set at the end.

With --bench train|forward it instead times --steps steps (after one warm-up)
on a random batch, like ../shared/peer/torch_zfnet.py, and prints
images_per_s=<float> (benchmarks/run.sh --small compares it with `zfnet bench`).

Training prints one line per epoch (validation loss and accuracy, seconds, images/s),
then test_top1=<percent>, train_seconds= (the epochs) and wall_seconds= (the
whole run, data loading included, like timing `zfnet train`).
"""
import argparse
import gzip
import os
import re
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The "zfnet-small" entry of zfnet/arch.go as `zfnet arch --arch zfnet-small`
# describes it: (layer, kind, in, out).
ZFNET_SMALL = [
    ("conv1", "conv 7x7/1 pad 3", 1, 32),
    ("relu1", "ReLU", 32, 32),
    ("norm1", "LRN n=5 a=0.0001 b=0.75 k=2", 32, 32),
    ("pool1", "max pool 3x3/2 pad 1", 32, 32),
    ("conv2", "conv 3x3/1 pad 1", 32, 48),
    ("relu2", "ReLU", 48, 48),
    ("norm2", "LRN n=5 a=0.0001 b=0.75 k=2", 48, 48),
    ("pool2", "max pool 3x3/2 pad 1", 48, 48),
    ("conv3", "conv 3x3/1 pad 1", 48, 64),
    ("relu3", "ReLU", 64, 64),
    ("conv4", "conv 3x3/1 pad 1", 64, 96),
    ("relu4", "ReLU", 96, 96),
    ("conv5", "conv 3x3/1 pad 1", 96, 64),
    ("relu5", "ReLU", 64, 64),
    ("pool5", "max pool 3x3/2 pad 0", 64, 64),
    ("fc6", "fully connected", 576, 256),
    ("relu6", "ReLU", 256, 256),
    ("drop6", "dropout p=0.5", 256, 256),
    ("fc7", "fully connected", 256, 256),
    ("relu7", "ReLU", 256, 256),
    ("drop7", "dropout p=0.5", 256, 256),
    ("fc8", "fully connected", 256, 10),
]


def read_table(path):
    """Rows (layer, kind, in, out) of `zfnet arch` output."""
    rows = []
    with open(path) as f:
        for line in f:
            cols = re.split(r"\s{2,}", line.strip())
            if len(cols) < 7 or cols[0] in ("layer", "total"):
                continue
            rows.append((cols[0], cols[1], int(cols[5]), int(cols[6])))
    if not rows:
        sys.exit(f"{path}: no layer rows; expected the output of `zfnet arch`")
    return rows


def build(rows, dropout):
    layers, flat = [], False
    for name, kind, cin, cout in rows:
        if m := re.fullmatch(r"conv (\d+)x\d+/(\d+) pad (\d+)", kind):
            k, s, p = map(int, m.groups())
            layers.append(nn.Conv2d(cin, cout, k, stride=s, padding=p))
        elif m := re.fullmatch(r"max pool (\d+)x\d+/(\d+) pad (\d+)", kind):
            k, s, p = map(int, m.groups())
            layers.append(nn.MaxPool2d(k, stride=s, padding=p))
        elif m := re.fullmatch(r"LRN (?:across maps )?n=(\S+) a=(\S+) b=(\S+) k=(\S+)", kind):
            n, a, b, k = m.groups()
            layers.append(nn.LocalResponseNorm(int(n), alpha=float(a), beta=float(b), k=float(k)))
        elif kind == "ReLU":
            layers.append(nn.ReLU(inplace=True))
        elif m := re.fullmatch(r"dropout p=(\S+)", kind):
            layers.append(nn.Dropout(float(m.group(1)) if dropout < 0 else dropout))
        elif kind == "fully connected":
            if not flat:
                layers.append(nn.Flatten())
                flat = True
            layers.append(nn.Linear(cin, cout))
        else:
            sys.exit(f"layer {name}: unknown kind {kind!r}")
    return nn.Sequential(*layers)


def initialize(model, kind, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                w = mod.weight
                std = 0.01 if kind == "paper" else (2.0 / (w.numel() // w.shape[0])) ** 0.5
                w.copy_(torch.randn(w.shape, generator=g) * std)
                mod.bias.zero_()


def mnist_dir(arg):
    if arg in ("fashion-mnist", "fashion_mnist", "fashionmnist"):
        return "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist, as `zfnet train --data fashion-mnist`
    if arg and arg != "mnist":
        return arg
    if os.environ.get("ZFNET_MNIST_DIR"):
        return os.environ["ZFNET_MNIST_DIR"]
    cache = os.environ.get("GOMODCACHE")
    if not cache:
        try:
            cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            cache = os.path.join(os.path.expanduser("~"), "go", "pkg", "mod")
    return os.path.join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        buf = f.read()
    _, _, dtype, ndim = struct.unpack(">BBBB", buf[:4])
    if dtype != 0x08:
        sys.exit(f"{path}: IDX type {dtype:#x}, expected unsigned bytes")
    dims = struct.unpack(">" + "I" * ndim, buf[4:4 + 4 * ndim])
    return np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(d, prefix_train="train", prefix_test="t10k"):
    def find(name):
        for p in (os.path.join(d, name + ".gz"), os.path.join(d, name)):
            if os.path.exists(p):
                return p
        sys.exit(f"{d}: no {name}[.gz]")
    xs = [read_idx(find(f"{p}-images-idx3-ubyte")) for p in (prefix_train, prefix_test)]
    ys = [read_idx(find(f"{p}-labels-idx1-ubyte")) for p in (prefix_train, prefix_test)]
    to_x = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0).unsqueeze(1)
    to_y = lambda a: torch.from_numpy(a.astype(np.int64))
    return to_x(xs[0]), to_y(ys[0]), to_x(xs[1]), to_y(ys[1])


def split(y, fraction, seed):
    """Stratified: about fraction of each class is held out."""
    g = torch.Generator().manual_seed(seed)
    tr, va = [], []
    for k in torch.unique(y).tolist():
        idx = torch.nonzero(y == k).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        nv = int(fraction * len(idx) + 0.5)
        va.append(idx[:nv])
        tr.append(idx[nv:])
    return torch.sort(torch.cat(tr)).values, torch.sort(torch.cat(va)).values


def pad_crop(x, pad, g):
    """Random crops of the zero-padded (mean-subtracted) batch, one per image."""
    if pad == 0:
        return x
    n, _, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=g)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=g)
    out = torch.empty_like(x)
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            sel = torch.nonzero((oy == dy) & (ox == dx)).flatten()
            if len(sel):
                out[sel] = xp[sel, :, dy:dy + h, dx:dx + w]
    return out


def renormalize(model, radius):
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.Conv2d):
                w = mod.weight
                rms = w.pow(2).mean(dim=(1, 2, 3)).sqrt()
                scale = torch.where(rms > radius, radius / rms, torch.ones_like(rms))
                w.mul_(scale.view(-1, 1, 1, 1))


def evaluate(model, x, y, batch):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            loss += F.cross_entropy(out, y[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(x), correct / len(x)


def bench(model, opt, a):
    """Time the training step (with renormalization) or inference on one
    random batch of 28x28 images, as torch_zfnet.py times zfnet."""
    c, h, w = 1, 28, 28
    classes = model[-1].out_features
    x = torch.randn(a.batch, c, h, w)
    y = torch.randint(0, classes, (a.batch,))
    if a.bench == "train":
        model.train()
        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
            if a.filter_radius > 0:
                renormalize(model, a.filter_radius)
    else:
        model.eval()
        def step():
            with torch.no_grad():
                model(x)
    step()  # warm-up
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    print(f"images_per_s={a.batch * a.steps / (time.perf_counter() - t):.3f}")


def main():
    t0 = time.perf_counter()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="", help="mnist (GoMNIST in the Go module cache, or $ZFNET_MNIST_DIR), fashion-mnist, or a folder with the four IDX files")
    p.add_argument("--table", default="", help="`zfnet arch` output to build the network from (default: the built-in zfnet-small)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--lr-factor", type=float, default=0.1)
    p.add_argument("--patience", type=int, default=0)
    p.add_argument("--anneal-at", default="6,9", help="epochs after which lr is multiplied by --lr-factor (zfnet train --anneal-at; empty: on a plateau)")
    p.add_argument("--min-lr", type=float, default=1e-5)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--filter-radius", type=float, default=0.0, help="conv filter RMS bound; 0 (off) as zfnet train for zfnet-small")
    p.add_argument("--dropout", type=float, default=0.5, help="fc6/fc7 dropout (negative: the table's)")
    p.add_argument("--init", choices=["he", "paper"], default="he")
    p.add_argument("--val-fraction", type=float, default=1.0 / 12)
    p.add_argument("--pad-crop", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="train on only the first N training examples (quick checks)")
    p.add_argument("--bench", choices=["train", "forward"], help="time steps on a random batch instead of training")
    p.add_argument("--steps", type=int, default=20, help="--bench: timed steps")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rows = read_table(a.table) if a.table else ZFNET_SMALL
    model = build(rows, a.dropout)
    initialize(model, a.init, a.seed)
    weights = [q for q in model.parameters() if q.dim() > 1]
    biases = [q for q in model.parameters() if q.dim() == 1]
    opt = torch.optim.SGD([{"params": weights, "weight_decay": a.weight_decay},
                           {"params": biases, "weight_decay": 0.0}], lr=a.lr, momentum=a.momentum)
    if a.bench:
        bench(model, opt, a)
        return

    d = mnist_dir(a.data)
    xtr, ytr, xte, yte = load_mnist(d)
    tr, va = split(ytr, a.val_fraction, a.seed) if a.val_fraction > 0 else (torch.arange(len(ytr)), None)
    if a.limit > 0:
        tr = tr[:a.limit]
    xv, yv = (xtr[va], ytr[va]) if va is not None else (xte, yte)
    xtr, ytr = xtr[tr], ytr[tr]
    mean = xtr.mean(dim=0, keepdim=True)
    xtr, xv, xte = xtr - mean, xv - mean, xte - mean

    nparams = sum(q.numel() for q in model.parameters())
    print(f"zfnet-small (PyTorch {torch.__version__}, {a.threads} threads): {nparams} parameters; "
          f"{len(xtr)} train, {len(xv)} validation, {len(xte)} test images from {d}", flush=True)

    g = torch.Generator().manual_seed(a.seed)
    lr, best, bad, train_seconds = a.lr, float("inf"), 0, 0.0
    for epoch in range(1, a.epochs + 1):
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(len(xtr), generator=g)
        tot_loss, correct = 0.0, 0
        for i in range(0, len(perm), a.batch):
            idx = perm[i:i + a.batch]
            x, y = pad_crop(xtr[idx], a.pad_crop, g), ytr[idx]
            opt.zero_grad(set_to_none=True)
            out = model(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            opt.step()
            if a.filter_radius > 0:
                renormalize(model, a.filter_radius)
            tot_loss += loss.item() * len(idx)
            correct += (out.argmax(1) == y).sum().item()
        secs = time.perf_counter() - start
        train_seconds += secs
        vloss, vacc = evaluate(model, xv, yv, a.batch)
        print(f"epoch {epoch}: train loss {tot_loss / len(xtr):.4f} acc {100 * correct / len(xtr):.2f}% | "
              f"val loss {vloss:.4f} top-1 {100 * vacc:.2f}% | lr {lr:g} | {len(xtr) / secs:.0f} img/s, {secs:.1f}s", flush=True)
        schedule = [int(e) for e in a.anneal_at.split(",") if e.strip()]
        if schedule:
            if epoch in schedule:
                lr = max(lr * a.lr_factor, a.min_lr)
        elif vloss < best * (1 - 1e-3):
            best, bad = vloss, 0
        else:
            bad += 1
            if bad > a.patience:
                lr, bad = max(lr * a.lr_factor, a.min_lr), 0
        for group in opt.param_groups:
            group["lr"] = lr
    tloss, tacc = evaluate(model, xte, yte, a.batch)
    print(f"test_top1={100 * tacc:.2f} test_loss={tloss:.4f}")
    print(f"train_seconds={train_seconds:.1f} wall_seconds={time.perf_counter() - t0:.1f}")


if __name__ == "__main__":
    main()
