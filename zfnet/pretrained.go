package zfnet

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/zfnet/zfnet/zfnet/weights"
)

// ImportOptions override what Import reads from a weight file.
type ImportOptions struct {
	// Arch names a built-in architecture to use instead of the one the
	// file's layout implies (its widths and class count still come from
	// the file's shapes).
	Arch string
	// Preprocess names the input preset instead of the layout's.
	Preprocess string
}

// Imported says what Import found in a file.
type Imported struct {
	Path   string
	Format string // npz, safetensors, pth, onnx
	// Layout is the recognized naming: "zfnet", "torchvision-alexnet",
	// "pytorchcv" or "onnx".
	Layout string
	// Renamed maps each of our parameter names to the file's key.
	Renamed map[string]string
}

// A layout is a naming scheme of published weights: which built-in table
// the file's tensors belong to and each parameter layer's key prefix.
type layout struct {
	name string
	// keys are examples shown when a file matches no layout.
	keys string
	// match says whether the file's names are this layout's and picks the
	// built-in architecture to fit.
	match func(ks map[string]*weights.Array) (arch string, ok bool)
	// prefixes gives the key prefix of every parameter layer of seq.
	prefixes func(seq []LayerSpec) []string
}

var layouts = []layout{
	{
		name: "torchvision-alexnet",
		keys: "features.0.weight, features.3.weight, ..., classifier.6.weight (torchvision.models.alexnet)",
		match: func(ks map[string]*weights.Array) (string, bool) {
			return "alexnet-torchvision", ks["features.0.weight"] != nil && ks["classifier.1.weight"] != nil
		},
		prefixes: func(seq []LayerSpec) []string {
			// nn.Sequential indices: features up to the adaptive pooling,
			// classifier after it, each layer one module.
			var ps []string
			part, idx := "features", 0
			for _, l := range seq {
				if l.Kind == KindAdaptiveAvgPool {
					part, idx = "classifier", 0
					continue
				}
				if l.Kind == KindConv || l.Kind == KindLinear {
					ps = append(ps, fmt.Sprintf("%s.%d", part, idx))
				}
				idx++
			}
			return ps
		},
	},
	{
		name: "pytorchcv",
		keys: "features.stage1.unit1.conv.weight, ..., output.fc1.fc.weight, output.fc3.weight (pytorchcv zfnet, zfnetb, alexnet)",
		match: func(ks map[string]*weights.Array) (string, bool) {
			w := ks["features.stage1.unit1.conv.weight"]
			if w == nil || ks["output.fc3.weight"] == nil || len(w.Shape) != 4 {
				return "", false
			}
			switch {
			case w.Shape[2] == 11:
				return "alexnet-pytorchcv", true
			case ks["features.stage3.unit2.conv.weight"] != nil && ks["features.stage3.unit2.conv.weight"].Shape[0] > 512:
				return "zfnetb-pytorchcv", true
			}
			return "zfnet-pytorchcv", true
		},
		prefixes: func(seq []LayerSpec) []string {
			var ps []string
			stage, unit, fc := 1, 0, 0
			nLinear := 0
			for _, l := range seq {
				if l.Kind == KindLinear {
					nLinear++
				}
			}
			for _, l := range seq {
				switch l.Kind {
				case KindConv:
					unit++
					ps = append(ps, fmt.Sprintf("features.stage%d.unit%d.conv", stage, unit))
				case KindMaxPool:
					stage, unit = stage+1, 0
				case KindLinear:
					fc++
					if fc == nLinear {
						ps = append(ps, fmt.Sprintf("output.fc%d", fc))
					} else {
						ps = append(ps, fmt.Sprintf("output.fc%d.fc", fc))
					}
				}
			}
			return ps
		},
	},
	{
		name: "zfnet",
		keys: "conv1.weight, conv1.bias, ..., fc8.weight, fc8.bias (zfnet's own weights and checkpoints)",
		match: func(ks map[string]*weights.Array) (string, bool) {
			return "", ks["conv1.weight"] != nil
		},
		prefixes: func(seq []LayerSpec) []string {
			var ps []string
			for _, l := range seq {
				if l.Kind == KindConv || l.Kind == KindLinear {
					ps = append(ps, l.Name)
				}
			}
			return ps
		},
	},
}

