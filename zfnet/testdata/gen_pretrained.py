#!/usr/bin/env python3
"""Weight files of published layouts, as PyTorch and the ONNX tools write
them, with PyTorch's logits, for zfnet/pretrained_test.go (issue 11: a file
of each built-in layout loads with no architecture given and gives
PyTorch's logits).

Regenerate (from the repository root) with Debian's PyTorch 1.13,
torchvision 0.14, onnx and numpy:

    /usr/bin/python3 zfnet/testdata/gen_pretrained.py

which rewrites zfnet/testdata/pretrained/. The output is deterministic
(fixed seeds, CPU).

The networks are narrow (8-16 maps, 16 fc units, 10 classes) versions of
the published ones, at the published input size 224x224, so that the
importer must take every width and the class count from the shapes while
strides, padding, pooling and LRN come from the recognized layout:

  tv_alexnet.pth            torchvision's AlexNet (models/alexnet.py) module
                            naming, torch.save(state_dict) (zip format)
  tv_alexnet_ckpt.pth       the same weights as a checkpoint dict
                            {"state_dict": ..., "epoch": 3} with the
                            "module." prefixes of nn.DataParallel
  tv_alexnet_half.pth       the same weights in float16 (model.half());
                            its logits come from the float16 weights
                            converted back
  tv_alexnet.safetensors    the same weights, written by hand: 8-byte
                            little-endian header length, JSON header, raw
                            little-endian float32
  tv_alexnet_export.onnx    torch.onnx.export of the same model (opset 11)
  pcv_zfnet.pth             pytorchcv's ZFNet (models/zfnet.py, its
                            AlexNet class: features.stageS.unitU.conv,
                            output.fc1.fc, ...)
  pcv_zfnetb.pth            pytorchcv's ZFNet-b; conv4 has 520 maps, more
                            than 512, which is how the importer tells it
                            from ZFNet (conv3 and conv5 are 2 maps to keep
                            the file small)
  pcv_alexnet.pth           pytorchcv's AlexNet (models/alexnet.py)
  caffe_alexnet.onnx        the ONNX model zoo's bvlcalexnet as spelled by
                            its Caffe-born graph: Conv (group 2 in conv2,
                            conv4, conv5), Relu, LRN before MaxPool,
                            Flatten, Gemm(transB=1), Dropout, Softmax
  caffe_zfnet.onnx          zfnet512's spelling: MaxPool with asymmetric
                            pads (0, 0, 1, 1), which is how Caffe's
                            ceil-mode pooling is exported; Reshape with an
                            int64 shape initializer; every initializer
                            also listed as a graph input (IR version 3,
                            as the model zoo's older files do)
  ours.npz                  zfnet's own names (conv1.weight, ..., fc8.bias)
                            for the "zfnet" table
  edge_*.onnx               small graphs (2 or 6 input maps, 3 classes) on the
                            edges of the ONNX reader, each with its own
                            input "edge_<name>_x" (float32) and logits:
                            Gemm with transB=0, MatMul+Add, MaxPool 3x3/3
                            with pads (0, 0, 1, 1) on 13x13 (ONNX: 4x4;
                            ceil mode would give 5x5), AveragePool 3x3/2
                            with pads (0, 0, 1, 1) counting the padding
                            or not, LRN of even size 4 (ONNX's window
                            reaches one map further after the map than
                            before it); each followed by a convolution,
                            global average pooling and Gemm, so a wrong
                            size changes the logits instead of failing
  vgg_like.pth              a state_dict of a different network (VGG
                            naming: features.0 is a 3x3 convolution,
                            classifier.0/3/6), which must be refused

  expected.npz              "picture": the shared input, 1x3x224x224
                            uint8, fed to every network as picture/255
                            computed in float32 (exact on both sides);
                            "<file stem>": PyTorch's logits (1, classes),
                            float64, from the float32 (or float16) weights,
                            computed in float64, eval mode (no dropout)

The input is a picture made here (gradients, discs, stripes, texture): no
photograph is needed to check arithmetic.
"""
import io
import json
import os
import struct

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pretrained")
CLASSES = 10
FC = 16


