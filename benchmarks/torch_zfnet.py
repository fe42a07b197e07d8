#!/usr/bin/env python3
"""The PyTorch peer of `zfnet bench`: the seed-table ZFNet on this CPU.

This is the repository's own copy of the peer that benchmarks/run.sh and
BENCHMARKS.md compare against (it does what ../shared/peer/torch_zfnet.py,
outside the repository, does, so a clone can reproduce the tables).

Network (the seed table, `zfnet arch --arch zfnet`): conv1 7x7/2 3->96 pad 1,
ReLU, LRN(5, 1e-4, 0.75, 2), max pool 3/2 pad 1; conv2 5x5/2 96->256, ReLU,
LRN, max pool 3/2 pad 1; conv3-5 3x3 pad 1 256->512->1024->512 with ReLU; max
pool 3/2; fc6 9216->4096, fc7 4096->4096 (ReLU, dropout 0.5 before each),
fc8 4096->1000.

Usage (Debian's PyTorch, `apt-get install python3-torch`, /usr/bin/python3):

  torch_zfnet.py train   --batch 8 --steps 5 --threads 2   -> images_per_s=<float>
  torch_zfnet.py forward --batch 8 --steps 5 --threads 2   -> images_per_s=<float>
  torch_zfnet.py deconv  --steps 5 --threads 2             -> projections_per_s=<float>
  torch_zfnet.py layer   --layer conv4 --batch 8 --steps 5 --threads 2
                         -> gflops_forward=<float> gflops_backward=<float>

train: SGD steps (lr 1e-2, momentum 0.9, cross-entropy) on one random batch.
forward: inference (eval mode, no_grad) on one random batch.
deconv: one image per call: a forward pass through the convolutional stack
recording the pooling switches, the strongest unit of the strongest pool5
map kept alone, and its projection to pixels (unpool, ReLU, transposed
convolution with the layer's weights, down to the input).
layer: one convolution alone on a random batch of its input's shape; the
forward GFLOP/s, and the backward pass's (input and weight gradients) GFLOP/s,
counting 2 FLOPs per multiply-add of the direct convolution (backward: twice
the forward's FLOPs; the forward pass inside the timed backward loop is
subtracted at the measured forward rate).
Each mode runs one untimed warm-up step first.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which some machines set, are removed
before torch is imported, so PyTorch picks the kernels it would pick for this
CPU on a user's machine.
"""
import argparse
import os
import time

os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ.pop("OPENBLAS_L2_SIZE", None)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def lrn():
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)


def build(classes=1000, maps=(96, 256, 512, 1024, 512)):
    """The seed-table ZFNet: (features, classifier) in one nn.Sequential."""
    a, b, c, d, e = maps
    features = nn.Sequential(
        nn.Conv2d(3, a, 7, stride=2, padding=1), nn.ReLU(inplace=True), lrn(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Conv2d(a, b, 5, stride=2, padding=0), nn.ReLU(inplace=True), lrn(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Conv2d(b, c, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c, d, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(d, e, 3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, stride=2),
    )
    classifier = nn.Sequential(
        nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(e * 36, 4096), nn.ReLU(inplace=True),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, classes),
    )
    return nn.Sequential(features, classifier)


def timed(fn, steps):
    """Seconds for steps calls of fn after one untimed call."""
    fn()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return time.perf_counter() - start


def train_rate(net, batch, steps):
    sgd = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)
    x = torch.randn(batch, 3, 224, 224)
    labels = torch.randint(0, 1000, (batch,))
    net.train()

    def step():
        sgd.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), labels).backward()
        sgd.step()

    return batch * steps / timed(step, steps)


def forward_rate(net, batch, steps):
    x = torch.randn(batch, 3, 224, 224)
    net.eval()
    with torch.no_grad():
        return batch * steps / timed(lambda: net(x), steps)


def project(features, x):
    """Deconvnet projection of the strongest pool5 unit of image x (1 image)."""
    with torch.no_grad():
        h, switches, sizes = x, [], []
        for mod in features:
            if isinstance(mod, (nn.Conv2d, nn.MaxPool2d)):
                sizes.append(h.shape)
            if isinstance(mod, nn.MaxPool2d):
                h, where = F.max_pool2d(h, mod.kernel_size, mod.stride, mod.padding,
                                        return_indices=True)
                switches.append(where)
            else:
                h = mod(h)
        k = h[0].amax(dim=(1, 2)).argmax()  # the strongest map
        r = torch.zeros_like(h)
        top = h[0, k]
        r[0, k] = top * (top == top.max())  # its strongest unit alone
        for mod in reversed(features):
            if isinstance(mod, nn.MaxPool2d):
                r = F.max_unpool2d(r, switches.pop(), mod.kernel_size, mod.stride,
                                   mod.padding, output_size=sizes.pop()[-2:])
            elif isinstance(mod, nn.ReLU):
                r = F.relu(r)
            elif isinstance(mod, nn.Conv2d):
                want = sizes.pop()[-1]
                got = (r.shape[-1] - 1) * mod.stride[0] - 2 * mod.padding[0] + mod.kernel_size[0]
                r = F.conv_transpose2d(r, mod.weight, None, mod.stride, mod.padding,
                                       output_padding=want - got)
        assert r.shape == x.shape, r.shape
        return r


def deconv_rate(net, steps):
    x = torch.randn(1, 3, 224, 224)
    return steps / timed(lambda: project(net[0], x), steps)


def layer_rates(net, name, batch, steps):
    """(forward, backward) GFLOP/s of one convolution, named conv1..conv5."""
    convs = [m for m in net[0] if isinstance(m, nn.Conv2d)]
    conv = convs[int(name.removeprefix("conv")) - 1]
    with torch.no_grad():  # the shape of the convolution's input
        h = torch.randn(1, 3, 224, 224)
        for mod in net[0]:
            if mod is conv:
                break
            h = mod(h)
    x = torch.randn(batch, *h.shape[1:], requires_grad=True)
    with torch.no_grad():
        y = conv(x)
    kh, kw = conv.kernel_size
    flops = 2.0 * batch * conv.out_channels * conv.in_channels // conv.groups * kh * kw \
        * y.shape[-2] * y.shape[-1]
    with torch.no_grad():
        t_fwd = timed(lambda: conv(x), steps)
    dy = torch.randn_like(y)

    def fwd_bwd():
        x.grad = None
        conv.weight.grad = None
        conv.bias.grad = None
        conv(x).backward(dy)

    t_both = timed(fwd_bwd, steps)
    t_bwd = max(t_both - t_fwd, 1e-9)
    return flops * steps / t_fwd / 1e9, 2 * flops * steps / t_bwd / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["train", "forward", "deconv", "layer"])
    p.add_argument("--layer", default="conv4", help="layer mode: conv1 .. conv5")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    net = build()
    if a.mode == "train":
        print(f"images_per_s={train_rate(net, a.batch, a.steps):.3f}")
    elif a.mode == "forward":
        print(f"images_per_s={forward_rate(net, a.batch, a.steps):.3f}")
    elif a.mode == "deconv":
        print(f"projections_per_s={deconv_rate(net, a.steps):.3f}")
    else:
        f, b = layer_rates(net, a.layer, a.batch, a.steps)
        print(f"gflops_forward={f:.1f} gflops_backward={b:.1f}")


if __name__ == "__main__":
    main()
