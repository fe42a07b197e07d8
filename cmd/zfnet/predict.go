package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/zfnet/zfnet/data"
	"github.com/zfnet/zfnet/zfnet"
)

func init() {
	register("predict", "top-k labels for image files or preprocessed .npy batches", runPredict)
}

// prediction is one input's result; --json prints these.
type prediction struct {
	Input  string    `json:"input"`
	Top    []ranked  `json:"top"`
	Logits []float32 `json:"logits,omitempty"`
	Probs  []float64 `json:"probabilities,omitempty"`
}

type ranked struct {
	Class       int     `json:"class"`
	Label       string  `json:"label"`
	Probability float64 `json:"probability"`
}

func runPredict(args []string) error {
	var mf modelFlags
	fs := newFlags("predict", "INPUT...", "Classifies image files (decoded, preprocessed as at test time: centre crop, mean subtracted)\n"+
		"and .npy arrays holding already-preprocessed NCHW float32 batches (N, C, H, W), for NumPy/PyTorch pipelines.")
	mf.register(fs)
	k := fs.Int("top", 5, "how many classes to list per input")
	asJSON := fs.Bool("json", false, "print JSON with logits and probabilities")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *k < 1 {
		return fmt.Errorf("--top %d: must be at least 1", *k)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("no inputs: give image files or .npy arrays")
	}
	for _, a := range fs.Args() {
		if strings.HasPrefix(a, "-") {
			return fmt.Errorf("%q after the inputs: flags go before the inputs (zfnet predict [flags] INPUT...)", a)
		}
	}
	l, err := mf.load(true)
	if err != nil {
		return err
	}
	names := classNames(l)
	inputs, labels, err := gatherInputs(fs.Args(), l)
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(os.Stderr, "model: %s; %s\n", l.About, describePreprocess(l))
	}
	if err != nil {
		return err
	}
	p, err := zfnet.NewPredictor(l.Model, 1, false)
	if err != nil {
		return err
	}
	defer p.Close()
	var out []prediction
	for i, x := range inputs {
		logits, err := p.Logits(x)
		if err != nil {
			return fmt.Errorf("%s: %v", labels[i], err)
		}
		probs := zfnet.Softmax(logits)
		// Ranked on the logits, ties to the lower class index as everywhere
		// else (the probabilities of far-apart logits can round to equal).
		order, err := zfnet.TopK(logits, min(*k, len(logits)))
		if err != nil {
			return fmt.Errorf("%s: %v", labels[i], err)
		}
		pr := prediction{Input: labels[i]}
		for _, c := range order {
			pr.Top = append(pr.Top, ranked{Class: c, Label: names[c], Probability: probs[c]})
		}
		if *asJSON {
			pr.Logits, pr.Probs = logits, probs
		}
		out = append(out, pr)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, pr := range out {
		parts := make([]string, len(pr.Top))
		for j, r := range pr.Top {
			parts[j] = fmt.Sprintf("%s %.2f%%", r.Label, 100*r.Probability)
		}
		fmt.Printf("%s: %s\n", pr.Input, strings.Join(parts, ", "))
	}
	return nil
}

// gatherInputs turns the arguments into single model inputs with a label
// each: every image file one input, every .npy batch N inputs.
func gatherInputs(args []string, l *loaded) ([][]float32, []string, error) {
	in := l.Model.Arch.Input
	size := in[0] * in[1] * in[2]
	var xs [][]float32
	var names, images []string
	for _, a := range args {
		if st, err := os.Stat(a); err != nil {
			return nil, nil, fmt.Errorf("input %s: %v", a, err)
		} else if st.IsDir() {
			found, err := data.ImagePaths(a)
			if err != nil {
				return nil, nil, err
			}
			if len(found) == 0 {
				return nil, nil, fmt.Errorf("input %s is a folder without pictures (.png, .jpg, .jpeg, .gif, .webp, .bmp, .tif)", a)
			}
			images = append(images, found...)
			continue
		}
		if !strings.HasSuffix(strings.ToLower(a), ".npy") {
			images = append(images, a)
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			return nil, nil, err
		}
		arr, err := data.ReadNpyArray(f, a)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		if len(arr.Shape) != 4 || arr.Shape[1] != in[0] || arr.Shape[2] != in[1] || arr.Shape[3] != in[2] {
			return nil, nil, fmt.Errorf("%s: shape %v, expected (N, %d, %d, %d): a preprocessed NCHW batch for %s", a, arr.Shape, in[0], in[1], in[2], l.Model.Arch.Name)
		}
		if err := data.CheckFinite(a, data.Geometry{C: in[0], H: in[1], W: in[2]}, arr.Data); err != nil {
			return nil, nil, err
		}
		for i := 0; i < arr.Shape[0]; i++ {
			xs = append(xs, arr.Data[i*size:(i+1)*size])
			names = append(names, fmt.Sprintf("%s[%d]", a, i))
		}
	}
	if len(images) > 0 {
		src, err := data.ImageFiles(images, nil)
		if err != nil {
			return nil, nil, err
		}
		loader, err := data.NewLoader(src, data.LoaderConfig{BatchSize: 1, Pre: l.Pre, Mean: l.Mean})
		if err != nil {
			return nil, nil, err
		}
		s := loader.Start(0, 0)
		defer s.Close()
		for i := range images {
			b, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, err
			}
			xs = append(xs, append([]float32(nil), b.X...))
			names = append(names, images[i])
		}
	}
	return xs, names, nil
}

// describePreprocess says in one line how pictures are fitted to the model.
func describePreprocess(l *loaded) string {
	p, in := l.Pre, l.Model.Arch.Input
	fit := fmt.Sprintf("pictures are resized to %dx%d", in[1], in[2])
	if p.Kind == data.ImageNet {
		fit = fmt.Sprintf("pictures: centre square resized to %dx%d, centre %dx%d crop", p.Resize, p.Resize, in[1], in[2])
	}
	ch := "colour (RGB)"
	if in[0] == 1 {
		ch = "gray (colour pictures reduced to luma)"
	}
	norm := "minus the training mean image"
	switch {
	case p.Normalize != nil && p.Normalize.BGR:
		norm = "BGR, 0-255, minus Caffe's mean pixel"
	case p.Normalize != nil:
		norm = "per-channel ImageNet mean/std (torchvision)"
	case l.Mean == nil:
		norm = "in [0,1], no mean subtracted"
	}
	return fmt.Sprintf("%s, %s, %s; .npy inputs are used as given", fit, ch, norm)
}
