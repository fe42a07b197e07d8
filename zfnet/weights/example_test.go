package weights_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zfnet/zfnet/zfnet/weights"
)

// Read a PyTorch checkpoint (a DataParallel state_dict under "state_dict"),
// list its tensors, and save them as safetensors.
func Example() {
	f, err := weights.Read("testdata/checkpoint.pth")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("format:", f.Format)
	for _, name := range f.Arrays.Names {
		a := f.Arrays.ByName[name]
		fmt.Printf("%-16s %-8s %v\n", name, a.DType, a.Shape)
	}
	for _, name := range f.Ints.Names {
		fmt.Printf("%-16s skipped from Arrays: %s %v\n", name, f.Ints.ByName[name].DType, f.Ints.ByName[name].Data)
	}

	dir, err := os.MkdirTemp("", "weights-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "model.safetensors")
	if err := weights.WriteSafetensors(out, f.Arrays); err != nil {
		log.Fatal(err)
	}
	g, err := weights.Read(out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("re-read:", g.Format, len(g.Arrays.Names), "tensors, conv1.bias now", g.Arrays.ByName["conv1.bias"].DType)
	// Output:
	// format: pth
	// conv1.weight     float32  [4 3 3 3]
	// conv1.bias       float16  [4]
	// fc.weight        float64  [5 6]
	// fc.t             float32  [5 6]
	// bn.running_mean  float32  [4]
	// bf               bfloat16 [3]
	// scalar           float32  []
	// bn.num_batches_tracked skipped from Arrays: int64 [17]
	// re-read: safetensors 7 tensors, conv1.bias now float32
}
