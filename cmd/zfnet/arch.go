package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	register("arch", "print an architecture's layer table", runArch)
}

func runArch(args []string) error {
	fs := newFlags("arch", "", "Prints the layer table: kernel, stride, padding, channels, output shape, parameters, multiply-adds,\n"+
		"and the input preprocessing, of a built-in architecture or of the one recognized in a weight file (--weights).")
	name := fs.String("arch", "zfnet", "architecture: "+strings.Join(zfnet.ArchNames(), ", "))
	wfile := fs.String("weights", "", "weight file (.pth, .onnx, .safetensors, .npz) whose architecture to print instead")
	in := fs.String("input", "", "input as CxHxW (default: the architecture's own)")
	classes := fs.Int("classes", 0, "number of classes (default: the architecture's own)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *wfile != "" {
		m, info, err := zfnet.Import(*wfile, zfnet.ImportOptions{})
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s layout (%s)\n", *wfile, info.Layout, info.Format)
		return m.WriteTable(os.Stdout)
	}
	a, err := zfnet.LookupArch(*name)
	if err != nil {
		return err
	}
	if *in != "" {
		var c, h, w int
		if n, err := fmt.Sscanf(*in, "%dx%dx%d", &c, &h, &w); n != 3 || err != nil {
			return fmt.Errorf("--input %q: expected CxHxW, e.g. 3x224x224", *in)
		}
		a = a.WithInput(c, h, w, 0)
	}
	a = a.WithInput(0, 0, 0, *classes)
	m, err := zfnet.New(a)
	if err != nil {
		return err
	}
	return m.WriteTable(os.Stdout)
}
