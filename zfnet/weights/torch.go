package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"os"
	zpath "path"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// PyTorch torch.save files. The pickle inside is run by gopickle's
// unpickler, which builds Go values and calls nothing but the Go types this
// file hands it through FindClass: the allow-list below. Storages are
// not read by the unpickler; persistent ids become storageRefs, read and
// bounds-checked afterwards.

// storageDtypes are the storage classes a tensor file may name.
var storageDtypes = map[string]string{
	"FloatStorage": "float32", "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
	"DoubleStorage": "float64", "LongStorage": "int64", "IntStorage": "int32",
	"ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
	"BoolStorage": "bool",
}

// torchAllowed says whether a pickle may name module.name.
func torchAllowed(module, name string) bool {
	switch module + "." + name {
	case "collections.OrderedDict",
		"torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
		"torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return true
	}
	return module == "torch" && storageDtypes[name] != ""
}

// torchFindClass maps the allowed classes to inert Go values.
func torchFindClass(module, name string) (interface{}, error) {
	if !torchAllowed(module, name) {
		return nil, errClass(module, name)
	}
	switch name {
	case "_rebuild_tensor_v2", "_rebuild_tensor":
		return rebuildTensor{}, nil
	case "_rebuild_parameter", "_rebuild_parameter_with_state":
		return rebuildParameter{}, nil
	case "OrderedDict":
		return &types.OrderedDictClass{}, nil
	}
	return &storageClass{name: name, dtype: storageDtypes[name]}, nil
}

type storageClass struct{ name, dtype string }

// storageRef is a storage a tensor points into: its dtype, key (the zip
// member data/KEY, or the legacy root key) and element count.
type storageRef struct {
	dtype string
	key   string
	numel int
	data  []byte // filled after unpickling
}

type tensorRef struct {
	storage *storageRef
	offset  int
	shape   []int
	stride  []int
}

type rebuildTensor struct{}

// Call is _rebuild_tensor_v2(storage, storage_offset, size, stride,
// requires_grad, backward_hooks[, metadata]) or _rebuild_tensor(storage,
// storage_offset, size, stride).
func (rebuildTensor) Call(args ...interface{}) (interface{}, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments, expected at least 4", len(args))
	}
	s, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: first argument is %T, not a storage", args[0])
	}
	off, ok := pyInt(args[1])
	if !ok || off < 0 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset %v is not a non-negative int", args[1])
	}
	shape, ok := pyInts(args[2])
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size %v is not a tuple of ints", args[2])
	}
	stride, ok := pyInts(args[3])
	if !ok || len(stride) != len(shape) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: stride %v does not match size %v", args[3], shape)
	}
	return &tensorRef{storage: s, offset: off, shape: shape, stride: stride}, nil
}

type rebuildParameter struct{}

// Call is _rebuild_parameter(data, requires_grad, backward_hooks): the
// parameter is its tensor.
func (rebuildParameter) Call(args ...interface{}) (interface{}, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter without arguments")
	}
	if _, ok := args[0].(*tensorRef); !ok {
		return nil, fmt.Errorf("_rebuild_parameter of %T, not a tensor", args[0])
	}
	return args[0], nil
}

