package zfnet

import (
	"archive/zip"
	"bytes"
	"io"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/data/atomicfile"
)

// npzEntry is one member of an .npz archive: a float32 array, or raw bytes
// (a JSON document inside a checkpoint).
type npzEntry struct {
	Name  string // member name without ".npy"
	Shape []int
	Data  []float32
	Raw   []byte // when not nil, written as Name verbatim
}

// writeNpzAtomic writes an uncompressed .npz (what numpy.savez writes) to
// a temporary file beside path, syncs it and renames it over path, so a
// crash leaves either the old file or the new one, never half of one.
func writeNpzAtomic(path string, entries []npzEntry) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, e := range entries {
			name := e.Name
			if e.Raw == nil {
				name += ".npy"
			}
			f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			if err != nil {
				return errors.Wrapf(err, "%s: member %s", path, name)
			}
			if e.Raw != nil {
				_, err = f.Write(e.Raw)
			} else {
				err = data.WriteNpyArray(f, e.Shape, e.Data)
			}
			if err != nil {
				return errors.Wrapf(err, "%s: member %s", path, name)
			}
		}
		return errors.Wrapf(zw.Close(), "%s", path)
	})
}

// npzFile is a read .npz: arrays by member name (without ".npy") and other
// members as raw bytes.
type npzFile struct {
	Path   string
	Arrays map[string]*data.NpyArray
	Raw    map[string][]byte
}

func readNpz(path string) (*npzFile, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, errors.Wrapf(err, "%s: expected a NumPy .npz (zip) archive", path)
	}
	defer zr.Close()
	f := &npzFile{Path: path, Arrays: map[string]*data.NpyArray{}, Raw: map[string][]byte{}}
	for _, m := range zr.File {
		rc, err := m.Open()
		if err != nil {
			return nil, errors.Wrapf(err, "%s: member %s", path, m.Name)
		}
		b, err := io.ReadAll(io.LimitReader(rc, 4<<30))
		rc.Close()
		if err != nil {
			return nil, errors.Wrapf(err, "%s: member %s", path, m.Name)
		}
		if !strings.HasSuffix(m.Name, ".npy") {
			f.Raw[m.Name] = b
			continue
		}
		name := strings.TrimSuffix(m.Name, ".npy")
		a, err := data.ReadNpyArray(bytes.NewReader(b), path+": "+name)
		if err != nil {
			return nil, err
		}
		f.Arrays[name] = a
	}
	return f, nil
}

func (f *npzFile) names() []string {
	var n []string
	for k := range f.Arrays {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