def picture():
    """A 224x224 colour picture: smooth gradients, a few discs and
    stripes, a fine texture and a band of noise, as uint8 (1, 3, 224,
    224)."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:224, 0:224].astype(np.float64)
    r = 0.5 + 0.4 * np.sin(xx / 23.0) * np.cos(yy / 31.0)
    g = yy / 224.0
    b = 0.5 + 0.5 * np.sin((xx + yy) / 17.0)
    img = np.stack([r, g, b])
    for cy, cx, rad, col in ((60, 70, 30, (1.0, 0.2, 0.1)), (150, 160, 45, (0.1, 0.3, 0.9)), (170, 50, 20, (0.9, 0.9, 0.2))):
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < rad ** 2
        for c in range(3):
            img[c][mask] = col[c]
    img[:, 100:110, :] = 0.05
    img[1, :, 200:206] = 1.0
    img[0] += 0.08 * np.sign(np.sin(xx / 3.0) * np.sin(yy / 5.0))  # fine texture, compressible
    img[2] += 0.05 * rng.integers(-1, 2, size=(224, 224)) * (yy > 180)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)[None]


def as_input(pic):
    """picture/255 in float32, as the Go test computes it, then float64."""
    x32 = pic.astype(np.float32) / np.float32(255)
    return torch.from_numpy(x32.astype(np.float64))


# torchvision's AlexNet (torchvision/models/alexnet.py), narrow.
class TVAlexNet(nn.Module):
    def __init__(self, c=(8, 16, 16, 16, 8), fc=FC, classes=CLASSES):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, c[0], kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c[0], c[1], kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c[1], c[2], kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c[2], c[3], kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c[3], c[4], kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            nn.Linear(c[4] * 6 * 6, fc),
            nn.ReLU(inplace=True),
            nn.Dropout(p=0.5),
            nn.Linear(fc, fc),
            nn.ReLU(inplace=True),
            nn.Linear(fc, classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# pytorchcv's AlexNet class (pytorchcv/models/alexnet.py), which its
# zfnet.py reuses with ZFNet's kernels, strides and paddings.
class AlexConv(nn.Module):
    def __init__(self, cin, cout, k, s, p, use_lrn):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, p, bias=True)
        self.activ = nn.ReLU(inplace=True)
        self.use_lrn = use_lrn

    def forward(self, x):
        x = self.activ(self.conv(x))
        if self.use_lrn:
            x = F.local_response_norm(x, size=5, k=2.0)
        return x


class AlexDense(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.fc = nn.Linear(cin, cout)
        self.activ = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=0.5)

    def forward(self, x):
        return self.dropout(self.activ(self.fc(x)))


class AlexOutputBlock(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.fc1 = AlexDense(cin, FC)
        self.fc2 = AlexDense(FC, FC)
        self.fc3 = nn.Linear(FC, classes)

    def forward(self, x):
        return self.fc3(self.fc2(self.fc1(x)))


class PcvAlexNet(nn.Module):
    def __init__(self, channels, kernels, strides, paddings, classes=CLASSES, size=224):
        super().__init__()
        self.features = nn.Sequential()
        cin = 3
        for i, widths in enumerate(channels):
            stage = nn.Sequential()
            for j, cout in enumerate(widths):
                stage.add_module("unit{}".format(j + 1), AlexConv(
                    cin, cout, kernels[i][j], strides[i][j], paddings[i][j], use_lrn=i in (0, 1)))
                cin = cout
            stage.add_module("pool{}".format(i + 1), nn.MaxPool2d(3, 2, padding=0, ceil_mode=True))
            self.features.add_module("stage{}".format(i + 1), stage)
        with torch.no_grad():
            n = self.features(torch.zeros(1, 3, size, size)).numel()
        self.output = AlexOutputBlock(n, classes)

    def forward(self, x):
        x = self.features(x)
        return self.output(x.view(x.size(0), -1))


def pcv_zfnet(c3, c4, c5):
    return PcvAlexNet([[8], [16], [c3, c4, c5]], [[7], [5], [3, 3, 3]], [[2], [2], [1, 1, 1]], [[1], [0], [1, 1, 1]])


def pcv_alexnet():
    return PcvAlexNet([[8], [16], [16, 16, 8]], [[11], [5], [3, 3, 3]], [[4], [1], [1, 1, 1]], [[0], [2], [1, 1, 1]])


def init(m, seed, conv1_gain=1.0):
    """He-normal weights and small biases, in float32; conv1 scaled by
    conv1_gain so that LRN (k=2, alpha=1e-4) changes the result."""
    g = torch.Generator().manual_seed(seed)
    first = True
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                fan_in = mod.weight[0].numel()
                w = torch.randn(mod.weight.shape, generator=g, dtype=torch.float64) * (2.0 / fan_in) ** 0.5
                if first and isinstance(mod, nn.Conv2d):
                    w *= conv1_gain
                    first = False
                mod.weight.copy_(w.float())
                mod.bias.copy_((torch.rand(mod.bias.shape, generator=g, dtype=torch.float64) * 0.2 - 0.05).float())
    return m.eval()


def logits64(m, x):
    """The logits in float64 from the module's current weights."""
    import copy
    d = copy.deepcopy(m).double().eval()
    with torch.no_grad():
        return d(x)


