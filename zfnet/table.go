package zfnet

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/zfnet/zfnet/nn"
)

// LayerRow is one line of the architecture table.
type LayerRow struct {
	Layer, Kind          string
	Kernel, Stride, Pad  int
	InC, OutC            int
	Out                  [3]int // C, H, W
	Params, MultiplyAdds int64
}

// Table describes every layer like the paper's Fig. 3 and the seed table:
// kernel, stride, padding, channels, output shape, parameter count and
// multiply-adds per image.
func (m *Model) Table() []LayerRow {
	rows := make([]LayerRow, len(m.layers))
	in := m.Arch.Input
	for i, l := range m.layers {
		out := m.shapes[i]
		r := LayerRow{Layer: l.Name(), Kind: nn.Describe(l), InC: in[0], OutC: out[0], Out: out}
		for _, p := range l.Params() {
			r.Params += int64(p.Value.Shape().TotalSize())
		}
		switch l := l.(type) {
		case *nn.Conv2d:
			r.Kernel, r.Stride, r.Pad = l.Kernel, l.Stride, l.Pad
			r.MultiplyAdds = int64(out[0]*out[1]*out[2]) * int64(l.In/l.GroupCount()*l.Kernel*l.Kernel)
		case *nn.MaxPool:
			r.Kernel, r.Stride, r.Pad = l.Kernel, l.Stride, l.Pad
		case *nn.AvgPool:
			r.Kernel, r.Stride, r.Pad = l.Kernel, l.Stride, l.Pad
		case *nn.Linear:
			r.InC = l.In
			r.MultiplyAdds = int64(l.In) * int64(l.Out)
		}
		rows[i] = r
		in = out
	}
	return rows
}

// WriteTable prints the table with totals.
func (m *Model) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%s: %s\n", m.Arch.Name, m.Arch.Doc)
	pre := m.Arch.Preprocess
	if pre == "" {
		pre = PresetZFNet
	}
	fmt.Fprintf(w, "preprocessing: %s\n", pre)
	fmt.Fprintln(tw, "layer\tkind\tkernel\tstride\tpad\tin\tout\toutput (CxHxW)\tparams\tmult-adds\t")
	var params, macs int64
	for _, r := range m.Table() {
		k := func(v int) string {
			if r.Kernel == 0 {
				return "-"
			}
			return fmt.Sprint(v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%dx%dx%d\t%s\t%s\t\n", r.Layer, r.Kind, k(r.Kernel), k(r.Stride), k(r.Pad),
			r.InC, r.OutC, r.Out[0], r.Out[1], r.Out[2], human(r.Params), human(r.MultiplyAdds))
		params += r.Params
		macs += r.MultiplyAdds
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t\t\t%dx%dx%d input\t%s\t%s\t\n", m.Arch.Input[0], m.Arch.Input[1], m.Arch.Input[2], human(params), human(macs))
	return tw.Flush()
}

func human(v int64) string {
	switch {
	case v == 0:
		return "-"
	case v >= 1e9:
		return strings.TrimSuffix(fmt.Sprintf("%.2fG", float64(v)/1e9), ".00G")
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", float64(v)/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fK", float64(v)/1e3)
	}
	return fmt.Sprint(v)
}