// Import reads a weight file of any supported format (NumPy .npz,
// safetensors, PyTorch .pth/.pt, ONNX), recognizes its layout from the
// tensor names (torchvision's AlexNet, pytorchcv's ZFNet/ZFNet-b/AlexNet,
// zfnet's own; an ONNX file's graph becomes the architecture), takes the
// widths, kernel sizes, input channels and class count from the shapes,
// and returns the model with the weights loaded under zfnet's names
// (conv1.weight, ..., fc8.bias). Strides, padding, pooling and LRN come
// from the layout's built-in table (Section "Architectures" of the README),
// so a narrow file of a known layout loads too. A file that matches nothing
// is an error listing what each layout expects and what the file holds.
func Import(path string, opt ImportOptions) (*Model, *Imported, error) {
	if ck, err := checkpointIn(path); err != nil || ck != nil {
		if err != nil {
			return nil, nil, err
		}
		if opt.Arch != "" && opt.Arch != ck.Model.Arch.Name {
			return nil, nil, errors.Errorf("%s is a checkpoint of %s; it carries its own architecture (drop --arch %s)", path, ck.Model.Arch.Name, opt.Arch)
		}
		if opt.Preprocess != "" {
			ck.Model.Arch.Preprocess = opt.Preprocess
		}
		return ck.Model, &Imported{Path: path, Format: "npz", Layout: "zfnet checkpoint"}, nil
	}
	f, err := weights.Read(path)
	if err != nil {
		return nil, nil, err
	}
	info := &Imported{Path: path, Format: f.Format, Renamed: map[string]string{}}
	var a Arch
	var src map[string]tensorRef
	if f.Graph != nil {
		info.Layout = "onnx"
		a, src, err = onnxArch(f)
		if err != nil {
			return nil, nil, err
		}
		if opt.Arch != "" {
			return nil, nil, errors.Errorf("%s: an ONNX file carries its own architecture; drop --arch %s", path, opt.Arch)
		}
	} else {
		override := opt.Arch
		if override == "" {
			if known, err := archOf(f); err != nil {
				return nil, nil, err
			} else if known != nil {
				a, src, info.Layout, err = recognizeAs(f, *known)
				if err != nil {
					return nil, nil, err
				}
			}
		}
		if src == nil {
			a, src, info.Layout, err = recognize(f, override)
			if err != nil {
				return nil, nil, err
			}
		}
	}
	if opt.Preprocess != "" {
		a.Preprocess = opt.Preprocess
	}
	if _, err := PresetPreprocess(a.Preprocess, a.Input, DefaultRunConfig()); err != nil {
		return nil, nil, errors.Wrapf(err, "%s", path)
	}
	m, err := New(a)
	if err != nil {
		return nil, nil, errors.Wrapf(err, "%s", path)
	}
	if err := m.loadNamed(path, src, info.Renamed); err != nil {
		return nil, nil, err
	}
	return m, info, nil
}

// ArchMetadataKey is the safetensors metadata entry where zfnet writes a
// model's architecture (JSON), so that the file loads as the same network.
const ArchMetadataKey = "zfnet.arch"

// checkpointIn reads path as a zfnet checkpoint when it is one (an .npz
// holding state.json); nil, nil otherwise.
func checkpointIn(path string) (*Checkpoint, error) {
	if !strings.EqualFold(filepath.Ext(path), ".npz") {
		return nil, nil
	}
	f, err := weights.ReadArchive(path)
	if err != nil {
		return nil, nil // not our npz: weights.Read says why
	}
	if _, ok := f.Raw[stateMember]; !ok {
		return nil, nil
	}
	return checkpointFrom(f)
}

// archOf is the architecture that travels with a file: safetensors
// metadata written by zfnet, or the checkpoint of the run folder the file
// sits in (weights.npz, snapshots/epoch-N.npz); nil when none does.
func archOf(f *weights.File) (*Arch, error) {
	if js, ok := f.Metadata[ArchMetadataKey]; ok {
		var a Arch
		if err := json.Unmarshal([]byte(js), &a); err != nil {
			return nil, errors.Wrapf(err, "%s: metadata %s", f.Path, ArchMetadataKey)
		}
		return &a, nil
	}
	if f.Arrays.ByName["conv1.weight"] == nil {
		return nil, nil
	}
	dir := filepath.Dir(f.Path)
	for _, ck := range []string{filepath.Join(dir, CheckpointFile), filepath.Join(filepath.Dir(dir), CheckpointFile)} {
		if !fileExists(ck) {
			continue
		}
		c, err := LoadCheckpoint(ck)
		if err != nil {
			return nil, nil // a broken neighbour says nothing about this file
		}
		a := c.Model.Arch
		return &a, nil
	}
	return nil, nil
}

