package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pkg/errors"
	"github.com/zfnet/zfnet/data/npyfmt"
)

// Format names the on-disk format in the manifest; Version is the version
// this package writes and the only one it reads.
const (
	Format   = "zfnet-activation-index"
	Version  = 1
	MaxK     = 100
	Manifest = "index.json"
)

// Mode says what competes for a unit's K places.
type Mode string

const (
	// PerImage keeps one entry per example and unit: the unit's strongest
	// position in that example (the first on a tie). The paper's choice:
	// nine different images per feature map.
	PerImage Mode = "image"
	// PerPosition lets every position compete, so one example may hold
	// several of a unit's places.
	PerPosition Mode = "position"
)

// Validate checks that m is one of the modes.
func (m Mode) Validate() error {
	if m != PerImage && m != PerPosition {
		return errors.Errorf("index: mode %q; expected %q or %q", string(m), PerImage, PerPosition)
	}
	return nil
}

func (m Mode) code() byte {
	if m == PerPosition {
		return 2
	}
	return 1
}

func modeOf(c byte) (Mode, bool) {
	switch c {
	case 1:
		return PerImage, true
	case 2:
		return PerPosition, true
	}
	return "", false
}

// Header is what an index is of: everything two indexes must share to be
// merged, and what a resumed build must find in its checkpoint.
type Header struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Model identifies the network and its input pipeline: the
	// architecture's name and a SHA-256 over its parameters, the
	// preprocessing and the mean (see Fingerprint).
	Arch        string `json:"arch"`
	Fingerprint string `json:"fingerprint"`
	// Source is the data set's name and size (all examples, not a shard's).
	Source   string `json:"source"`
	Examples int    `json:"examples"`
	// Batch is the forward pass's batch size; shards and the unsharded
	// build share batch boundaries (a shard is a run of whole batches).
	Batch  int     `json:"batch"`
	Mode   Mode    `json:"mode"`
	K      int     `json:"k"`
	Layers []Layer `json:"layers"`
}

// Layer describes one indexed layer.
type Layer struct {
	Name string `json:"name"` // as asked: conv3 (its rectified output), pool5, fc6, ...
	// Output is the model layer whose output is indexed (relu3 for conv3).
	Output string `json:"output"`
	Units  int    `json:"units"`
	// Height, Width of each unit's map (1, 1 for fully connected layers).
	Height int `json:"height"`
	Width  int `json:"width"`
	// Field is the side of a position's receptive field in input pixels.
	Field int `json:"field"`
}

// Shard says which part of the source an index covers.
type Shard struct {
	Index int `json:"index"` // 0-based
	Count int `json:"count"`
	// From, To: the examples [From, To) of the source.
	From int `json:"from"`
	To   int `json:"to"`
}

// Example is an example that holds at least one place.
type Example struct {
	Index int    `json:"index"`
	Path  string `json:"path"`
	Label int    `json:"label"`
}

// manifest is index.json.
type manifest struct {
	Header
	Shard      Shard             `json:"shard"`
	Files      map[string]string `json:"files"` // file name -> SHA-256 (hex)
	Referenced []Example         `json:"referenced_examples"`
}

// Index is a built index: for every layer and unit, the K best entries.
type Index struct {
	Header
	Shard Shard
	// Entries[l][u] is unit u of layer l, best first; at most K.
	Entries [][][]Entry
	// Boxes[l][u][j] is the receptive-field window (x0, y0, x1, y1,
	// half-open, in input pixels, reaching outside the input at borders) of
	// Entries[l][u][j].
	Boxes [][][][4]int
	// Referenced lists every example some entry refers to, by index.
	Referenced []Example
}

// Example finds an example by index.
func (ix *Index) Example(i int) (Example, bool) {
	j, ok := slices.BinarySearchFunc(ix.Referenced, i, func(e Example, i int) int { return e.Index - i })
	if !ok {
		return Example{}, false
	}
	return ix.Referenced[j], true
}

// LayerIndex finds a layer by name (as asked or as its output), -1 if absent.
func (ix *Index) LayerIndex(name string) int {
	for i, l := range ix.Layers {
		if l.Name == name || l.Output == name {
			return i
		}
	}
	return -1
}

func fileNames(layer string) (values, examples, positions, boxes string) {
	return layer + ".values.npy", layer + ".examples.npy", layer + ".positions.npy", layer + ".boxes.npy"
}

