#!/usr/bin/env python3
"""Writes sgd_reference.npz: three steps of torch.optim.SGD (momentum 0.9,
weight decay on weights only, through parameter groups) followed, after each
step, by the paper's renormalization of convolution filters whose RMS
exceeds the radius, for TestSGDMatchesPyTorch.

Run from this folder with Debian's PyTorch: /usr/bin/python3 gen_sgd_reference.py
"""
import numpy as np
import torch

LR, MOMENTUM, WD, RADIUS, STEPS = 0.05, 0.9, 0.01, 0.1, 3

g = torch.Generator().manual_seed(19)
params = {
    # conv weights (out x in x kh x kw): filter 0 starts far above the
    # radius, filter 1 below it, filter 2 near it.
    "conv1.weight": torch.randn(3, 2, 2, 2, generator=g) * torch.tensor([0.4, 0.03, 0.1]).view(3, 1, 1, 1),
    "conv1.bias": torch.randn(3, generator=g),
    "fc2.weight": torch.randn(2, 5, generator=g),  # large: decays, never renormalized
    "fc2.bias": torch.randn(2, generator=g),
}
out = {"hyper": np.array([LR, MOMENTUM, WD, RADIUS, STEPS], dtype=np.float32)}
tensors = {}
for k, v in params.items():
    out["init/" + k] = v.numpy().astype(np.float32).copy()
    tensors[k] = torch.nn.Parameter(v.float().clone())
decay = [tensors[k] for k in tensors if k.endswith(".weight")]
no_decay = [tensors[k] for k in tensors if k.endswith(".bias")]
opt = torch.optim.SGD([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                      lr=LR, momentum=MOMENTUM)
for s in range(STEPS):
    opt.zero_grad()
    for k, p in tensors.items():
        grad = torch.randn(p.shape, generator=g)
        if k == "conv1.weight":
            grad *= 0.02  # small steps: filter 1 stays below the radius
        out["grad%d/%s" % (s, k)] = grad.numpy().astype(np.float32).copy()
        p.grad = grad.float().clone()
    opt.step()
    with torch.no_grad():
        w = tensors["conv1.weight"]
        flat = w.view(w.shape[0], -1)
        rms = flat.double().pow(2).mean(dim=1).sqrt()
        for o in range(flat.shape[0]):
            if rms[o] > RADIUS:
                flat[o] *= float(RADIUS / rms[o])
    for k, p in tensors.items():
        out["step%d/%s" % (s, k)] = p.detach().numpy().astype(np.float32).copy()
np.savez("sgd_reference.npz", **out)