// recognizeAs loads the file as the given architecture, under our names.
func recognizeAs(f *weights.File, a Arch) (Arch, map[string]tensorRef, string, error) {
	zl := layouts[len(layouts)-1] // zfnet's own names
	fitted, src, err := fitArch(a, zl.prefixes(a.Sequence()), f.Arrays.ByName)
	if err == nil {
		if extra := unusedArrays(f.Arrays, src); len(extra) > 0 {
			err = errors.Errorf("architecture %s has no place for %s", a.Name, strings.Join(extra, ", "))
		}
	}
	if err != nil {
		return Arch{}, nil, "", errors.Wrapf(err, "%s (architecture %s recorded with it)", f.Path, a.Name)
	}
	fitted.Preprocess = a.Preprocess
	return fitted, src, zl.name, nil
}

// recognize finds the file's layout and fits its architecture.
func recognize(f *weights.File, override string) (Arch, map[string]tensorRef, string, error) {
	ks := f.Arrays.ByName
	for _, lay := range layouts {
		name, ok := lay.match(ks)
		if !ok {
			continue
		}
		candidates := []string{name}
		switch {
		case override != "":
			candidates = []string{override}
		case name == "":
			candidates = ArchNames()
		}
		var firstErr error
		var fits []string
		var fitA Arch
		var fitSrc map[string]tensorRef
		for _, c := range candidates {
			t, err := LookupArch(c)
			if err != nil {
				return Arch{}, nil, "", err
			}
			a, src, err := fitArch(t, lay.prefixes(t.Sequence()), ks)
			if err == nil {
				if extra := unusedArrays(f.Arrays, src); len(extra) > 0 {
					err = errors.Errorf("architecture %s has no place for %s", t.Name, strings.Join(extra, ", "))
				}
			}
			if err == nil {
				if len(fits) == 0 {
					fitA, fitSrc = a, src
				}
				fits = append(fits, c)
				continue
			}
			if firstErr == nil || c == override {
				firstErr = err
			}
		}
		switch {
		case len(fits) == 1:
			return fitA, fitSrc, lay.name, nil
		case len(fits) > 1:
			// zfnet's names say which layers hold weights, not the strides,
			// padding or pooling between them.
			return Arch{}, nil, "", errors.Errorf("%s: zfnet-named weights that fit several architectures (%s): give --arch "+
				"(files written by zfnet train beside their checkpoint.npz, and .safetensors written by zfnet convert, carry theirs)",
				f.Path, strings.Join(fits, ", "))
		}
		return Arch{}, nil, "", errors.Wrapf(firstErr, "%s (%s layout)", f.Path, lay.name)
	}
	var want []string
	for _, lay := range layouts {
		want = append(want, "  "+lay.name+": "+lay.keys)
	}
	return Arch{}, nil, "", errors.Errorf("%s: the tensor names match no known layout; expected one of\n%s\nfound %s",
		f.Path, strings.Join(want, "\n"), describeArrays(f.Arrays, 12))
}