def save_pth(obj, name):
    torch.save(obj, os.path.join(OUT, name))


def write_safetensors(sd, name):
    """safetensors by hand: u64 LE header length, JSON, raw LE float32."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k, v in sd.items():
        b = v.detach().cpu().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---- Caffe-born ONNX graphs, built with onnx.helper ----

class OnnxNet:
    """Builds a chain graph and, alongside, the same network as float64
    torch calls for the reference logits."""

    def __init__(self, input_name, size):
        self.nodes, self.inits, self.steps = [], [], []
        self.cur, self.size, self.input_name = input_name, size, input_name
        self.n = 0

    def out(self, op):
        self.n += 1
        name = "%s_%d" % (op.lower(), self.n)
        return name

    def add(self, op, inputs, fn, **attrs):
        o = self.out(op)
        self.nodes.append(helper.make_node(op, [self.cur] + inputs, [o], name=o, **attrs))
        self.cur = o
        self.steps.append(fn)

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))

    def conv(self, name, w, b, stride, pad, group=1):
        self.init(name + "_w_0", w)
        self.init(name + "_b_0", b)
        wt, bt = torch.from_numpy(w.astype(np.float64)), torch.from_numpy(b.astype(np.float64))
        k = w.shape[2]
        self.add("Conv", [name + "_w_0", name + "_b_0"], lambda x: F.conv2d(x, wt, bt, stride, pad, groups=group),
                 kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, dilations=[1, 1], group=group)

    def relu(self):
        self.add("Relu", [], F.relu)

    def lrn(self, size=5, alpha=1e-4, beta=0.75, bias=1.0):
        # ONNX's LRN divides alpha by size, as torch's does.
        self.add("LRN", [], lambda x: F.local_response_norm(x, size, alpha, beta, bias),
                 size=size, alpha=alpha, beta=beta, bias=bias)

    def maxpool(self, k, s, pads):
        # pads (top, left, bottom, right): the padded cells are -inf.
        t, l, bo, r = pads
        self.add("MaxPool", [], lambda x: F.max_pool2d(F.pad(x, (l, r, t, bo), value=-float("inf")), k, s),
                 kernel_shape=[k, k], strides=[s, s], pads=list(pads))

    def flatten(self):
        self.add("Flatten", [], lambda x: torch.flatten(x, 1), axis=1)

    def reshape(self, shape_name):
        self.inits.append(numpy_helper.from_array(np.array([1, -1], dtype=np.int64), shape_name))
        self.add("Reshape", [shape_name], lambda x: x.reshape(x.shape[0], -1))

    def gemm(self, name, w, b):
        self.init(name + "_w_0", w)
        self.init(name + "_b_0", b)
        wt, bt = torch.from_numpy(w.astype(np.float64)), torch.from_numpy(b.astype(np.float64))
        self.add("Gemm", [name + "_w_0", name + "_b_0"], lambda x: F.linear(x, wt, bt), alpha=1.0, beta=1.0, transB=1)

    def dropout(self):
        self.add("Dropout", [], lambda x: x, ratio=0.5)

    def softmax(self):
        self.nodes.append(helper.make_node("Softmax", [self.cur], ["prob_1"], name="prob", axis=1))

    def torch_logits(self, x):
        for f in self.steps:
            x = f(x)
        return x

    def save(self, name, graph_name, inits_as_inputs):
        inputs = [helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT, [1, 3, self.size, self.size])]
        if inits_as_inputs:
            for t in self.inits:
                inputs.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
        outputs = [helper.make_tensor_value_info("prob_1", TensorProto.FLOAT, [1, CLASSES])]
        g = helper.make_graph(self.nodes, graph_name, inputs, outputs, initializer=self.inits)
        m = helper.make_model(g, producer_name="gen_pretrained.py (Caffe2-style)", opset_imports=[helper.make_opsetid("", 9)])
        if inits_as_inputs:
            m.ir_version = 3
        else:
            m.ir_version = 4
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(OUT, name))


def rnd(g, shape, scale):
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).float().numpy()


def he(g, shape):
    fan_in = int(np.prod(shape[1:]))
    return rnd(g, shape, (2.0 / fan_in) ** 0.5)


def bias(g, n):
    return (torch.rand(n, generator=g, dtype=torch.float64) * 0.2 - 0.05).float().numpy()


def caffe_alexnet(x):
    """bvlcalexnet's graph, narrow: groups of 2 in conv2, conv4, conv5
    (each filter sees half the maps), LRN (size 5, alpha 1e-4, beta 0.75,
    bias 1) before pooling, Flatten, Gemm with transB=1."""
    g = torch.Generator().manual_seed(21)
    n = OnnxNet("data_0", 224)
    n.conv("conv1", he(g, (8, 3, 11, 11)) * 20, bias(g, 8), 4, 0)          # 54
    n.relu(); n.lrn(); n.maxpool(3, 2, (0, 0, 0, 0))                         # 26
    n.conv("conv2", he(g, (16, 4, 5, 5)), bias(g, 16), 1, 2, group=2)       # 26
    n.relu(); n.lrn(); n.maxpool(3, 2, (0, 0, 0, 0))                         # 12
    n.conv("conv3", he(g, (16, 16, 3, 3)), bias(g, 16), 1, 1)
    n.relu()
    n.conv("conv4", he(g, (16, 8, 3, 3)), bias(g, 16), 1, 1, group=2)
    n.relu()
    n.conv("conv5", he(g, (8, 8, 3, 3)), bias(g, 8), 1, 1, group=2)
    n.relu(); n.maxpool(3, 2, (0, 0, 0, 0))                                  # 5
    n.flatten()
    n.gemm("fc6", he(g, (FC, 8 * 5 * 5)), bias(g, FC)); n.relu(); n.dropout()
    n.gemm("fc7", he(g, (FC, FC)), bias(g, FC)); n.relu(); n.dropout()
    n.gemm("fc8", he(g, (CLASSES, FC)), bias(g, CLASSES))
    n.softmax()
    n.save("caffe_alexnet.onnx", "bvlcalexnet-narrow", inits_as_inputs=False)
    return n.torch_logits(x)


def caffe_zfnet(x):
    """zfnet512's spelling, narrow: Caffe's ceil-mode 3x3/2 pooling
    exported as MaxPool with pads (0, 0, 1, 1); Reshape to (1, -1) with an
    int64 initializer; initializers listed as graph inputs."""
    g = torch.Generator().manual_seed(22)
    n = OnnxNet("gpu_0/data_0", 224)
    n.conv("conv1", he(g, (8, 3, 7, 7)) * 20, bias(g, 8), 2, 1)             # 110
    n.relu(); n.lrn(); n.maxpool(3, 2, (0, 0, 1, 1))                         # 55
    n.conv("conv2", he(g, (16, 8, 5, 5)), bias(g, 16), 2, 0)                # 26
    n.relu(); n.lrn(); n.maxpool(3, 2, (0, 0, 1, 1))                         # 13
    n.conv("conv3", he(g, (16, 16, 3, 3)), bias(g, 16), 1, 1)
    n.relu()
    n.conv("conv4", he(g, (16, 16, 3, 3)), bias(g, 16), 1, 1)
    n.relu()
    n.conv("conv5", he(g, (8, 16, 3, 3)), bias(g, 8), 1, 1)
    n.relu(); n.maxpool(3, 2, (0, 0, 1, 1))                                  # 6
    n.reshape("OC2_DUMMY_1")
    n.gemm("fc6", he(g, (FC, 8 * 6 * 6)), bias(g, FC)); n.relu(); n.dropout()
    n.gemm("fc7", he(g, (FC, FC)), bias(g, FC)); n.relu(); n.dropout()
    n.gemm("fc8", he(g, (CLASSES, FC)), bias(g, CLASSES))
    n.softmax()
    n.save("caffe_zfnet.onnx", "zfnet512-narrow", inits_as_inputs=True)
    # The asymmetric pads are Caffe's ceil mode: the same windows as
    # torch's ceil_mode=True without padding, at these sizes.
    for size in (110, 26, 13):
        a = torch.randn(1, 2, size, size, dtype=torch.float64)
        want = F.max_pool2d(a, 3, 2, 0, ceil_mode=True)
        got = F.max_pool2d(F.pad(a, (0, 1, 0, 1), value=-float("inf")), 3, 2)
        assert torch.equal(want, got), size
    return n.torch_logits(x)


class Ours(nn.Module):
    """zfnet's "zfnet" table (the seed table, stage form), narrow, under
    zfnet's names: conv -> ReLU -> LRN(5, 1e-4, 0.75, 2) -> pool 3x3/2 pad 1
    in stages 1-2, pool 3x3/2 after conv5, fc6/fc7 with ReLU."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, 2, 1)
        self.conv2 = nn.Conv2d(8, 16, 5, 2, 0)
        self.conv3 = nn.Conv2d(16, 16, 3, 1, 1)
        self.conv4 = nn.Conv2d(16, 16, 3, 1, 1)
        self.conv5 = nn.Conv2d(16, 8, 3, 1, 1)
        self.fc6 = nn.Linear(8 * 6 * 6, FC)
        self.fc7 = nn.Linear(FC, FC)
        self.fc8 = nn.Linear(FC, CLASSES)

    def forward(self, x):
        lrn = lambda t: F.local_response_norm(t, 5, 1e-4, 0.75, 2.0)
        x = F.max_pool2d(lrn(F.relu(self.conv1(x))), 3, 2, 1)
        x = F.max_pool2d(lrn(F.relu(self.conv2(x))), 3, 2, 1)
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x))
        x = F.max_pool2d(F.relu(self.conv5(x)), 3, 2, 0)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc6(x))
        x = F.relu(self.fc7(x))
        return self.fc8(x)


