package graph

import (
	"fmt"
	"math"
	"sync"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Switches are the argmax positions a max pooling recorded in its latest
// forward pass: Index[((n*C+c)*OH+oh)*OW+ow] is the flat position ih*W+iw,
// within input plane (n, c), of the maximum of that window (PyTorch's
// return_indices convention). Unpool puts values back there.
type Switches struct {
	N, C, H, W int // pooled input
	OH, OW     int // pooled output
	Index      []int32
}

// Recorded reports whether a forward pass has filled the switches.
func (s *Switches) Recorded() bool { return s != nil && len(s.Index) > 0 }

// ErrNotFinite is the cause of an error from an op that met a NaN: a
// diverged network, not a bug to panic about (errors.Cause finds it).
var ErrNotFinite = errors.New("the input is not finite")

// PoolOutputSize is floor((in + 2*pad - kernel)/stride) + 1, PyTorch's
// floor mode.
func PoolOutputSize(in, kernel, stride, pad int) int { return (in+2*pad-kernel)/stride + 1 }

// PoolOutputSizeMode is PyTorch's pooling output size (pooling_output_shape,
// dilation 1): floor((in + 2*pad - kernel)/stride) + 1 in floor mode;
// in ceil mode ceil((in + 2*pad - kernel)/stride) + 1, less one when the
// last window would start past the input and its left padding (at
// (out-1)*stride >= in + pad), so that every window holds an input cell. A
// result below 1 means the input is too small for the window.
func PoolOutputSizeMode(in, kernel, stride, pad int, ceil bool) int {
	if stride < 1 {
		return 0
	}
	num := in + 2*pad - kernel
	if ceil {
		num += stride - 1
	}
	out := floorDiv(num, stride) + 1
	if ceil && (out-1)*stride >= in+pad {
		out--
	}
	return out
}

// floorDiv is a/b rounded toward minus infinity (b > 0).
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// MaxPool takes the maximum of kernel x kernel windows of x (N, C, H, W) at
// the given stride over an implicitly padded input, with PyTorch's
// semantics: a padded cell never wins, ties go to the first maximum in
// row-major order, the output size is floor mode. It records the switches,
// which the returned *Switches exposes after every forward run. A window
// holding a NaN makes the run fail with an error instead of choosing.
func MaxPool(x *G.Node, kernel, stride, pad int) (*G.Node, *Switches, error) {
	return MaxPoolMode(x, kernel, stride, pad, false)
}

// MaxPoolMode is MaxPool with PyTorch's ceil_mode when ceil is set: the
// output size is PoolOutputSizeMode's, and the last windows, which may run
// past the input (and its right padding), are clipped to it, so that no
// padded cell wins there either. pytorchcv's ZFNet and Caffe's networks pool
// this way (Caffe always rounds up). Unpool works with the switches as for
// MaxPool, given the input's height and width.
func MaxPoolMode(x *G.Node, kernel, stride, pad int, ceil bool) (*G.Node, *Switches, error) {
	if kernel < 1 || stride < 1 || pad < 0 || 2*pad > kernel {
		return nil, nil, errors.Errorf("MaxPool: need kernel >= 1, stride >= 1 and 0 <= pad <= kernel/2, got kernel %d stride %d pad %d", kernel, stride, pad)
	}
	sw := &Switches{}
	n, err := apply(&maxPoolOp{K: kernel, S: stride, P: pad, Ceil: ceil, Sw: sw, ID: nextID()}, x)
	return n, sw, err
}

type maxPoolOp struct {
	opBase
	outBuf
	K, S, P int
	Ceil    bool // PyTorch's ceil_mode (output size only: windows are clipped anyway)
	Sw      *Switches
	ID      uint64
}

func (op *maxPoolOp) Arity() int         { return 1 }
func (op *maxPoolOp) Type() hm.Type      { return fnType(4, 4) }
func (op *maxPoolOp) WriteHash(h hasher) { writeHash(h, op) }
func (op *maxPoolOp) Hashcode() uint32   { return hashcode(op) }
func (op *maxPoolOp) String() string {
	return fmt.Sprintf("MaxPool{kernel=%d, stride=%d, pad=%d, ceil=%t, id=%d}", op.K, op.S, op.P, op.Ceil, op.ID)
}

func (op *maxPoolOp) outShape(s tensor.Shape) (tensor.Shape, error) {
	if len(s) != 4 {
		return nil, errors.Errorf("%v: input %v must be 4-D (N, C, H, W)", op, s)
	}
	if !op.Ceil {
		if s[2]+2*op.P < op.K || s[3]+2*op.P < op.K {
			return nil, errors.Errorf("%v: input %v is smaller than the window", op, s)
		}
		return tensor.Shape{s[0], s[1], PoolOutputSize(s[2], op.K, op.S, op.P), PoolOutputSize(s[3], op.K, op.S, op.P)}, nil
	}
	oh, ow := PoolOutputSizeMode(s[2], op.K, op.S, op.P, true), PoolOutputSizeMode(s[3], op.K, op.S, op.P, true)
	if oh < 1 || ow < 1 {
		return nil, errors.Errorf("%v: input %v is smaller than the window", op, s)
	}
	return tensor.Shape{s[0], s[1], oh, ow}, nil
}

func (op *maxPoolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if err := checkArity(op, len(in)); err != nil {
		return nil, err
	}
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	return op.outShape(s)
}

func (op *maxPoolOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 4)
	if err != nil {
		return nil, err
	}
	x := ts[0]
	os, err := op.outShape(x.Shape())
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	sw := op.Sw
	sw.N, sw.C, sw.H, sw.W, sw.OH, sw.OW = s[0], s[1], s[2], s[3], os[2], os[3]
	if len(sw.Index) != os.TotalSize() {
		sw.Index = make([]int32, os.TotalSize())
	}
	y := op.get(x.Dtype(), os...)
	if x.Dtype() == tensor.Float32 {
		err = maxPool(op, sliceOf[float32](x), sliceOf[float32](y))
	} else {
		err = maxPool(op, sliceOf[float64](x), sliceOf[float64](y))
	}
	if err != nil {
		sw.Index = sw.Index[:0] // never leave half-written switches behind
		return nil, err
	}
	return y, nil
}

