package weights

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
)

// Member is one member of an archive that WriteArchive writes: a float32
// array stored as NAME.npy, or, when Raw is not nil, bytes stored verbatim
// under Name (a checkpoint's state.json, a ready-made .npy of another
// dtype).
type Member struct {
	Name  string // without ".npy" for an array
	Shape []int
	Data  []float32
	Raw   []byte
}

// Archive is an .npz as zfnet writes them (weights, checkpoints, feature
// files): the float32 and integer arrays of a File, format-neutral, and the
// members that are not .npy arrays as raw bytes by name.
type Archive struct {
	File
	Raw map[string][]byte
}

// WriteArchive writes members, in order, as an uncompressed .npz (what
// numpy.savez writes: format 1.0 '<f4' headers padded to 64 bytes),
// atomically. The bytes depend only on the members: the same model saved
// twice gives the same file. A member whose shape does not hold its data
// is an error, and then nothing is written.
func WriteArchive(path string, members []Member) error {
	err := writeAtomic(path, func(w *bufio.Writer) error {
		z := zip.NewWriter(w)
		for _, m := range members {
			name := m.Name
			if m.Raw == nil {
				name += ".npy"
			}
			f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			if err != nil {
				return fmt.Errorf("member %s: %v", name, err)
			}
			if m.Raw != nil {
				_, err = f.Write(m.Raw)
			} else {
				err = writeCheckedNpy(f, m.Shape, m.Data)
			}
			if err != nil {
				return fmt.Errorf("member %s: %v", name, err)
			}
		}
		return z.Close()
	})
	return errPrefix(path, err)
}

// writeCheckedNpy is writeNpy after checking that shape holds len(v) values.
func writeCheckedNpy(w io.Writer, shape []int, v []float32) error {
	n, err := numel(shape)
	if err != nil {
		return err
	}
	if n != len(v) {
		return fmt.Errorf("shape %v holds %d values, got %d", shape, n, len(v))
	}
	return writeNpy(w, shape, v)
}

// ReadArchive reads an .npz the way ReadNpz does (any float dtype, either
// byte order, converted to float32 with Array.DType saying what was
// stored; integers in Ints), except that members which are not .npy arrays
// are kept in Raw instead of refused.
func ReadArchive(path string) (*Archive, error) {
	file, raw, err := readNpzMembers(path, true)
	if err != nil {
		return nil, err
	}
	return &Archive{File: *file, Raw: raw}, nil
}