def vgg_like():
    """A narrow VGG-11-style state_dict: 3x3 convolutions at features.0, 3,
    6, 8; classifier.0/3/6."""
    g = torch.Generator().manual_seed(5)
    sd = {}
    cin = 3
    for i, c in zip((0, 3, 6, 8), (4, 8, 8, 8)):
        sd["features.%d.weight" % i] = torch.randn(c, cin, 3, 3, generator=g)
        sd["features.%d.bias" % i] = torch.zeros(c)
        cin = c
    for i, (o, n) in zip((0, 3, 6), ((8, 8 * 7 * 7), (8, 8), (CLASSES, 8))):
        sd["classifier.%d.weight" % i] = torch.randn(o, n, generator=g)
        sd["classifier.%d.bias" % i] = torch.zeros(o)
    return sd


def onnx_lrn(x, size, alpha, beta, bias):
    """ONNX's LRN: the sum over maps [c - floor((size-1)/2), c +
    ceil((size-1)/2)], alpha divided by size."""
    C = x.shape[1]
    out = torch.zeros_like(x)
    for c in range(C):
        lo, hi = max(0, c - (size - 1) // 2), min(C - 1, c + size // 2)
        out[:, c] = x[:, c] / (bias + alpha / size * (x[:, lo:hi + 1] ** 2).sum(1)) ** beta
    return out


def onnx_edges(expected):
    """The edge_*.onnx graphs and their float64 logits under ONNX's
    semantics (explicit -inf or zero padding, ONNX's LRN window)."""
    rng = np.random.default_rng(7)
    cw = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    cb = (rng.normal(size=4) * 0.1).astype(np.float32)
    fw = rng.normal(size=(3, 4)).astype(np.float32)
    fb = (np.arange(3) * 0.1).astype(np.float32)
    t64 = lambda a: torch.from_numpy(a.astype(np.float64))

    def tail(h):  # conv 3x3 pad 1 -> relu -> global average -> (fc)
        return F.relu(F.conv2d(h, t64(cw), t64(cb), padding=1)).mean((2, 3))

    tail_nodes = [helper.make_node("Conv", ["p", "cw", "cb"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", ["c"], ["r"]), helper.make_node("GlobalAveragePool", ["r"], ["g"]),
                  helper.make_node("Flatten", ["g"], ["f"], axis=1)]
    gemm = [helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)]
    fc = lambda h: F.linear(h, t64(fw), t64(fb))

    def save(name, c, size, head, nodes, inits, ref):
        x = rng.random((1, c, size, size)).astype(np.float32)
        inits = dict(inits, cw=cw, cb=cb)
        g = helper.make_graph(head + nodes, name,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                              initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(OUT, "edge_" + name + ".onnx"))
        expected["edge_" + name + "_x"] = x
        v = ref(t64(x)).numpy()
        expected["edge_" + name] = v
        print("%-22s logits %s" % ("edge_" + name, np.array2string(v[0], precision=4)))

    ident = [helper.make_node("Identity", ["x"], ["p"])]
    save("gemm_transb0", 2, 13, ident, tail_nodes + [helper.make_node("Gemm", ["f", "fwT", "fb"], ["y"])],
         dict(fwT=np.ascontiguousarray(fw.T), fb=fb), lambda x: fc(tail(x)))
    save("matmul_add", 2, 13, ident, tail_nodes + [helper.make_node("MatMul", ["f", "fwT"], ["mm"]),
                                                    helper.make_node("Add", ["mm", "fb"], ["y"])],
         dict(fwT=np.ascontiguousarray(fw.T), fb=fb), lambda x: fc(tail(x)))
    save("maxpool_s3_pads", 2, 13,
         [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[3, 3], strides=[3, 3], pads=[0, 0, 1, 1])],
         tail_nodes + gemm, dict(fw=fw, fb=fb),
         lambda x: fc(tail(F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-float("inf")), 3, 3))))
    ones = lambda x: F.pad(torch.ones_like(x), (0, 1, 0, 1))
    save("avgpool_pads_count", 2, 14,
         [helper.make_node("AveragePool", ["x"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1],
                           count_include_pad=1)],
         tail_nodes + gemm, dict(fw=fw, fb=fb), lambda x: fc(tail(F.avg_pool2d(F.pad(x, (0, 1, 0, 1)), 3, 2))))
    save("avgpool_pads", 2, 14,
         [helper.make_node("AveragePool", ["x"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])],
         tail_nodes + gemm, dict(fw=fw, fb=fb),
         lambda x: fc(tail(F.avg_pool2d(F.pad(x, (0, 1, 0, 1)), 3, 2, divisor_override=1) /
                          F.avg_pool2d(ones(x), 3, 2, divisor_override=1))))
    cw6 = rng.normal(size=(2, 6, 1, 1)).astype(np.float32)
    save("lrn_even", 6, 5,
         [helper.make_node("LRN", ["x"], ["l"], size=4, alpha=2.0, beta=0.75, bias=1.0),
          helper.make_node("Conv", ["l", "cw6"], ["p"], kernel_shape=[1, 1])],
         tail_nodes + gemm, dict(cw6=cw6, fw=fw, fb=fb),
         lambda x: fc(tail(F.conv2d(onnx_lrn(x, 4, 2.0, 0.75, 1.0), t64(cw6)))))
    # PyTorch's window for size 4 is [c - 2, c + 1]: a different network.
    x = t64(expected["edge_lrn_even_x"])
    torch_window = fc(tail(F.conv2d(F.local_response_norm(x, 4, 2.0, 0.75, 1.0), t64(cw6))))
    assert (torch_window - t64(expected["edge_lrn_even"])).abs().max() > 1e-2


