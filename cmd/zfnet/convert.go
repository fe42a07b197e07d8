package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/zfnet/zfnet/zfnet"
	"github.com/zfnet/zfnet/zfnet/weights"
)

func init() {
	register("convert", "rewrite a weight file (.pth, .onnx, .safetensors, .npz) as .npz or .safetensors under zfnet's names", runConvert)
}

func runConvert(args []string) error {
	fs := newFlags("convert", "IN OUT", "Reads any supported weight file (PyTorch .pth/.pt, ONNX, safetensors, NumPy .npz), recognizes its layout\n"+
		"and writes its parameters under zfnet's names (conv1.weight, ..., fc8.bias) as OUT: .npz (numpy.load reads it)\n"+
		"or .safetensors, chosen by OUT's extension. The file is written atomically.")
	arch := fs.String("arch", "", "architecture, overriding the one recognized from IN")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("give IN and OUT (zfnet convert [flags] IN OUT)")
	}
	in, out := fs.Arg(0), fs.Arg(1)
	ext := strings.ToLower(filepath.Ext(out))
	if ext != ".npz" && ext != ".safetensors" {
		return fmt.Errorf("OUT %s: expected a .npz or .safetensors file name", out)
	}
	m, info, err := zfnet.Import(in, zfnet.ImportOptions{Arch: *arch})
	if err != nil {
		return err
	}
	var arrays weights.Arrays
	arrays.ByName = map[string]*weights.Array{}
	for _, p := range m.Params() {
		arrays.Names = append(arrays.Names, p.Name)
		arrays.ByName[p.Name] = &weights.Array{Shape: append([]int(nil), p.Value.Shape()...), Data: p.Data(), DType: "float32"}
	}
	if ext == ".npz" {
		err = weights.WriteNpz(out, arrays)
	} else {
		// The architecture travels in the metadata, so the file loads as
		// the same network (ours names the weights, not the layers between).
		js, jerr := json.Marshal(m.Arch)
		if jerr != nil {
			return jerr
		}
		err = weights.WriteSafetensorsMetadata(out, arrays, map[string]string{zfnet.ArchMetadataKey: string(js)})
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s (%s layout, %s): %s, %d tensors -> %s\n", in, info.Layout, info.Format, m.Arch, len(arrays.Names), out)
	if _, _, err := zfnet.Import(out, zfnet.ImportOptions{}); err != nil {
		fmt.Printf("note: %s alone does not say its architecture (%v); load it with --arch %s, or convert to .safetensors, which records it\n", out, err, m.Arch.Name)
	}
	return nil
}
