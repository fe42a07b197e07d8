package weights

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
)

// safetensors: 8-byte little-endian header length N, N bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {string: string}}, then the data; offsets are relative to the data.

// maxSafetensorsHeader is the header size the reference implementation
// accepts (100 MB).
const maxSafetensorsHeader = 100 << 20

var safetensorsDtypes = map[string]string{
	"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
	"I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
	"U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
}

type stEntry struct {
	name    string
	dtype   string
	shape   []int
	begin   int64
	end     int64
	ordinal int
}

// ReadSafetensors reads a .safetensors file. Tensors are listed in the
// order of their data in the file (for files WriteSafetensors wrote: the
// order of Names). Integer and bool tensors go to File.Ints.
func ReadSafetensors(path string) (file *File, err error) {
	defer guard(path, &file, &err)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	file, err = readSafetensors(f, st.Size(), path)
	return file, errPrefix(path, err)
}

func readSafetensors(r io.ReaderAt, size int64, path string) (*File, error) {
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("not a safetensors file: %d bytes, shorter than the 8-byte header length", size)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > uint64(size-8) {
		return nil, fmt.Errorf("safetensors header length %d runs past the end of the %d-byte file", hlen, size)
	}
	if hlen > maxSafetensorsHeader {
		return nil, fmt.Errorf("safetensors header length %d exceeds the 100 MB limit", hlen)
	}
	header := make([]byte, hlen)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("reading the safetensors header: %v", err)
	}
	dataStart := 8 + int64(hlen)
	dataLen := size - dataStart
	entries, meta, err := parseSafetensorsHeader(header, dataLen)
	if err != nil {
		return nil, err
	}
	file := newFile(path, "safetensors")
	file.Metadata = meta
	for _, e := range entries {
		raw := make([]byte, e.end-e.begin)
		if _, err := r.ReadAt(raw, dataStart+e.begin); err != nil {
			return nil, fmt.Errorf("tensor %q: reading %d bytes at data offset %d: %v", e.name, len(raw), e.begin, err)
		}
		if err := file.add(e.name, e.dtype, e.shape, raw, false); err != nil {
			return nil, fmt.Errorf("tensor %q: %v", e.name, err)
		}
	}
	return file, nil
}

// parseSafetensorsHeader validates the JSON header against dataLen bytes of
// data and returns the entries in data order.
func parseSafetensorsHeader(header []byte, dataLen int64) ([]stEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("safetensors header is not a JSON object")
	}
	var entries []stEntry
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors header: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("safetensors header: key %v is not a string", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("safetensors header: %q appears twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors header: __metadata__ is not a string-to-string object: %v", err)
			}
			continue
		}
		e, err := decodeSafetensorsEntry(dec, name, len(entries), dataLen)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("safetensors header: %v", err)
	}
	if err := sortDisjoint(entries); err != nil {
		return nil, nil, err
	}
	return entries, meta, nil
}