def main():
    os.makedirs(OUT, exist_ok=True)
    pic = picture()
    x = as_input(pic)
    expected = {"picture": pic}

    def check(name, logits):
        v = logits.numpy()
        assert v.shape == (1, CLASSES), (name, v.shape)
        assert np.isfinite(v).all() and np.abs(v).max() > 0.1 and v.std() > 0.05, (name, v)
        expected[name] = v
        print("%-22s logits %s" % (name, np.array2string(v[0], precision=3, max_line_width=200)))

    # torchvision AlexNet: state_dict, checkpoint with module., float16,
    # safetensors, torch.onnx.export.
    tv = init(TVAlexNet(), 1)
    sd = tv.state_dict()
    save_pth(sd, "tv_alexnet.pth")
    check("tv_alexnet", logits64(tv, x))
    save_pth({"state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 3}, "tv_alexnet_ckpt.pth")
    check("tv_alexnet_ckpt", logits64(tv, x))
    write_safetensors(sd, "tv_alexnet.safetensors")
    check("tv_alexnet_safetensors", logits64(tv, x))
    half = TVAlexNet()
    half.load_state_dict(sd)
    half = half.half().eval()
    save_pth(half.state_dict(), "tv_alexnet_half.pth")
    assert all(v.dtype == torch.float16 for v in half.state_dict().values())
    check("tv_alexnet_half", logits64(half, x))  # float16 weights, exactly, in float64
    torch.onnx.export(tv, x.float(), os.path.join(OUT, "tv_alexnet_export.onnx"), opset_version=11,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL)
    check("tv_alexnet_export", logits64(tv, x))
    print("torch.onnx.export ops:", [nd.op_type for nd in onnx.load(os.path.join(OUT, "tv_alexnet_export.onnx")).graph.node])

    # pytorchcv.
    for name, m in (("pcv_zfnet", pcv_zfnet(16, 16, 8)), ("pcv_zfnetb", pcv_zfnet(2, 520, 2)), ("pcv_alexnet", pcv_alexnet())):
        init(m, 2, conv1_gain=20.0)
        save_pth(m.state_dict(), name + ".pth")
        check(name, logits64(m, x))

    # Caffe-born ONNX graphs.
    check("caffe_alexnet", caffe_alexnet(x))
    check("caffe_zfnet", caffe_zfnet(x))

    # Ours.
    ours = init(Ours(), 3, conv1_gain=20.0)
    np.savez(os.path.join(OUT, "ours.npz"), **{k: v.numpy() for k, v in ours.state_dict().items()})
    check("ours", logits64(ours, x))

    save_pth(vgg_like(), "vgg_like.pth")
    onnx_edges(expected)

    np.savez_compressed(os.path.join(OUT, "expected.npz"), **expected)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("fixtures: %d bytes" % total)


if __name__ == "__main__":
    main()
