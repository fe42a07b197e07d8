// Package index builds, merges and reads activation indexes: for every
// unit (feature map, or fully connected unit) of chosen layers, the K
// strongest activations over a data set of any size, with the example,
// the position and the receptive field of each. The paper's Fig. 2 (top 9
// per feature map over the validation set) and Fig. 4 (the strongest over
// the training set, per snapshot) are read from one: Index.TopK draws a
// layer's grids re-running the forward pass only for the examples the
// index names, and warns where a recomputed activation differs from the
// stored one.
//
// # Selection
//
// Two modes. PerImage ("image"): one entry per example and unit, the
// unit's strongest position in that example (the first, in row-major
// order, on a tie), so the K entries are K different examples, as in the
// paper's grids and the Deep Visualization Toolbox. PerPosition
// ("position"): every position competes.
//
// Only positive activations enter (a unit that does not fire says
// nothing), so a unit may have fewer than K entries, or none. A NaN
// activation is an error. Entries are ordered by value (larger first),
// then example index (lower first), then position (row, then column,
// lower first): a total order, so the K best form one set whatever the
// order examples arrive in. That is what makes shards, resumed builds and
// the Beam pipeline give the same bytes as one uninterrupted build.
//
// Memory is layers x units x K entries (20 bytes each) plus the loader's
// few batches, whatever the number of examples. The forward pass (a plain
// one: no deconvnet records) runs batch after batch; after each, the
// selection reads the layers' outputs in place, its units split over the
// cores, while the loader's workers decode the next batches.
//
// # Shards and checkpoints
//
// Shard i of n (ShardRange) is a contiguous run of whole batches of the
// unsharded stream, floor(i*B/n) to floor((i+1)*B/n) of the B batches, so
// each example is computed in the same batch, at the same row, as without
// shards (the same bits). Merge takes the shards' indexes (in any order),
// checks that they are of the same build and cover every example exactly
// once, and writes the unsharded index, byte for byte.
//
// A build with a checkpoint file saves its selection every N examples
// (whole batches) and on interruption, atomically; a build finding the
// checkpoint of the same index (same header and shard) continues after the
// last saved batch. A checkpoint of another build, or a damaged one, is an
// error, never silently discarded.
//
// # On-disk format, version 1
//
// An index is a folder, written atomically (a temporary folder beside it,
// renamed into place once every file is synced). Every file is a plain
// NumPy .npy (format 1.0, little-endian, C order) or JSON, so numpy.load
// and any JSON tool read it without zfnet:
//
//	index.json                 the manifest (below)
//	<layer>.values.npy         float32 (units, K)     activation values, best first
//	<layer>.examples.npy       int64   (units, K)     example index in the source; -1: no entry
//	<layer>.positions.npy      int32   (units, K, 2)  (y, x) in the layer's output; -1 where no entry
//	<layer>.boxes.npy          int32   (units, K, 4)  receptive field (x0, y0, x1, y1), half-open,
//	                                                  input pixels; reaches outside the input at borders
//
// Where a unit has fewer than K entries the rest of its row has value 0,
// example -1, position (-1, -1) and box (0, 0, 0, 0). <layer> is the name
// given at build time (conv3 means conv3's rectified output, "output":
// "relu3"; fc6 means relu6; pool and norm layers name themselves).
//
// index.json (one-space indented, keys in this order):
//
//	format        "zfnet-activation-index"
//	version       1 (a reader refuses other versions)
//	arch          the architecture's name
//	fingerprint   "sha256:<hex>" over the parameters, the preprocessing and the mean
//	source        the data set's name; examples: its size (all of it, not a shard's)
//	batch         the forward batch size (shards and merges must share it)
//	mode, k       "image" or "position"; places per unit (1 to 100)
//	layers        [{name, output, units, height, width, field}] in build order
//	shard         {index, count, from, to}: the examples [from, to) covered; a merged
//	              or unsharded index has {0, 1, 0, examples}
//	files         {file name: SHA-256 hex} of every .npy file (a reader checks them)
//	referenced_examples  [{index, path, label}] of every example an entry names, by index
//
// The manifest holds no time stamp or host name: equal selections give
// equal bytes. In Python:
//
//	import json, numpy as np
//	m = json.load(open("ix/index.json"))
//	v = np.load("ix/conv5.values.npy"); e = np.load("ix/conv5.examples.npy")
//	paths = {x["index"]: x["path"] for x in m["referenced_examples"]}
//	print(v[3], [paths.get(i) for i in e[3] if i >= 0])   # unit 3's top K
package index
