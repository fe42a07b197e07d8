// Package weights reads the weight files people have — NumPy .npz,
// safetensors, PyTorch torch.save files and ONNX models — into one
// format-neutral form: named float32 arrays in C order, plus, for ONNX, the
// graph. It writes safetensors and .npz.
//
// Every file is treated as untrusted input: a file from the internet must
// never run code, crash the program, or make it allocate more memory than
// the file's size justifies.
//
// # Reading
//
// Read tells the format by the first bytes (a zip archive is a PyTorch file
// when it holds data.pkl and an npz when it holds .npy members; the legacy
// PyTorch pickle magic; the safetensors header), then by the extension
// (.onnx has no magic; a file with an unknown extension that starts like an
// ONNX ModelProto is tried as one). ReadNpz, ReadSafetensors, ReadTorch and ReadONNX
// read one format.
//
//	f, err := weights.Read("resnet.pth")
//	for _, name := range f.Arrays.Names {
//		a := f.Arrays.ByName[name] // a.Shape, a.Data ([]float32), a.DType
//	}
//
// File.Arrays holds the floating-point tensors converted to float32
// (float16 and bfloat16 exactly, float64 rounded); Array.DType says what the
// file stored. Integer and bool tensors — a batch-norm's
// num_batches_tracked, an ONNX Reshape's shape, integer npz or safetensors
// entries — are not dropped: they are in File.Ints, as int64, by name and in
// file order.
//
// # Formats
//
// npz (numpy.savez, savez_compressed): each member NAME.npy is tensor NAME.
// dtypes f2, f4, f8, integers and bool, either byte order; Fortran-order
// arrays are transposed to C order. Object arrays are refused (they are
// pickles).
//
// safetensors: the 8-byte little-endian header length, the JSON header
// ({name: {dtype, shape, data_offsets}}, optional __metadata__, kept in
// File.Metadata), the data. dtypes F64, F32, F16, BF16, I64…I8, U64…U8,
// BOOL. Tensors are listed in the order of their data.
//
// PyTorch (.pth, .pt, .bin, .ckpt): torch.save files in the zip format
// (PyTorch 1.6 and later: archive/data.pkl and archive/data/N storages) and
// in the legacy format (pickles followed by raw storages). The file may hold
// a state_dict (a dict of tensors) or a checkpoint dict with the state_dict
// under "state_dict" or "model"; a "module." prefix (DataParallel) is
// removed from names; entries that are not tensors (epoch, optimizer
// settings) are skipped. Tensors are copied out in C order whatever their
// storage offset and strides (a transposed view saved as-is reads as the
// transposed values).
//
// ONNX: decoded field by field from onnx.proto field numbers. Initializers
// in raw_data, in typed fields (float_data, double_data, int32_data,
// int64_data, packed or not) or in external data files. File.Graph lists the
// graph's inputs (those that are not initializers), outputs and nodes (op
// type, inputs, outputs, attributes), just enough to turn a chain of layers
// into an architecture.
//
// # Never executing anything
//
// A PyTorch file is a Python pickle, and a pickle is a program: unpickled by
// Python, it may call any function (os.system, builtins.eval) by naming it.
// This package never runs a pickle that way. Its opcodes are first walked
// without running anything, checking every length against the bytes left
// and every class a GLOBAL names; then github.com/nlpodyssey/gopickle builds
// Go values from it, resolving the names it meets through an allow-list that
// holds only what a tensor file needs:
//
//	collections.OrderedDict
//	torch._utils._rebuild_tensor_v2, torch._utils._rebuild_tensor
//	torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state
//	torch.FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage,
//	LongStorage, IntStorage, ShortStorage, CharStorage, ByteStorage, BoolStorage
//
// Each resolves to an inert Go value that records its arguments. Any other
// name is an error naming it (so are the modules copy_reg and __builtin__,
// which gopickle would resolve itself without asking):
//
//	x.pth: data.pkl asks for class posix.system; a weight file only needs torch tensors and dicts
//
// A checkpoint that pickles other objects (an argparse.Namespace of
// training arguments, NumPy scalars) is refused for the same reason; save
// model.state_dict() instead, or load it in Python and re-save it as
// safetensors. TorchScript archives (torch.jit.save) are refused too.
//
// # What else is refused, and why
//
// Every count, length, offset and shape is checked against the bytes that
// are really there before anything is allocated, so memory use stays
// proportional to the file's size (plus, for ONNX, its external data):
//
//   - truncated files, and headers, offsets or dims that point past the
//     data or disagree with dtype × shape;
//   - shapes whose element count overflows (more than 2^56 elements) or
//     has negative dimensions;
//   - safetensors tensors whose data overlap, headers over 100 MB;
//   - zip members that claim more bytes than their compressed size allows
//     (deflate expands at most about 1000:1);
//   - PyTorch tensors whose strides and offset reach outside their storage,
//     and files whose tensors together hold more than two elements per byte
//     of the file (views sharing a storage could otherwise multiply it);
//   - ONNX external data whose location leaves the model's folder (an
//     absolute path, "..", or a symbolic link out of it), whose region runs
//     past the data file, or whose regions overlap;
//   - unknown dtypes (complex, strings, 8-bit floats), big-endian PyTorch
//     files, pre-0.4 tar-format PyTorch files, segmented ONNX tensors.
//
// Errors name the file and the tensor, member or key concerned. A panic
// inside a reader (in this package or in gopickle) is turned into an error:
// hostile input never crashes the caller. Fuzz targets (FuzzReadTorch,
// FuzzReadSafetensors, FuzzReadONNX, FuzzReadNpz) exercise this.
//
// # Writing
//
// WriteSafetensors and WriteNpz write Arrays as float32 ("F32", '<f4') in
// Names order, atomically: a temporary file in the same folder, fsync,
// rename. Reading a written safetensors file gives back the same bits, and
// writing it again the same bytes. WriteNpz writes what numpy.savez writes
// (uncompressed, format 1.0 headers), which numpy.load reads.
//
// # zfnet's own archives
//
// WriteArchive and ReadArchive are the .npz container zfnet's model package
// saves weights, checkpoints and feature files in: WriteArchive writes
// Members in order (float32 arrays as NAME.npy, or raw bytes verbatim, such
// as a checkpoint's state.json), so the same members always give the same
// bytes; ReadArchive reads like ReadNpz but keeps the members that are not
// .npy arrays in Archive.Raw. The model package sees only the
// format-neutral Arrays (name, shape, float32 data, DType) and checks them
// all or nothing against its parameters; no NumPy dtype string reaches it.
//
// # Test fixtures
//
// testdata/gen_fixtures.py (run with /usr/bin/python3 and Debian's
// python3-torch, python3-onnx, python3-numpy) writes the small files the
// tests read, and the values they must give as .npy under testdata/expect.
package weights
