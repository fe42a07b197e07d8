package data_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/zfnet/zfnet/data"
)

// tinySource is two 2x2 grey pictures, one per class: the first dark, the
// second bright.
func tinySource() data.Source {
	images := &data.IDX{Dims: []int{2, 2, 2}, Data: []byte{0, 0, 51, 51, 255, 255, 204, 204}}
	labels := &data.IDX{Dims: []int{2}, Data: []byte{0, 1}}
	src, err := data.NewIDXSource("tiny", images, "tiny-images", labels, "tiny-labels", []string{"dark", "bright"})
	if err != nil {
		panic(err)
	}
	return src
}

// The mean image of a training set, the one the paper subtracts from every
// input: pixels on the [0,1] scale, averaged over the examples.
func ExampleComputeMean() {
	pre := data.SmallPreprocess(data.Geometry{C: 1, H: 2, W: 2})
	mean, err := data.ComputeMean(tinySource(), pre, 2, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%dx%dx%d %.2f\n", mean.C, mean.H, mean.W, mean.Pix)
	// Output: 1x2x2 [0.50 0.50 0.50 0.50]
}

// A loader streams batches of preprocessed, mean-subtracted inputs with
// their labels; without Train it neither shuffles nor augments.
func ExampleNewLoader() {
	src := tinySource()
	pre := data.SmallPreprocess(data.Geometry{C: 1, H: 2, W: 2})
	mean, _ := data.ComputeMean(src, pre, 1, nil)
	l, err := data.NewLoader(src, data.LoaderConfig{BatchSize: 2, Pre: pre, Mean: mean, Workers: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := l.Start(0, 0)
	defer s.Close()
	for {
		b, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("labels %v, inputs %.1f\n", b.Labels[:b.Valid], b.X)
		s.Recycle(b)
	}
	// Output: labels [0 1], inputs [-0.5 -0.5 -0.3 -0.3 0.5 0.5 0.3 0.3]
}

// Mean images travel as NumPy .npy files (mean.npy in a run folder).
func ExampleReadNpy() {
	m := &data.Mean{C: 1, H: 1, W: 2, Pix: []float32{0.25, 0.75}}
	var buf bytes.Buffer
	if err := m.WriteNpy(&buf); err != nil {
		fmt.Println(err)
		return
	}
	back, err := data.ReadNpy(&buf, "mean.npy")
	fmt.Println(back.C, back.H, back.W, back.Pix, err)
	// Output: 1 1 2 [0.25 0.75] <nil>
}

// Each is the same pass without the stream's bookkeeping: one call per
// batch, in order, the batch recycled when the call returns. An error from
// the call stops the pass and comes back as it was returned.
func ExampleLoader_Each() {
	pre := data.SmallPreprocess(data.Geometry{C: 1, H: 2, W: 2})
	l, err := data.NewLoader(tinySource(), data.LoaderConfig{BatchSize: 1, Pre: pre, Workers: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	errStop := fmt.Errorf("seen enough")
	err = l.Each(func(b *data.Batch) error {
		fmt.Printf("batch %d: label %d, first input %.1f\n", b.Index, b.Labels[0], b.X[0])
		return errStop
	})
	fmt.Println(err == errStop)
	// Output:
	// batch 0: label 0, first input 0.0
	// true
}