// decodeSafetensorsEntry reads tensor name's header entry (dtype, shape,
// data_offsets) and checks it: a known dtype, a shape within bounds, and
// offsets inside the dataLen bytes of data that hold exactly dtype x shape.
func decodeSafetensorsEntry(dec *json.Decoder, name string, ordinal int, dataLen int64) (stEntry, error) {
	var raw struct {
		Dtype       string        `json:"dtype"`
		Shape       []json.Number `json:"shape"`
		DataOffsets []json.Number `json:"data_offsets"`
	}
	e := stEntry{name: name, ordinal: ordinal}
	if err := dec.Decode(&raw); err != nil {
		return e, fmt.Errorf("tensor %q: malformed header entry: %v", name, err)
	}
	e.dtype = safetensorsDtypes[raw.Dtype]
	if e.dtype == "" {
		return e, fmt.Errorf("tensor %q: unknown or unsupported dtype %q", name, raw.Dtype)
	}
	if raw.Shape == nil {
		return e, fmt.Errorf("tensor %q: header entry has no shape", name)
	}
	e.shape = make([]int, len(raw.Shape))
	for i, d := range raw.Shape {
		v, err := strconv.ParseInt(string(d), 10, 64)
		if err != nil || v < 0 || v > maxElems {
			return e, fmt.Errorf("tensor %q: bad dimension %s in shape", name, d)
		}
		e.shape[i] = int(v)
	}
	n, err := numel(e.shape)
	if err != nil {
		return e, fmt.Errorf("tensor %q: %v", name, err)
	}
	if len(raw.DataOffsets) != 2 {
		return e, fmt.Errorf("tensor %q: data_offsets must be [begin, end]", name)
	}
	b, err1 := strconv.ParseInt(string(raw.DataOffsets[0]), 10, 64)
	en, err2 := strconv.ParseInt(string(raw.DataOffsets[1]), 10, 64)
	if err1 != nil || err2 != nil || b < 0 || en < b {
		return e, fmt.Errorf("tensor %q: bad data_offsets [%s, %s]", name, raw.DataOffsets[0], raw.DataOffsets[1])
	}
	if en > dataLen {
		return e, fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the %d bytes of data", name, b, en, dataLen)
	}
	if want := int64(n) * int64(dtypeSize[e.dtype]); en-b != want {
		return e, fmt.Errorf("tensor %q: data_offsets [%d, %d] hold %d bytes, %s %v needs %d", name, b, en, en-b, raw.Dtype, e.shape, want)
	}
	e.begin, e.end = b, en
	return e, nil
}

// sortDisjoint sorts entries by their data and refuses overlapping regions
// (which could make a small file read as many large tensors).
func sortDisjoint(entries []stEntry) error {
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].begin != entries[j].begin {
			return entries[i].begin < entries[j].begin
		}
		return entries[i].end < entries[j].end
	})
	for i := 1; i < len(entries); i++ {
		p, e := entries[i-1], entries[i]
		if e.begin < p.end {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap those of %q [%d, %d]", e.name, e.begin, e.end, p.name, p.begin, p.end)
		}
	}
	return nil
}

// WriteSafetensors writes a as float32 ("F32") tensors in a.Names order,
// atomically (temp file, fsync, rename). Reading the file back gives the
// same bits.
func WriteSafetensors(path string, a Arrays) error { return WriteSafetensorsMetadata(path, a, nil) }

// WriteSafetensorsMetadata is WriteSafetensors with a __metadata__ entry
// (string to string, as the format allows), which File.Metadata reads back.
func WriteSafetensorsMetadata(path string, a Arrays, meta map[string]string) error {
	if err := checkArrays(a); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	var h bytes.Buffer
	h.WriteByte('{')
	if len(meta) > 0 {
		mj, err := json.Marshal(meta)
		if err != nil {
			return fmt.Errorf("%s: metadata: %v", path, err)
		}
		fmt.Fprintf(&h, `"__metadata__":%s`, mj)
		if len(a.Names) > 0 {
			h.WriteByte(',')
		}
	}
	off := 0
	for i, name := range a.Names {
		if name == "__metadata__" {
			return fmt.Errorf("%s: a tensor cannot be named __metadata__", path)
		}
		arr := a.ByName[name]
		if i > 0 {
			h.WriteByte(',')
		}
		key, _ := json.Marshal(name)
		shape := arr.Shape
		if shape == nil {
			shape = []int{}
		}
		sj, _ := json.Marshal(shape)
		n := 4 * len(arr.Data)
		fmt.Fprintf(&h, `%s:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, key, sj, off, off+n)
		off += n
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 { // the data starts 8-byte aligned, as the reference writer does
		h.WriteByte(' ')
	}
	err := writeAtomic(path, func(w *bufio.Writer) error {
		var lb [8]byte
		binary.LittleEndian.PutUint64(lb[:], uint64(h.Len()))
		w.Write(lb[:])
		w.Write(h.Bytes())
		var b [4]byte
		for _, name := range a.Names {
			for _, x := range a.ByName[name].Data {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
				if _, err := w.Write(b[:]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return errPrefix(path, err)
}