func pyInt(v interface{}) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case *big.Int:
		if x.IsInt64() && x.Int64() >= -maxElems && x.Int64() <= maxElems {
			return int(x.Int64()), true
		}
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func pyInts(v interface{}) ([]int, bool) {
	var items []interface{}
	switch x := v.(type) {
	case *types.Tuple:
		items = *x
	case *types.List:
		items = *x
	default:
		return nil, false
	}
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := pyInt(it)
		if !ok || n < 0 || n > maxElems {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// storageFromPid turns a persistent id ('storage', StorageClass, key,
// location, numel[, view_metadata]) into a storageRef, one per key.
func storageFromPid(pid interface{}, storages map[string]*storageRef) (*storageRef, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() < 5 {
		return nil, fmt.Errorf("persistent id %v is not a ('storage', class, key, location, numel) tuple", pid)
	}
	if s, _ := t.Get(0).(string); s != "storage" {
		return nil, fmt.Errorf("persistent id of type %v, expected 'storage'", t.Get(0))
	}
	cls, ok := t.Get(1).(*storageClass)
	if !ok {
		return nil, fmt.Errorf("persistent id names %T, not a storage class", t.Get(1))
	}
	key, ok := t.Get(2).(string)
	if !ok {
		return nil, fmt.Errorf("persistent id key %v is not a string", t.Get(2))
	}
	n, ok := pyInt(t.Get(4))
	if !ok || n < 0 {
		return nil, fmt.Errorf("storage %s: size %v is not a non-negative int", key, t.Get(4))
	}
	if t.Len() >= 6 && t.Get(5) != nil {
		return nil, fmt.Errorf("storage %s: storage views (pre-0.4 files) are not supported", key)
	}
	if s := storages[key]; s != nil {
		if s.dtype != cls.dtype || s.numel != n {
			return nil, fmt.Errorf("storage %s is named twice with different types or sizes", key)
		}
		return s, nil
	}
	s := &storageRef{dtype: cls.dtype, key: key, numel: n}
	storages[key] = s
	return s, nil
}

// unpickle scans and then runs one pickle from b, returning the value and
// the bytes consumed.
func unpickle(b []byte, persistent func(interface{}) (interface{}, error)) (v interface{}, n int, err error) {
	// gopickle indexes its stack without checking on some malformed
	// pickles (SETITEMS with an odd count): that is a malformed file.
	defer func() {
		if r := recover(); r != nil {
			v, n, err = nil, 0, fmt.Errorf("malformed pickle (the unpickler failed: %v)", r)
		}
	}()
	end, err := scanPickle(b, torchAllowed)
	if err != nil {
		return nil, 0, err
	}
	u := pickle.NewUnpickler(bytes.NewReader(b[:end]))
	u.FindClass = torchFindClass
	u.PersistentLoad = persistent
	v, err = u.Load()
	if err != nil {
		var ce *classError
		if errors.As(err, &ce) {
			return nil, 0, ce
		}
		return nil, 0, err
	}
	return v, end, nil
}

// ReadTorch reads a torch.save file: the zip format (PyTorch 1.6 and
// later) or the legacy format. It holds a state_dict (a dict of tensors) or
// a checkpoint dict holding one under "state_dict" or "model". Names lose a
// leading "module." (DataParallel). Float tensors (float32, float16,
// bfloat16, float64) become Arrays, copied out in C order whatever their
// strides; integer and bool tensors (num_batches_tracked) go to File.Ints;
// entries that are not tensors are skipped. The pickle may name only the
// classes a tensor file needs (see the package documentation); any other is
// refused before anything is built.
func ReadTorch(path string) (file *File, err error) {
	defer guard(path, &file, &err)
	head := make([]byte, 4)
	if f, err := os.Open(path); err != nil {
		return nil, err
	} else {
		f.Read(head)
		f.Close()
	}
	if string(head) == "PK\x03\x04" || string(head) == "PK\x05\x06" {
		return readTorchZip(path)
	}
	return readTorchLegacy(path)
}

func readTorchZip(path string) (*File, error) {
	z, size, err := openZip(path)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	var pkl *zip.File
	members := map[string]*zip.File{}
	for _, m := range z.File {
		members[m.Name] = m
		if zpath.Base(m.Name) == "data.pkl" && pkl == nil {
			pkl = m
		}
		if zpath.Base(m.Name) == "constants.pkl" {
			return nil, fmt.Errorf("%s: a TorchScript archive (%s), not a torch.save file: save model.state_dict() instead", path, m.Name)
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("%s: a zip without data.pkl: not a torch.save file", path)
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if m := members[prefix+"byteorder"]; m != nil {
		if b, err := readMember(m, size); err == nil && strings.TrimSpace(string(b)) == "big" {
			return nil, fmt.Errorf("%s: written on a big-endian machine (%sbyteorder), not supported", path, prefix)
		}
	}
	b, err := readMember(pkl, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", path, pkl.Name, err)
	}
	storages := map[string]*storageRef{}
	v, _, err := unpickle(b, func(pid interface{}) (interface{}, error) {
		return storageFromPid(pid, storages)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %s %v", path, zpath.Base(pkl.Name), pickleMsg(err))
	}
	for _, s := range sortedStorages(storages) {
		name := prefix + "data/" + s.key
		m := members[name]
		if m == nil {
			return nil, fmt.Errorf("%s: storage %s: member %s is missing", path, s.key, name)
		}
		need := uint64(s.numel) * uint64(dtypeSize[s.dtype])
		if m.UncompressedSize64 < need {
			return nil, fmt.Errorf("%s: member %s holds %d bytes, its %d-element %s storage needs %d", path, name, m.UncompressedSize64, s.numel, s.dtype, need)
		}
		if s.data, err = readMember(m, size); err != nil {
			return nil, fmt.Errorf("%s: member %s: %v", path, name, err)
		}
	}
	return torchFile(path, v, size)
}

// pickleMsg phrases an unpickling error after "data.pkl ".
func pickleMsg(err error) string {
	var ce *classError
	if errors.As(err, &ce) {
		return ce.Error()
	}
	return "is not a readable pickle: " + err.Error()
}

func sortedStorages(m map[string]*storageRef) []*storageRef {
	out := make([]*storageRef, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// readTorchLegacy reads the pre-1.6 format: pickles of the magic number, the
// protocol version (1001), system info and the object, then a pickled list
// of storage keys, then for each key an 8-byte element count and the data.
func readTorchLegacy(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, legacyTorchMagic) {
		if len(b) > 262 && string(b[257:262]) == "ustar" {
			return nil, fmt.Errorf("%s: a tar-format torch.save file (PyTorch before 0.4) is not supported", path)
		}
		return nil, fmt.Errorf("%s: not a torch.save file (neither a zip nor the legacy pickle magic)", path)
	}
	noStorage := func(interface{}) (interface{}, error) { return nil, fmt.Errorf("persistent id in a header pickle") }
	off := 0
	var sysInfo interface{}
	for i, what := range []string{"magic number", "protocol version", "system info"} {
		v, n, err := unpickle(b[off:], noStorage)
		if err != nil {
			return nil, fmt.Errorf("%s: legacy %s pickle: %v", path, what, err)
		}
		off += n
		if i == 1 {
			if p, _ := v.(int); p != 1001 {
				return nil, fmt.Errorf("%s: legacy protocol version %v, expected 1001", path, v)
			}
		}
		sysInfo = v
	}
	if d, ok := sysInfo.(*types.Dict); ok {
		for _, e := range *d {
			if k, _ := e.Key.(string); k == "little_endian" && e.Value == false {
				return nil, fmt.Errorf("%s: written on a big-endian machine, not supported", path)
			}
		}
	}
	storages := map[string]*storageRef{}
	v, n, err := unpickle(b[off:], func(pid interface{}) (interface{}, error) {
		return storageFromPid(pid, storages)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: the pickle %s", path, pickleMsg(err))
	}
	off += n
	keys, n, err := unpickle(b[off:], noStorage)
	if err != nil {
		return nil, fmt.Errorf("%s: the storage key list: %v", path, err)
	}
	off += n
	list, ok := keys.(*types.List)
	if !ok {
		return nil, fmt.Errorf("%s: the storage key list is a %T", path, keys)
	}
	for _, k := range *list {
		key, _ := k.(string)
		s := storages[key]
		if s == nil {
			return nil, fmt.Errorf("%s: storage key %v is not used by any tensor", path, k)
		}
		if s.data != nil {
			return nil, fmt.Errorf("%s: storage %s appears twice", path, key)
		}
		if len(b)-off < 8 {
			return nil, fmt.Errorf("%s: storage %s: truncated before its size", path, key)
		}
		cnt := binary.LittleEndian.Uint64(b[off:])
		off += 8
		es := uint64(dtypeSize[s.dtype])
		if cnt != uint64(s.numel) || cnt > uint64(len(b)-off)/es {
			return nil, fmt.Errorf("%s: storage %s: %d elements of %s, the pickle says %d and %d bytes are left", path, key, cnt, s.dtype, s.numel, len(b)-off)
		}
		s.data = b[off : off+int(cnt*es)]
		off += int(cnt * es)
	}
	for _, s := range sortedStorages(storages) {
		if s.data == nil {
			return nil, fmt.Errorf("%s: storage %s has no data", path, s.key)
		}
	}
	return torchFile(path, v, int64(len(b)))
}

// dictEntries lists a pickled dict's entries in order.
func dictEntries(v interface{}) ([][2]interface{}, bool) {
	var out [][2]interface{}
	switch d := v.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			ent := e.Value.(*types.OrderedDictEntry)
			out = append(out, [2]interface{}{ent.Key, ent.Value})
		}
	case *types.Dict:
		for _, e := range *d {
			out = append(out, [2]interface{}{e.Key, e.Value})
		}
	default:
		return nil, false
	}
	return out, true
}

// torchFile finds the state_dict in the unpickled value and copies its
// tensors out.
func torchFile(path string, v interface{}, fileSize int64) (*File, error) {
	entries, ok := dictEntries(v)
	if !ok {
		if _, isTensor := v.(*tensorRef); isTensor {
			entries = [][2]interface{}{{"tensor", v}}
		} else {
			return nil, fmt.Errorf("%s: holds a %T, not a dict of tensors (a state_dict)", path, v)
		}
	}
	for _, key := range []string{"state_dict", "model"} {
		found := false
		for _, e := range entries {
			if k, _ := e[0].(string); k == key {
				if inner, ok := dictEntries(e[1]); ok {
					entries, found = inner, true
				}
				break
			}
		}
		if found {
			break
		}
	}
	file := newFile(path, "pth")
	// Budget: all tensors together may not hold more elements than twice
	// the file's bytes (storages shared between many views could otherwise
	// make a small file allocate without bound).
	budget := 2*fileSize + 1<<16
	var keys []string
	for _, e := range entries {
		t, ok := e[1].(*tensorRef)
		if !ok {
			continue
		}
		k, ok := e[0].(string)
		if !ok {
			return nil, fmt.Errorf("%s: a tensor under key %v, not a string", path, e[0])
		}
		name := strings.TrimPrefix(k, "module.")
		n, err := numel(t.shape)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", path, k, err)
		}
		if budget -= int64(n); budget < 0 {
			return nil, fmt.Errorf("%s: tensor %q: the tensors hold more elements than a file of %d bytes can justify", path, k, fileSize)
		}
		raw, err := t.contiguous()
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", path, k, err)
		}
		if err := file.add(name, t.storage.dtype, t.shape, raw, false); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", path, k, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no tensors found", path)
	}
	return file, nil
}

// contiguous copies the tensor's elements out of its storage in C order,
// checking every index against the storage first.
func (t *tensorRef) contiguous() ([]byte, error) {
	s := t.storage
	es := dtypeSize[s.dtype]
	n, err := numel(t.shape)
	if err != nil {
		return nil, err
	}
	avail := len(s.data) / es
	if s.numel < avail {
		avail = s.numel
	}
	if n == 0 {
		return nil, nil
	}
	last := t.offset // index of the last element
	for i, d := range t.shape {
		st := t.stride[i]
		if st > 0 && d-1 > (avail-last)/st {
			return nil, fmt.Errorf("size %v, stride %v and offset %d reach past its %d-element storage", t.shape, t.stride, t.offset, avail)
		}
		last += (d - 1) * st
	}
	if last >= avail {
		return nil, fmt.Errorf("size %v, stride %v and offset %d reach past its %d-element storage", t.shape, t.stride, t.offset, avail)
	}
	// Contiguous: the storage's bytes themselves (decoded, not kept).
	c := 1
	contig := true
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.stride[i] != c {
			contig = false
		}
		c *= t.shape[i]
	}
	if contig {
		return s.data[t.offset*es : (t.offset+n)*es], nil
	}
	out := make([]byte, n*es)
	idx := make([]int, len(t.shape))
	src := t.offset
	for k := 0; k < n; k++ {
		copy(out[k*es:(k+1)*es], s.data[src*es:(src+1)*es])
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			src += t.stride[i]
			if idx[i] < t.shape[i] {
				break
			}
			src -= t.stride[i] * t.shape[i]
			idx[i] = 0
		}
	}
	return out, nil
}
