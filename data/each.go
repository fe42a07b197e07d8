package data

import (
	"io"

	"github.com/pkg/errors"
)

// Each makes one pass over the loader's examples (epoch 0, in order unless
// the config shuffles) and calls fn on every batch, the workers decoding
// ahead of it. The batch is recycled when fn returns, so fn must not keep
// b or its slices. Each returns the first error of the stream (a bad file
// under FailOnBad), naming the source, or of fn as fn returned it; the
// workers are stopped either way.
//
// It is the loop every read-only pass writes (finding the top-k, reading a
// sample, extracting features); training keeps its own (Start with an
// epoch and a batch to resume from).
func (l *Loader) Each(fn func(b *Batch) error) error {
	st := l.Start(0, 0)
	defer st.Close()
	for {
		b, err := st.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errors.Wrapf(err, "reading %s", l.src.Name())
		}
		if err := fn(b); err != nil {
			return err
		}
		st.Recycle(b)
	}
}
