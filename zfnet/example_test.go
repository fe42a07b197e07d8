package zfnet_test

import (
	"fmt"
	"io"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet"
)

// The small model memorizes a tiny real batch: 32 MNIST digits, trained on
// repeatedly without dropout or weight decay, until the loss is near zero.
func Example_overfitTinyBatch() {
	set, err := data.Open("mnist", data.OpenOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := zfnet.LookupArch("zfnet-small")
	for i := range a.FCs {
		a.FCs[i].Dropout = 0
	}
	m, _ := zfnet.New(a)
	m.Initialize(zfnet.InitHe, 1)
	cfg := zfnet.DefaultTrainConfig()
	cfg.Batch, cfg.WeightDecay, cfg.FilterRadius = 32, 0, 0
	// Half the default rate: at 0.01 memorizing one batch is chaotic (the loss
	// jumps back up near step 30), so whether 150 steps end at zero loss
	// depends on the last bits of the SGEMM path's rounding.
	cfg.LR = 0.005
	tr, err := zfnet.NewTrainer(m, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close()
	loader, _ := data.NewLoader(set.Train, data.LoaderConfig{BatchSize: 32, Pre: data.SmallPreprocess(data.Geometry{C: 1, H: 28, W: 28})})
	s := loader.Start(0, 0)
	b, err := s.Next()
	s.Close()
	if err != nil && err != io.EOF {
		fmt.Println(err)
		return
	}
	var first, last zfnet.StepResult
	for step := 0; step < 150; step++ {
		r, err := tr.Step(b.X, b.Labels, b.Valid)
		if err != nil {
			fmt.Println(err)
			return
		}
		if step == 0 {
			first = r
		}
		last = r
	}
	fmt.Printf("first loss > 2: %v\n", first.Loss > 2)
	fmt.Printf("last loss < 0.01: %v\n", last.Loss < 0.01)
	fmt.Printf("memorized: %d/32\n", last.Correct)
	// Output:
	// first loss > 2: true
	// last loss < 0.01: true
	// memorized: 32/32
}