// encode renders the index's files, name -> bytes.
func (ix *Index) encode() (map[string][]byte, error) {
	files := map[string][]byte{}
	k := ix.K
	for li, l := range ix.Layers {
		vals := make([]float32, l.Units*k)
		exs := make([]int64, l.Units*k)
		pos := make([]int32, l.Units*k*2)
		boxes := make([]int32, l.Units*k*4)
		for i := range exs {
			exs[i] = -1
		}
		for i := range pos {
			pos[i] = -1
		}
		for u, es := range ix.Entries[li] {
			if len(es) > k {
				return nil, errors.Errorf("index: %s unit %d has %d entries; k is %d", l.Name, u, len(es), k)
			}
			for j, e := range es {
				o := u*k + j
				vals[o], exs[o] = e.Value, int64(e.Example)
				pos[2*o], pos[2*o+1] = int32(e.Y), int32(e.X)
				b := ix.Boxes[li][u][j]
				for c := 0; c < 4; c++ {
					boxes[4*o+c] = int32(b[c])
				}
			}
		}
		fv, fe, fp, fb := fileNames(l.Name)
		files[fv] = npyBytes(npyfmt.Float32, []int{l.Units, k}, vals)
		files[fe] = npyBytes(npyfmt.Int64, []int{l.Units, k}, exs)
		files[fp] = npyBytes(npyfmt.Int32, []int{l.Units, k, 2}, pos)
		files[fb] = npyBytes(npyfmt.Int32, []int{l.Units, k, 4}, boxes)
	}
	m := manifest{Header: ix.Header, Shard: ix.Shard, Files: map[string]string{}, Referenced: ix.Referenced}
	if m.Referenced == nil {
		m.Referenced = []Example{}
	}
	for name, b := range files {
		sum := sha256.Sum256(b)
		m.Files[name] = hex.EncodeToString(sum[:])
	}
	j, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, errors.Wrap(err, "index: manifest")
	}
	files[Manifest] = append(j, '\n')
	return files, nil
}

// Write writes the index into the folder dir, atomically: the files go
// into a temporary folder beside dir, which replaces dir only when all are
// written and synced. An existing dir is replaced only when it is an index
// (it holds index.json) or empty.
func Write(dir string, ix *Index) error {
	if err := ix.check(); err != nil {
		return err
	}
	files, err := ix.encode()
	if err != nil {
		return err
	}
	return writeDirAtomic(dir, files)
}

func writeDirAtomic(dir string, files map[string][]byte) error {
	dir = filepath.Clean(dir)
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return errors.Errorf("index: %s exists and is not a folder", dir)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return errors.Wrap(err, "index")
		}
		if len(ents) > 0 {
			if _, err := os.Stat(filepath.Join(dir, Manifest)); err != nil {
				return errors.Errorf("index: %s is a folder that is not empty and holds no %s; refusing to replace it", dir, Manifest)
			}
		}
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return errors.Wrap(err, "index")
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp*")
	if err != nil {
		return errors.Wrap(err, "index: temporary folder")
	}
	defer os.RemoveAll(tmp) // nothing left after the rename
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := writeSynced(filepath.Join(tmp, n), files[n]); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return errors.Wrap(err, "index")
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return errors.Wrapf(err, "index: moving the previous %s aside", dir)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return errors.Wrapf(err, "index: renaming %s to %s", tmp, dir)
	}
	syncDir(parent)
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return errors.Wrap(err, "index")
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return errors.Wrapf(err, "index: writing %s", path)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return errors.Wrapf(err, "index: syncing %s", path)
	}
	return errors.Wrapf(f.Close(), "index: closing %s", path)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// check validates the header and the entries' shapes and order.
