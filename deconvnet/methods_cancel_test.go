package deconvnet

import (
	"context"
	"errors"
	"testing"
)

// SmoothGrad and integrated gradients stop between batches once their
// Context ends, returning its error (a server's cancelled request frees its
// deconvnet without waiting for the whole computation).
func TestMethodsStopOnContext(t *testing.T) {
	_, d, xs := mtLoad(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	batches := 0
	stop := func(done, total int) {
		batches++
		cancel()
	}
	_, err := SmoothGrad(d, xs[0], SmoothGradConfig{Class: 0, Samples: 20, Noise: 0.15, Seed: 1, Options: GradientOptions(), Progress: stop, Context: ctx})
	if !errors.Is(err, context.Canceled) || batches != 1 {
		t.Errorf("SmoothGrad: %v after %d batches; want context.Canceled after 1", err, batches)
	}
	ctx, cancel = context.WithCancel(context.Background())
	batches = 0
	_, err = IntegratedGradients(d, xs[0], IntegratedGradientsConfig{Class: 0, Steps: 20, Progress: stop, Context: ctx})
	if !errors.Is(err, context.Canceled) || batches != 1 {
		t.Errorf("IntegratedGradients: %v after %d batches; want context.Canceled after 1", err, batches)
	}
	cancel()
}