func maxPool[T float](op *maxPoolOp, x, y []T) error {
	sw := op.Sw
	in, out := sw.H*sw.W, sw.OH*sw.OW
	var once sync.Once
	var nanErr error
	_, isF32 := any(x).([]float32)
	var keys [][]int32
	if isF32 {
		var give func()
		keys, give = borrowSet[int32](workers(sw.N*sw.C), in+poolKeyPad)
		defer give()
	}
	parallelFor(sw.N*sw.C, func(wk int, p int) {
		plane, yp, ip := x[p*in:(p+1)*in], y[p*out:(p+1)*out], sw.Index[p*out:(p+1)*out]
		// A NaN never wins a comparison, so it is looked for once per plane
		// rather than in every (overlapping) window.
		look := true // for a NaN; float32 planes know whether they hold one
		if isF32 {
			look = orderKeys32(any(plane).([]float32), keys[wk])
		}
		nan := -1
		for i, v := range plane {
			if !look {
				break
			}
			if v != v {
				nan = i
				break
			}
		}
		if nan >= 0 {
			once.Do(func() {
				nanErr = errors.Wrapf(ErrNotFinite, "%v: NaN in plane %d at (%d, %d)", op, p, nan/sw.W, nan%sw.W)
			})
			return
		}
		if isF32 {
			poolArgmax(op, keys[wk], ip) // integer keys compile to conditional moves
		} else {
			poolArgmax(op, plane, ip)
		}
		for i, arg := range ip {
			yp[i] = plane[arg]
		}
	})
	return nanErr
}

