package zfnet

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet/weights"
)

// StageOutput is the layer whose output stands for a layer with weights in
// the transfer analysis (the paper's Table 7): the last layer before the
// next layer with weights, dropout left out (conv1 -> pool1 or norm1,
// fc6 -> relu6). The last layer stands for itself.
func StageOutput(m *Model, layer string) (string, error) {
	_, i := m.Layer(layer)
	if i < 0 {
		return "", missingLayer(m, layer)
	}
	out := layer
	for j := i + 1; j < len(m.layers); j++ {
		l := m.layers[j]
		if len(l.Params()) > 0 {
			break
		}
		if !strings.HasPrefix(l.Name(), "drop") {
			out = l.Name()
		}
	}
	return out, nil
}

func missingLayer(m *Model, layer string) error {
	return errors.Errorf("%s has no layer %q; its layers are %s", m.Arch.Name, layer, strings.Join(layerNames(m), ", "))
}

// FeatureExtractor reads the outputs of some layers for batches of inputs.
type FeatureExtractor struct {
	p      *Predictor
	Layers []string
	Dims   []int // features per example of each layer
}

// NewFeatureExtractor builds an inference graph for batches of batch
// inputs that keeps the outputs of the named layers (any layer of the
// model: conv1, relu1, pool5, fc6). A name the model lacks is an error
// listing its layers.
func NewFeatureExtractor(m *Model, batch int, layers []string) (*FeatureExtractor, error) {
	if len(layers) == 0 {
		return nil, errors.New("features: no layer given")
	}
	f := &FeatureExtractor{Layers: layers}
	for _, name := range layers {
		_, i := m.Layer(name)
		if i < 0 {
			return nil, missingLayer(m, name)
		}
		s := m.shapes[i]
		f.Dims = append(f.Dims, s[0]*s[1]*s[2])
	}
	p, err := NewOutputPredictor(m, batch)
	if err != nil {
		return nil, err
	}
	f.p = p
	return f, nil
}

// Close releases the graph.
func (f *FeatureExtractor) Close() error { return f.p.Close() }

// Batch is the predictor's batch size.
func (f *FeatureExtractor) Batch() int { return f.p.Batch }

