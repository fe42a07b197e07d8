#!/usr/bin/python3
"""Writes the small weight files the tests of package weights read.

Run from anywhere with /usr/bin/python3 (Debian's python3-torch, python3-onnx
and python3-numpy); it writes next to itself. Every fixture is a few KB.
Expected values are written as .npy (float32, or the exact float32 value of a
float16/float64 tensor) under expect/.
"""
import io
import json
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import torch
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(HERE)
os.makedirs("expect", exist_ok=True)
rng = np.random.default_rng(7)


def expect(prefix, name, arr):
    """Saves the float32 values a reader must produce for tensor name."""
    np.save(os.path.join("expect", f"{prefix}__{name}.npy"),
            np.array(arr, dtype=np.float32, order="C"))


# ---- PyTorch state_dicts ---------------------------------------------------
def state_dict():
    g = torch.Generator().manual_seed(1)
    sd = OrderedDict()
    sd["conv1.weight"] = torch.randn(4, 3, 3, 3, generator=g)
    sd["conv1.bias"] = torch.randn(4, generator=g).half()  # float16
    sd["fc.weight"] = torch.randn(5, 6, generator=g).double()  # float64
    # A non-contiguous view saved as-is: a transpose with a storage offset.
    base = torch.randn(7, 5, generator=g)
    sd["fc.t"] = base[1:, :].t()  # shape (5, 6), strides (1, 5), offset 5
    sd["bn.running_mean"] = torch.randn(4, generator=g)
    sd["bn.num_batches_tracked"] = torch.tensor(17, dtype=torch.int64)
    sd["bf"] = torch.randn(3, generator=g).bfloat16()
    sd["scalar"] = torch.tensor(2.5)
    return sd


sd = state_dict()
assert not sd["fc.t"].is_contiguous() and sd["fc.t"].storage_offset() == 5
torch.save(sd, "state_dict.pth")
for k, v in sd.items():
    if v.is_floating_point():
        expect("state_dict", k, v.float().numpy())

# A checkpoint dict as DataParallel training scripts write it.
ck = {"epoch": 3, "arch": "zfnet",
      "state_dict": OrderedDict(("module." + k, v) for k, v in sd.items()),
      "best_acc1": 0.5}
torch.save(ck, "checkpoint.pth")

# The legacy (pre-1.6, non-zip) format.
torch.save(sd, "legacy.pth", _use_new_zipfile_serialization=False)


# A real module's state_dict (an OrderedDict with _metadata, set by BUILD),
# and nn.Parameters (torch._utils._rebuild_parameter) under "model".
torch.manual_seed(3)
net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                          torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8, 3))
torch.save(net.state_dict(), "module_state.pth")
for k, v in net.state_dict().items():
    if v.is_floating_point():
        expect("module_state", k, v.numpy())
params = {"model": OrderedDict((k, p) for k, p in net.named_parameters()), "step": 10}
torch.save(params, "parameters.pth")

# A malicious pickle: asks for posix.system. Written opcode by opcode; it is
# never unpickled here.
FIXED = (2020, 1, 1, 0, 0, 0)  # zip timestamps: reruns write the same bytes


def evil_pickle():
    p = b"\x80\x02"                       # PROTO 2
    p += b"cposix\nsystem\n"              # GLOBAL posix.system
    p += b"X" + struct.pack("<I", 12) + b"echo pwned!!"  # BINUNICODE
    p += b"\x85"                          # TUPLE1
    p += b"R"                             # REDUCE
    p += b"."                             # STOP
    return p


with zipfile.ZipFile("evil.pth", "w", zipfile.ZIP_STORED) as z:
    z.writestr(zipfile.ZipInfo("archive/data.pkl", FIXED), evil_pickle())
    z.writestr(zipfile.ZipInfo("archive/version", FIXED), "3\n")
with zipfile.ZipFile("evil_eval.pth", "w", zipfile.ZIP_STORED) as z:
    # builtins.eval through STACK_GLOBAL (protocol 4)
    p = b"\x80\x04"
    p += b"\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94"
    p += b"\x8c\x011\x94\x85\x94R\x94."
    z.writestr(zipfile.ZipInfo("archive/data.pkl", FIXED), p)