func (ix *Index) check() error {
	h := ix.Header
	if h.Format != Format || h.Version != Version {
		return errors.Errorf("index: format %q version %d; this zfnet reads %q version %d", h.Format, h.Version, Format, Version)
	}
	if err := h.Mode.Validate(); err != nil {
		return err
	}
	if h.K < 1 || h.K > MaxK {
		return errors.Errorf("index: k = %d; expected 1 to %d", h.K, MaxK)
	}
	if h.Examples < 1 || h.Batch < 1 || len(h.Layers) == 0 {
		return errors.Errorf("index: %d examples, batch %d, %d layers; expected at least 1 of each", h.Examples, h.Batch, len(h.Layers))
	}
	s := ix.Shard
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count || s.From < 0 || s.From > s.To || s.To > h.Examples {
		return errors.Errorf("index: shard %d/%d covering examples [%d, %d) of %d is not a valid shard", s.Index, s.Count, s.From, s.To, h.Examples)
	}
	if len(ix.Entries) != len(h.Layers) || len(ix.Boxes) != len(h.Layers) {
		return errors.Errorf("index: entries for %d layers, boxes for %d; the header names %d", len(ix.Entries), len(ix.Boxes), len(h.Layers))
	}
	seen := map[string]bool{}
	for li, l := range h.Layers {
		if l.Name == "" || strings.ContainsAny(l.Name, `/\`) || seen[l.Name] || l.Units < 1 || l.Height < 1 || l.Width < 1 {
			return errors.Errorf("index: layer %d (%q, %d units of %dx%d) is not valid or named twice", li, l.Name, l.Units, l.Height, l.Width)
		}
		seen[l.Name] = true
		if len(ix.Entries[li]) != l.Units || len(ix.Boxes[li]) != l.Units {
			return errors.Errorf("index: layer %s has entries for %d units; expected %d", l.Name, len(ix.Entries[li]), l.Units)
		}
		for u, es := range ix.Entries[li] {
			if len(es) > h.K || len(ix.Boxes[li][u]) != len(es) {
				return errors.Errorf("index: layer %s unit %d has %d entries and %d boxes; expected at most k = %d of each, as many boxes as entries", l.Name, u, len(es), len(ix.Boxes[li][u]), h.K)
			}
			for j, e := range es {
				if !(e.Value > 0) || math.IsInf(float64(e.Value), 0) || e.Example < s.From || e.Example >= s.To ||
					e.Y < 0 || e.Y >= l.Height || e.X < 0 || e.X >= l.Width {
					return errors.Errorf("index: layer %s unit %d entry %d (value %g, example %d, position (%d, %d)) is out of range", l.Name, u, j, e.Value, e.Example, e.Y, e.X)
				}
				if j > 0 && !Better(es[j-1], e) {
					return errors.Errorf("index: layer %s unit %d: entries %d and %d are out of order", l.Name, u, j-1, j)
				}
				if _, ok := ix.Example(e.Example); !ok {
					return errors.Errorf("index: layer %s unit %d entry %d refers to example %d, which the example list lacks", l.Name, u, j, e.Example)
				}
			}
		}
	}
	for i := 1; i < len(ix.Referenced); i++ {
		if ix.Referenced[i].Index <= ix.Referenced[i-1].Index {
			return errors.New("index: the example list is not in increasing index order")
		}
	}
	return nil
}

// Read reads and checks the index in dir: the manifest's format and
// version, every file's checksum (a corrupt or truncated file is an
// error naming it) and the entries' ranges and order.
func Read(dir string) (*Index, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	ix := &Index{Header: m.Header, Shard: m.Shard, Referenced: m.Referenced}
	want := map[string]bool{}
	for _, l := range m.Layers {
		if l.Units < 1 || l.Units > 1<<24 || m.K < 1 || m.K > MaxK {
			return nil, errors.Errorf("index %s: layer %s has %d units at k = %d; not a valid index", dir, l.Name, l.Units, m.K)
		}
		fv, fe, fp, fb := fileNames(l.Name)
		for _, f := range []string{fv, fe, fp, fb} {
			want[f] = true
		}
		ents, boxes, err := readLayer(dir, m, l)
		if err != nil {
			return nil, err
		}
		ix.Entries = append(ix.Entries, ents)
		ix.Boxes = append(ix.Boxes, boxes)
	}
	for f := range m.Files {
		if !want[f] {
			return nil, errors.Errorf("index %s: the manifest lists %s, which belongs to no layer", dir, f)
		}
	}
	if len(m.Files) != len(want) {
		return nil, errors.Errorf("index %s: the manifest lists %d files; its layers have %d", dir, len(m.Files), len(want))
	}
	if err := ix.check(); err != nil {
		return nil, errors.Wrapf(err, "index %s", dir)
	}
	return ix, nil
}

// readManifest reads and checks dir's index.json (format and version).
func readManifest(dir string) (*manifest, error) {
	raw, err := os.ReadFile(filepath.Join(dir, Manifest))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, errors.Errorf("index %s: no %s: not an activation index (zfnet index build writes one)", dir, Manifest)
		}
		return nil, errors.Wrapf(err, "index %s", dir)
	}
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, errors.Errorf("index %s: %s is corrupt or truncated: %v", dir, Manifest, err)
	}
	if m.Format != Format {
		return nil, errors.Errorf("index %s: %s says format %q; expected %q", dir, Manifest, m.Format, Format)
	}
	if m.Version != Version {
		return nil, errors.Errorf("index %s: format version %d; this zfnet reads version %d", dir, m.Version, Version)
	}
	return &m, nil
}

// readLayer reads layer l's four arrays, each checked against the
// manifest's SHA-256, into its units' entries and boxes (a unit's row
// ends at its first example -1).
func readLayer(dir string, m *manifest, l Layer) ([][]Entry, [][][4]int, error) {
	fv, fe, fp, fb := fileNames(l.Name)
	read := func(name, descr string, shape []int) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, errors.Wrapf(err, "index %s", dir)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != m.Files[name] {
			return nil, errors.Errorf("index %s: %s is corrupt or truncated (its SHA-256 differs from the manifest's)", dir, name)
		}
		return parseNpy(b, descr, shape)
	}
	k := m.K
	bv, err := read(fv, npyfmt.Float32, []int{l.Units, k})
	if err != nil {
		return nil, nil, err
	}
	be, err := read(fe, npyfmt.Int64, []int{l.Units, k})
	if err != nil {
		return nil, nil, err
	}
	bp, err := read(fp, npyfmt.Int32, []int{l.Units, k, 2})
	if err != nil {
		return nil, nil, err
	}
	bb, err := read(fb, npyfmt.Int32, []int{l.Units, k, 4})
	if err != nil {
		return nil, nil, err
	}
	i32 := func(b []byte, i int) int { return int(int32(binary.LittleEndian.Uint32(b[4*i:]))) }
	ents := make([][]Entry, l.Units)
	boxes := make([][][4]int, l.Units)
	for u := 0; u < l.Units; u++ {
		for j := 0; j < k; j++ {
			o := u*k + j
			ex := int(int64(binary.LittleEndian.Uint64(be[8*o:])))
			if ex < 0 {
				break
			}
			ents[u] = append(ents[u], Entry{Value: math.Float32frombits(binary.LittleEndian.Uint32(bv[4*o:])), Example: ex, Y: i32(bp, 2*o), X: i32(bp, 2*o+1)})
			boxes[u] = append(boxes[u], [4]int{i32(bb, 4*o), i32(bb, 4*o+1), i32(bb, 4*o+2), i32(bb, 4*o+3)})
		}
	}
	return ents, boxes, nil
}

// npyBytes encodes a little-endian array as NumPy format 1.0 with
// npyfmt's header (the bytes numpy writes). An index's arrays have at most
// three dimensions, far from the header's size limit, so Header cannot
// fail here.
func npyBytes[T float32 | int32 | int64](descr string, shape []int, v []T) []byte {
	hdr, err := npyfmt.Header(descr, shape)
	if err != nil {
		panic(err) // unreachable: see above
	}
	var buf bytes.Buffer
	buf.Write(hdr)
	binary.Write(&buf, binary.LittleEndian, v)
	return buf.Bytes()
}

// parseNpy checks an .npy file's header against what the index wrote and
// returns its data.
func parseNpy(b []byte, descr string, shape []int) ([]byte, error) {
	if len(b) < 10 || string(b[:8]) != "\x93NUMPY\x01\x00" {
		return nil, errors.New("not a NumPy 1.0 .npy file")
	}
	hl := int(binary.LittleEndian.Uint16(b[8:]))
	if len(b) < 10+hl {
		return nil, errors.New("truncated .npy header")
	}
	want := npyBytes[int32](descr, shape, nil)
	if !bytes.Equal(b[:10+hl], want) {
		return nil, errors.Errorf(".npy header %q; expected %q", strings.TrimSpace(string(b[10:10+hl])), strings.TrimSpace(string(want[10:])))
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	size := 4
	if descr == npyfmt.Int64 {
		size = 8
	}
	if len(b)-10-hl != n*size {
		return nil, errors.Errorf(".npy data of %d bytes; expected %d", len(b)-10-hl, n*size)
	}
	return b[10+hl:], nil
}