// poolArgmax writes each window's switch: the flat position of its largest
// key, the first in row-major order on ties.
func poolArgmax[K ~int32 | ~float32 | ~float64](op *maxPoolOp, key []K, ip []int32) {
	sw := op.Sw
	k32, isKeys := any(key).([]int32)
	for oh := 0; oh < sw.OH; oh++ {
		h0 := oh*op.S - op.P
		hlo, hhi := max(h0, 0), min(h0+op.K, sw.H)
		// The paper's 3x3/2 pooling: the row's windows that lie inside the
		// plane go 16 at a time through pool3x3s2AVX512 where it runs.
		lo, hi := 0, 0
		if isKeys && op.K == 3 && op.S == 2 && h0 >= 0 && h0+3 <= sw.H && sw.W+op.P >= 3 {
			lo, hi = (op.P+1)/2, min(sw.OW, (sw.W+op.P-3)/2+1)
			if lo >= hi || !poolRow3x3s2(k32, sw.W, hi-lo, int32(h0*sw.W+2*lo-op.P), ip[oh*sw.OW+lo:]) {
				lo, hi = 0, 0
			}
		}
		for ow := 0; ow < sw.OW; ow++ {
			if ow == lo && lo < hi {
				ow = hi - 1
				continue
			}
			w0 := ow*op.S - op.P
			if isKeys && op.K == 3 && w0 >= 0 && w0+3 <= sw.W && h0 >= 0 && h0+3 <= sw.H {
				ip[oh*sw.OW+ow] = int32(h0*sw.W+w0) + argmax3x3(k32[h0*sw.W+w0:], sw.W)
				continue
			}
			wlo, whi := max(w0, 0), min(w0+op.K, sw.W)
			arg := int32(hlo*sw.W + wlo)
			best := key[arg]
			for h := hlo; h < hhi; h++ {
				row := key[h*sw.W : h*sw.W+whi]
				for w := wlo; w < whi; w++ {
					if k := row[w]; k > best {
						best, arg = k, int32(h*sw.W+w)
					}
				}
			}
			ip[oh*sw.OW+ow] = arg
		}
	}
}

// argmax3x3 is poolArgmax for one 3x3 window of int32 keys inside the
// plane (rows w apart), unrolled: the paper's pooling, and most windows.
// Each key is widened with its position below it, so that one max, which
// compiles to conditional moves, finds both the largest key and, among
// equal keys, the first position.
func argmax3x3(k []int32, w int) int32 {
	r0, r1, r2 := k[:3], k[w:w+3], k[2*w:2*w+3]
	const last = 1 << 30 // above every position: (last - at) falls as at grows
	c := func(v int32, at int) int64 { return int64(v)<<32 | int64(last-at) }
	m := max(c(r0[0], 0), c(r0[1], 1), c(r0[2], 2),
		c(r1[0], w), c(r1[1], w+1), c(r1[2], w+2),
		c(r2[0], 2*w), c(r2[1], 2*w+1), c(r2[2], 2*w+2))
	return int32(last - int(uint32(m)))
}

// orderKeys32 writes, for every value of plane, an integer that orders like
// the value: key(a) > key(b) exactly when a > b, with -0 and +0 sharing a
// key as they compare equal. Comparing keys instead of floats lets the
// compiler select without branching; on the signs after a convolution a
// branch mispredicts about every other new maximum. It reports whether the
// plane holds a NaN (whose keys order nothing).
func orderKeys32(plane []float32, key []int32) (hasNaN bool) {
	if nan, ok := orderKeysAsm(plane, key); ok {
		return nan
	}
	key = key[:len(plane)]
	var nan int32
	for i, v := range plane {
		b := int32(math.Float32bits(v))
		s, mag := b>>31, b&0x7fffffff
		key[i] = (mag ^ s) - s  // -mag for negatives: -0 -> 0
		nan |= 0x7f800000 - mag // negative exactly for a NaN
	}
	return nan < 0
}

func (op *maxPoolOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: the gradient goes back to each window's switch, adding up where
// overlapping windows share one: exactly Unpool applied to the gradient.
func (op *maxPoolOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	s := in[0].Shape()
	dx, err := apply(&unpoolOp{Sw: op.Sw, H: s[2], W: s[3], ID: op.ID}, grad)
	return G.Nodes{dx}, err
}