// describeArrays lists up to n names with their shapes.
func describeArrays(a weights.Arrays, n int) string {
	var parts []string
	for i, k := range a.Names {
		if i == n {
			parts = append(parts, fmt.Sprintf("... (%d in all)", len(a.Names)))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %v", k, a.ByName[k].Shape))
	}
	if len(parts) == 0 {
		return "no floating-point tensors"
	}
	return strings.Join(parts, ", ")
}

// fitArch sets the template's widths, input channels and class count from
// the shapes under prefixes (one per parameter layer), checks the kernel
// sizes, and finds the input size the first linear layer's width implies.
// It returns the architecture as a layer list and the file's tensor for
// each of our parameter names.
func fitArch(t Arch, prefixes []string, ks map[string]*weights.Array) (Arch, map[string]tensorRef, error) {
	seq := t.Sequence()
	src := map[string]tensorRef{}
	k, firstLinear := 0, -1
	for i := range seq {
		l := &seq[i]
		if l.Kind != KindConv && l.Kind != KindLinear {
			continue
		}
		if k >= len(prefixes) {
			return Arch{}, nil, errors.Errorf("%s has more parameter layers than the layout names", t.Name)
		}
		p := prefixes[k]
		k++
		w, b := ks[p+".weight"], ks[p+".bias"]
		if w == nil || b == nil {
			return Arch{}, nil, errors.Errorf("architecture %s: %s.weight and %s.bias expected for layer %s, missing", t.Name, p, p, l.Name)
		}
		src[l.Name+".weight"], src[l.Name+".bias"] = tensorRef{p + ".weight", w}, tensorRef{p + ".bias", b}
		switch l.Kind {
		case KindConv:
			if len(w.Shape) != 4 || w.Shape[2] != l.Kernel || w.Shape[3] != l.Kernel {
				return Arch{}, nil, errors.Errorf("architecture %s: %s.weight has shape %v, expected (out, in, %d, %d) for layer %s", t.Name, p, w.Shape, l.Kernel, l.Kernel, l.Name)
			}
			l.Out = w.Shape[0]
			if k == 1 {
				g := max(l.Groups, 1)
				t.Input[0] = w.Shape[1] * g
			}
		case KindLinear:
			if len(w.Shape) != 2 {
				return Arch{}, nil, errors.Errorf("architecture %s: %s.weight has shape %v, expected (out, in) for layer %s", t.Name, p, w.Shape, l.Name)
			}
			l.Out = w.Shape[0]
			if firstLinear < 0 {
				firstLinear = i
			}
		}
	}
	if k != len(prefixes) {
		return Arch{}, nil, errors.Errorf("architecture %s has %d parameter layers, the layout %d", t.Name, k, len(prefixes))
	}
	// The last linear layer's width is the class count.
	last := &seq[len(seq)-1]
	t.Classes, last.Out = last.Out, 0
	if firstLinear >= 0 {
		want := src[seq[firstLinear].Name+".weight"].a.Shape[1]
		size, ok := inputSizeFor(t.Input, t.Classes, seq, firstLinear, want)
		if !ok {
			return Arch{}, nil, errors.Errorf("architecture %s: layer %s reads %d features, which no square input of %d channels gives", t.Name, seq[firstLinear].Name, want, t.Input[0])
		}
		t.Input[1], t.Input[2] = size, size
	}
	t.Layers, t.Convs, t.FCs = seq, nil, nil
	return t, src, nil
}

// inputSizeFor finds the square input size, nearest the table's, for which
// layer li (linear) reads want features.
func inputSizeFor(in [3]int, classes int, seq []LayerSpec, li, want int) (int, bool) {
	for d := 0; d <= 512; d++ {
		for _, s := range []int{in[1] - d, in[1] + d} {
			if s < 1 || (d == 0 && s != in[1]) {
				continue
			}
			if f := linearInputs([3]int{in[0], s, s}, classes, seq); f != nil && f[li] == want {
				return s, true
			}
		}
	}
	return 0, false
}

// tensorRef is a file's tensor under its key in the file.
type tensorRef struct {
	key string
	a   *weights.Array
}

// loadNamed copies src (our parameter name -> the file's tensor) into the
// parameters through loadChecked (every shape checked, all or nothing; any
// float dtype, converted when read); renamed records which key each came
// from.
func (m *Model) loadNamed(path string, src map[string]tensorRef, renamed map[string]string) error {
	arrays := make(map[string]*weights.Array, len(src))
	for name, r := range src {
		if r.a != nil {
			arrays[name] = r.a
		}
	}
	if err := m.loadChecked(path, arrays, false, nil); err != nil {
		return err
	}
	for name, r := range src {
		renamed[name] = r.key
	}
	return nil
}

// unusedArrays lists the file's tensors that no parameter took.
func unusedArrays(all weights.Arrays, used map[string]tensorRef) []string {
	taken := map[string]bool{}
	for _, r := range used {
		taken[strings.TrimSuffix(r.key, " (transposed)")] = true
	}
	var out []string
	for _, n := range all.Names {
		if !taken[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// ImportName is the architecture name an imported file's model gets when
// it has none of its own (ONNX): the file's base name.
func importName(path string) string {
	return "onnx:" + strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}