// Run runs one batch (Batch*C*H*W floats) and returns, per layer, a copy of
// its outputs (Batch x Dims[i], each example's C*H*W values in C order).
func (f *FeatureExtractor) Run(x []float32) ([][]float32, error) {
	if _, err := f.p.Logits(x); err != nil {
		return nil, err
	}
	out := make([][]float32, len(f.Layers))
	for i, name := range f.Layers {
		t, err := f.p.Output(name)
		if err != nil {
			return nil, err
		}
		d := t.Data().([]float32)
		if len(d) != f.p.Batch*f.Dims[i] {
			return nil, errors.Errorf("layer %s: %d outputs, expected %d x %d", name, len(d), f.p.Batch, f.Dims[i])
		}
		out[i] = append([]float32(nil), d...)
		if err := data.CheckFinite("features of "+name, data.Geometry{C: 1, H: f.p.Batch, W: f.Dims[i]}, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ExtractAll runs every batch of loader through f and returns each layer's
// features (examples x Dims[i]) and the labels, in the loader's order.
// progress, when not nil, is called after each batch.
func ExtractAll(f *FeatureExtractor, loader *data.Loader, progress func(done, total int)) ([][]float32, []int, error) {
	n := loader.Source().Len()
	feats := make([][]float32, len(f.Layers))
	for i := range feats {
		feats[i] = make([]float32, 0, n*f.Dims[i])
	}
	labels := make([]int, 0, n)
	total, done := loader.BatchesPerEpoch(), 0
	err := loader.Each(func(b *data.Batch) error {
		out, err := f.Run(b.Crop(0))
		if err != nil {
			return err
		}
		for i := range out {
			feats[i] = append(feats[i], out[i][:b.Valid*f.Dims[i]]...)
		}
		labels = append(labels, b.Labels[:b.Valid]...)
		done++
		if progress != nil {
			progress(done, total)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return feats, labels, nil
}

// FeatureWriter streams features (N x D float32) and labels (N int64) into
// two .npy files whose headers hold the final N, written under
// PATH.partial names and renamed when complete. An interrupted write is
// continued by OpenFeatureWriter with the same job description: the rows
// already on disk are kept.
type FeatureWriter struct {
	Path, LabelsPath string
	N, D             int
	Done             int // rows written
	f, l             *os.File
	fw, lw           *bufio.Writer
}

// featureJob describes a features file for resumption.
type featureJob struct {
	Job  string
	N, D int
}

// OpenFeatureWriter opens path (and labelsPath) for n rows of d features.
// With resume, a partial file of the same job continues at its last
// complete multiple of align rows; Done says where.
func OpenFeatureWriter(path, labelsPath, job string, n, d, align int, resume bool) (*FeatureWriter, error) {
	w := &FeatureWriter{Path: path, LabelsPath: labelsPath, N: n, D: d}
	part, lpart, jpath := path+".partial", labelsPath+".partial", path+".partial.json"
	fh, err := data.NpyHeaderFloat32([]int{n, d})
	if err != nil {
		return nil, errors.Wrapf(err, "%s", path)
	}
	lh, err := data.NpyHeaderInt64([]int{n})
	if err != nil {
		return nil, errors.Wrapf(err, "%s", labelsPath)
	}
	if resume {
		var j featureJob
		if b, err := os.ReadFile(jpath); err == nil && json.Unmarshal(b, &j) == nil && j == (featureJob{job, n, d}) {
			fs, err1 := os.Stat(part)
			ls, err2 := os.Stat(lpart)
			if err1 == nil && err2 == nil {
				rows := min((fs.Size()-int64(len(fh)))/int64(4*d), (ls.Size()-int64(len(lh)))/8)
				rows = max(rows, 0) / int64(align) * int64(align)
				w.Done = int(rows)
			}
		}
	}
	if w.Done > 0 {
		if w.f, err = os.OpenFile(part, os.O_WRONLY, 0o644); err == nil {
			if err = w.f.Truncate(int64(len(fh)) + int64(w.Done)*int64(4*d)); err == nil {
				_, err = w.f.Seek(0, io.SeekEnd)
			}
		}
		if err == nil {
			if w.l, err = os.OpenFile(lpart, os.O_WRONLY, 0o644); err == nil {
				if err = w.l.Truncate(int64(len(lh)) + int64(w.Done)*8); err == nil {
					_, err = w.l.Seek(0, io.SeekEnd)
				}
			}
		}
	} else {
		b, _ := json.Marshal(featureJob{job, n, d})
		if err = os.WriteFile(jpath, b, 0o644); err == nil {
			if w.f, err = os.Create(part); err == nil {
				if _, err = w.f.Write(fh); err == nil {
					if w.l, err = os.Create(lpart); err == nil {
						_, err = w.l.Write(lh)
					}
				}
			}
		}
	}
	if err != nil {
		w.close()
		return nil, errors.Wrapf(err, "features: opening %s", part)
	}
	w.fw, w.lw = bufio.NewWriterSize(w.f, 1<<20), bufio.NewWriter(w.l)
	return w, nil
}

// Write appends rows (len(labels) x D features).
func (w *FeatureWriter) Write(feats []float32, labels []int) error {
	if len(feats) != len(labels)*w.D {
		return errors.Errorf("features: %d values for %d rows of %d", len(feats), len(labels), w.D)
	}
	if w.Done+len(labels) > w.N {
		return errors.Errorf("features: %d rows, the file holds %d", w.Done+len(labels), w.N)
	}
	buf := make([]byte, 4*len(feats))
	for i, v := range feats {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if _, err := w.fw.Write(buf); err != nil {
		return errors.Wrapf(err, "writing %s", w.Path)
	}
	for _, l := range labels {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(int64(l)))
		if _, err := w.lw.Write(b[:]); err != nil {
			return errors.Wrapf(err, "writing %s", w.LabelsPath)
		}
	}
	w.Done += len(labels)
	return nil
}

// Flush pushes what was written to disk (a resume starts from there).
func (w *FeatureWriter) Flush() error {
	if err := w.fw.Flush(); err != nil {
		return err
	}
	return w.lw.Flush()
}

// Finish flushes, closes and renames the complete files into place.
func (w *FeatureWriter) Finish() error {
	if w.Done != w.N {
		w.close()
		return errors.Errorf("features: %d of %d rows written", w.Done, w.N)
	}
	if err := w.Flush(); err != nil {
		w.close()
		return err
	}
	for _, f := range []*os.File{w.f, w.l} {
		if err := f.Sync(); err != nil {
			w.close()
			return err
		}
	}
	w.close()
	if err := os.Rename(w.Path+".partial", w.Path); err != nil {
		return err
	}
	if err := os.Rename(w.LabelsPath+".partial", w.LabelsPath); err != nil {
		return err
	}
	os.Remove(w.Path + ".partial.json")
	return nil
}

// Close flushes and closes the partial files, leaving them to a resume.
func (w *FeatureWriter) Close() error {
	if w.fw != nil {
		w.Flush()
	}
	return w.close()
}

func (w *FeatureWriter) close() error {
	var err error
	for _, f := range []*os.File{w.f, w.l} {
		if f != nil {
			if e := f.Close(); e != nil && err == nil {
				err = e
			}
		}
	}
	w.f, w.l = nil, nil
	return err
}

// WriteFeaturesNpz writes features and labels as one .npz ("features",
// "labels"), atomically.
func WriteFeaturesNpz(path string, feats []float32, n, d int, labels []int) error {
	lb, err := data.Int64Npy(labels)
	if err != nil {
		return errors.Wrapf(err, "%s: labels", path)
	}
	return weights.WriteArchive(path, []weights.Member{
		{Name: "features", Shape: []int{n, d}, Data: feats},
		{Name: "labels.npy", Raw: lb},
	})
}
