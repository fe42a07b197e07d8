// Command zfnet-beam builds an activation index (package deconvnet/index,
// the format zfnet index build writes) with Apache Beam, so that the
// forward passes of a large data set run on a cluster: Flink, Spark,
// Dataflow, or locally on Beam's Prism runner (the default).
//
//	zfnet-beam --checkpoint runs/zfnet-small-mnist --split train --layers conv1,conv2,conv3,conv4,conv5,fc6,fc7 --out ix
//
// It reads the example list once to count the batches, then each worker
// loads the model once (DoFn Setup) and runs whole batches of the
// unsharded build's batch boundaries, so the activations are the same bits
// as zfnet index build's; the per-unit top-K are combined with the same
// order (index.Better) and the index is written by one worker, atomically.
// The paths given (model, data, --out) must be readable (and --out
// writable) where the workers run: a shared file system, or files in the
// worker container.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/zfnet/zfnet/deconvnet/index"
)

func main() {
	var s Spec
	flag.StringVar(&s.Checkpoint, "checkpoint", "", "checkpoint.npz of a run, or the run folder")
	flag.StringVar(&s.Weights, "weights", "", "weight file (.npz, .safetensors, .pth, .onnx)")
	flag.StringVar(&s.Arch, "arch", "", "architecture, overriding the one recognized from --weights")
	flag.StringVar(&s.Preprocess, "preprocess", "", "input preprocessing: zfnet, torchvision or caffe (default: the model's)")
	flag.StringVar(&s.Data, "data", "", "data set (default: the checkpoint's)")
	flag.StringVar(&s.Images, "images", "", "folder of pictures to index instead of a data set")
	flag.StringVar(&s.Split, "split", "test", "test or train")
	flag.IntVar(&s.Limit, "limit", 0, "only the first N examples")
	flag.IntVar(&s.Batch, "batch", 64, "images per forward pass (as zfnet index build's, for the same bytes)")
	layers := flag.String("layers", "", "layers, comma separated (default: every convolution and fully connected layer but the classifier)")
	flag.IntVar(&s.K, "top", 9, "activations kept per unit")
	flag.StringVar(&s.Mode, "mode", "image", "image or position")
	out := flag.String("out", "", "index folder to write (required)")
	flag.Parse()
	beam.Init()
	if *layers != "" {
		for _, l := range strings.Split(*layers, ",") {
			if l = strings.TrimSpace(l); l != "" {
				s.Layers = append(s.Layers, l)
			}
		}
	}
	if err := run(context.Background(), s, *out); err != nil {
		fmt.Fprintf(os.Stderr, "zfnet-beam: %v\n", err)
		os.Exit(1)
	}
}

// run checks the spec, counts the batches and runs the pipeline with the
// runner --runner names (prism by default).
func run(ctx context.Context, s Spec, out string) error {
	p, err := pipeline(s, out)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := beamx.Run(ctx, p); err != nil {
		return err
	}
	fmt.Printf("wrote %s in %s\n", out, time.Since(start).Round(time.Millisecond))
	return nil
}

// pipeline opens the spec here once (the example list, the layers), so
// that a bad flag fails before any worker starts.
func pipeline(s Spec, out string) (*beam.Pipeline, error) {
	if out == "" {
		return nil, fmt.Errorf("--out: give the index folder to write")
	}
	if s.Batch < 1 || s.K < 1 || s.K > index.MaxK || s.Limit < 0 {
		return nil, fmt.Errorf("--batch must be positive, --top 1 to %d, --limit at least 0", index.MaxK)
	}
	if s.Split != "test" && s.Split != "train" {
		return nil, fmt.Errorf("--split %q: expected test or train", s.Split)
	}
	o, err := s.open()
	if err != nil {
		return nil, err
	}
	if len(s.Layers) == 0 {
		s.Layers = o.opt.Layers
	}
	if _, err := index.NewHeader(o.model, o.src, s.Batch, o.opt); err != nil {
		return nil, err
	}
	p, root := beam.NewPipelineWithRoot()
	Build(root, s, (o.src.Len()+s.Batch-1)/s.Batch, out)
	return p, nil
}
