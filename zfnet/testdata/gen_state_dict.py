#!/usr/bin/env python3
"""Writes a PyTorch state_dict as .npz, and PyTorch's logits for it, so the
Go tests prove that weights written by PyTorch load by name and that our
forward pass matches PyTorch's on the same weights.

Run from the repository root with Debian's PyTorch 1.13:
    /usr/bin/python3 zfnet/testdata/gen_state_dict.py

The network is the "tiny" architecture of zfnet/interop_test.go: ZFNet's
stage structure (conv -> ReLU -> LRN -> pool twice, three convs, pool,
three fc) on a 1x20x20 input, so pool5's output is 6x2x2: fc6 then reads a
flattened C,H,W volume and a flatten in another order (H,W,C) would give
other logits.
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, stride=1, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=1, padding=1)
        self.conv3 = nn.Conv2d(6, 8, 3, padding=1)
        self.conv4 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv5 = nn.Conv2d(8, 6, 3, padding=1)
        self.fc6 = nn.Linear(6 * 2 * 2, 10)
        self.fc7 = nn.Linear(10, 10)
        self.fc8 = nn.Linear(10, 3)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)

    def forward(self, x):
        x = F.max_pool2d(self.lrn(F.relu(self.conv1(x))), 3, 2, 1)
        x = F.max_pool2d(self.lrn(F.relu(self.conv2(x))), 3, 2, 1)
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x))
        x = F.max_pool2d(F.relu(self.conv5(x)), 3, 2)
        assert x.shape[1:] == (6, 2, 2), x.shape
        x = torch.flatten(x, 1)
        x = F.relu(self.fc6(x))  # dropout is the identity at inference
        x = F.relu(self.fc7(x))
        return self.fc8(x)


def main():
    torch.manual_seed(0)
    m = Tiny().eval()
    with torch.no_grad():
        for p in m.parameters():  # larger than the default init, so LRN matters
            p.mul_(3.0)
    x = torch.randn(2, 1, 20, 20) * 4
    with torch.no_grad():
        logits = m(x).double()
    sd = {k: v.numpy() for k, v in m.state_dict().items()}
    np.savez(os.path.join(HERE, "tiny_state_dict.npz"), **sd)
    np.save(os.path.join(HERE, "tiny_input.npy"), x.numpy())
    np.save(os.path.join(HERE, "tiny_logits.npy"), logits.numpy())
    print("keys:", sorted(sd))


if __name__ == "__main__":
    main()