# ---- safetensors, written by hand -------------------------------------------
def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    off = 0
    for name, (dtype, arr) in tensors.items():
        b = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


st = OrderedDict()
st["conv1.weight"] = ("F32", rng.standard_normal((4, 3, 3, 3)).astype("<f4"))
st["conv1.bias"] = ("F16", rng.standard_normal(4).astype("<f2"))
st["fc.weight"] = ("F64", rng.standard_normal((5, 6)).astype("<f8"))
st["steps"] = ("I64", np.array([42], dtype="<i8"))
st["empty"] = ("F32", np.zeros((0, 3), dtype="<f4"))
write_safetensors("model.safetensors", st, {"format": "pt"})
for k, (dt, a) in st.items():
    if dt.startswith("F"):
        expect("model_safetensors", k, a)

# ---- npz ----------------------------------------------------------------------
npz = OrderedDict()
npz["conv1.weight"] = rng.standard_normal((4, 3, 3, 3)).astype("<f4")
npz["conv1.bias"] = rng.standard_normal(4).astype("<f8")
npz["half"] = rng.standard_normal((2, 3)).astype("<f2")
npz["fortran"] = np.asfortranarray(rng.standard_normal((3, 4)).astype("<f4"))
npz["count"] = np.array(9, dtype="<i8")
np.savez("arrays.npz", **npz)
np.savez_compressed("arrays_compressed.npz", **npz)
for k, a in npz.items():
    if a.dtype.kind == "f":
        expect("arrays", k, a)


# ---- ONNX -------------------------------------------------------------------------
def onnx_model(float_data=False, name="tiny"):
    def init(n, shape):
        a = rng.standard_normal(shape).astype(np.float32)
        expect(name, n, a)
        if float_data:
            return helper.make_tensor(n, TensorProto.FLOAT, shape, a.flatten().tolist())
        return numpy_helper.from_array(a, n)

    inits = [init("conv1.weight", (4, 3, 3, 3)), init("conv1.bias", (4,)),
             init("fc.weight", (5, 4 * 3 * 3)), init("fc.bias", (5,)),
             numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape")]
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("LRN", ["r1"], ["n1"], name="norm1", size=3, alpha=1e-4, beta=0.75, bias=2.0),
        helper.make_node("MaxPool", ["n1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p1"], ["f1"], name="flatten", axis=1),
        helper.make_node("Dropout", ["f1"], ["d1"], name="drop"),
        helper.make_node("Gemm", ["d1", "fc.weight", "fc.bias"], ["g1"], name="fc",
                         alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Softmax", ["g1"], ["y"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
        initializer=inits)
    m = helper.make_model(graph, producer_name="gen_fixtures",
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


onnx.save(onnx_model(name="tiny"), "tiny.onnx")
onnx.save(onnx_model(float_data=True, name="tiny_float_data"), "tiny_float_data.onnx")
os.makedirs("external", exist_ok=True)
for old in ("external/tiny_external.onnx", "external/tiny_external.data"):
    if os.path.exists(old):  # onnx appends to an existing data file
        os.remove(old)
m = onnx_model(name="tiny_external")
onnx.save_model(m, "external/tiny_external.onnx", save_as_external_data=True,
                all_tensors_to_one_file=True, location="tiny_external.data",
                size_threshold=0)


# A model exported by torch.onnx (Constant nodes, a Reshape with an int64
# shape, initializers named after the state_dict).
class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.pool = torch.nn.MaxPool2d(3, 2, 1)
        self.fc = torch.nn.Linear(4 * 2 * 2, 5)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        return torch.softmax(self.fc(x.reshape(x.shape[0], -1)), dim=1)


torch.manual_seed(5)
tiny = Tiny().eval()
torch.onnx.export(tiny, torch.zeros(1, 3, 8, 8), "exported.onnx", opset_version=13,
                  input_names=["image"], output_names=["probs"],
                  dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}})
for k, v in tiny.state_dict().items():
    expect("exported", k, v.numpy())
print("fixtures written in", HERE)
