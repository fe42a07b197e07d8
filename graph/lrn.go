package graph

import (
	"fmt"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LRNParams configure cross-map local response normalization,
//
//	b_c = a_c / (K + Alpha/Size * sum_{c' in window(c)} a_c'^2)^Beta,
//
// with window(c) = [c - Size/2, c + (Size-1)/2] clipped to the existing maps.
// This is torch.nn.LocalResponseNorm(Size, Alpha, Beta, K) exactly: Alpha is
// divided by Size. TensorFlow's tf.nn.local_response_normalization does not
// divide: its (depth_radius r, alpha_tf, beta, bias) equal Size = 2r+1,
// Alpha = alpha_tf*Size, K = bias here.
//
// With WithinMap set, the window is spatial instead (Caffe's LRN with
// norm_region WITHIN_CHANNEL):
//
//	b_c(i,j) = a_c(i,j) / (K + Alpha/Size^2 * sum_{(i',j') in window(i,j)} a_c(i',j')^2)^Beta,
//
// window(i,j) the Size x Size square centred on (i,j), zero outside the map
// (padding (Size-1)/2). Alpha is divided by Size^2, the window's area:
// Caffe computes the sum as an average pooling of the squares with padding
// counted (each window's divisor is Size^2), then scales it by alpha. Size
// must be odd, as Caffe requires. Caffe's within-channel LRN ignores its k
// and adds 1: import it with K = 1.
type LRNParams struct {
	Size           int
	Alpha, Beta, K float64
	WithinMap      bool // normalize over a spatial window within each map (Caffe's WITHIN_CHANNEL)
}

// desc names the parameters as the ops print them (within-map only when
// set, so cross-map ops print as they always have).
func (p LRNParams) desc() string {
	w := ""
	if p.WithinMap {
		w = ", withinMap=true"
	}
	return fmt.Sprintf("size=%d, alpha=%g, beta=%g, k=%g%s", p.Size, p.Alpha, p.Beta, p.K, w)
}

// DefaultLRN is the paper's (and AlexNet's) normalization: n=5, alpha=1e-4,
// beta=0.75, k=2.
var DefaultLRN = LRNParams{Size: 5, Alpha: 1e-4, Beta: 0.75, K: 2}

func (p LRNParams) validate() error {
	if p.Size < 1 || p.K <= 0 || p.Alpha < 0 || p.Beta < 0 {
		return errors.Errorf("LRN: need Size >= 1, K > 0, Alpha >= 0, Beta >= 0; got %+v", p)
	}
	if p.WithinMap && p.Size%2 == 0 {
		return errors.Errorf("LRN: a within-map window needs an odd Size (centred on its pixel), got %+v", p)
	}
	return nil
}

// LRN normalizes x (N, C, H, W) across its feature maps, or within each
// map when p.WithinMap is set.
func LRN(x *G.Node, p LRNParams) (*G.Node, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	return apply(&lrnOp{P: p, Cache: &lrnCache{}}, x)
}

type lrnOp struct {
	opBase
	outBuf
	P     LRNParams
	Grad  bool      // the gradient op: inputs (x, dy), output dx
	Cache *lrnCache // shared by a forward op and its gradient op; may be nil
}

func (op *lrnOp) Arity() int {
	if op.Grad {
		return 2
	}
	return 1
}

func (op *lrnOp) Type() hm.Type {
	if op.Grad {
		return fnType(4, 4, 4)
	}
	return fnType(4, 4)
}
func (op *lrnOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(op, in) }
func (op *lrnOp) WriteHash(h hasher)                                { writeHash(h, op) }
func (op *lrnOp) Hashcode() uint32                                  { return hashcode(op) }
func (op *lrnOp) String() string {
	return fmt.Sprintf("LRN{%s, grad=%t}", op.P.desc(), op.Grad)
}

func (op *lrnOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 4)
	if err != nil {
		return nil, err
	}
	s := ts[0].Shape()
	out := op.get(ts[0].Dtype(), s...)
	if out.Dtype() == tensor.Float32 {
		lrnRun(op, s, ts, sliceOf[float32](out))
	} else {
		lrnRun(op, s, ts, sliceOf[float64](out))
	}
	return out, nil
}

func lrnRun[T float](op *lrnOp, s tensor.Shape, ts []*tensor.Dense, out []T) {
	n, c, l := s[0], s[1], s[2]*s[3]
	x := sliceOf[T](ts[0])
	// The forward pass leaves scale^-beta and scale in the shared cache for
	// the backward pass of the same step, which then skips recomputing them.
	cache := op.Cache
	if cache != nil && !cache.wanted {
		cache = nil // nothing differentiates this graph: keep no copies
	}
	var pw, scale []T
	if cache != nil {
		if op.Grad {
			pw, _ = cache.pw.([]T)
			scale, _ = cache.scale.([]T)
			if len(pw) != len(x) || cache.x != &x[0] {
				pw, scale = nil, nil
			}
		} else {
			pw, _ = cache.pw.([]T)
			scale, _ = cache.scale.([]T)
			if len(pw) != len(x) {
				pw, scale = make([]T, len(x)), make([]T, len(x))
				cache.pw, cache.scale = pw, scale
			}
			cache.x = &x[0]
		}
	}
	// Per-worker scratch for one image at a time, borrowed (scratch.go).
	p := workers(n)
	bufs, give := borrowSet[T](3*p, c*l)
	defer give()
	within := op.P.WithinMap
	nrun := l
	if within {
		nrun = 2 * l // and the row sums of the spatial window
	}
	runs, giveRuns := borrowSet[float64](p, nrun)
	defer giveRuns()
	work := make([]lrnWork[T], p)
	for w := range work {
		work[w] = lrnWork[T]{sq: bufs[3*w], pw: bufs[3*w+1], scale: bufs[3*w+2], run: runs[w][:l], h: s[2], w: s[3]}
		if within {
			work[w].rows = runs[w][l:]
		}
	}
	parallelFor(n, func(wk, i int) {
		ws := &work[wk]
		lo, hi := i*c*l, (i+1)*c*l
		pwi, si, cached := ws.pw, ws.scale, pw != nil
		if cached {
			pwi, si = pw[lo:hi], scale[lo:hi]
		}
		scaleFn, backwardFn := lrnScale[T], lrnBackward[T]
		if within {
			scaleFn, backwardFn = lrnScaleWithin[T], lrnBackwardWithin[T]
		}
		if op.Grad {
			if !cached {
				scaleFn(op.P, c, l, x[lo:hi], pwi, si, ws)
			}
			backwardFn(op.P, c, l, x[lo:hi], sliceOf[T](ts[1])[lo:hi], out[lo:hi], pwi, si, ws)
		} else {
			scaleFn(op.P, c, l, x[lo:hi], pwi, si, ws)
			product(x[lo:hi], pwi, out[lo:hi])
		}
	})
}

// lrnCache carries the forward pass's per-element scale (and its power)
// to the backward pass. x identifies the input they were computed for.
type lrnCache struct {
	pw, scale any // []T
	x         any // *T: the first element of the forward input
	// wanted is set when the gradient op is made (SymDiff, while the graph
	// is built): inference graphs, never differentiated, keep no cache.
	wanted bool
}

// lrnWork is one worker's scratch for one image: squares (or the backward
// pass's products), scales when there is no cache, and a running sum.
type lrnWork[T float] struct {
	sq, pw, scale []T
	run           []float64
	rows          []float64 // within-map: row sums of the window
	h, w          int       // the map's size
}

// windowSums computes, for every map ch of one image (c maps of l
// positions), the sum of v over maps [ch-lo, ch+hi] clipped to [0, c), with
// a running sum over the maps (two passes instead of Size), in float64.
func windowSums[T float](c, l, lo, hi int, v []T, run []float64, emit func(ch int, sums []float64)) {
	clear(run)
	for k := 0; k <= min(hi, c-1); k++ {
		accumulate(run, v[k*l:(k+1)*l], false)
	}
	for ch := 0; ch < c; ch++ {
		emit(ch, run)
		if k := ch + hi + 1; k < c {
			accumulate(run, v[k*l:(k+1)*l], false)
		}
		if k := ch - lo; k >= 0 {
			accumulate(run, v[k*l:(k+1)*l], true)
		}
	}
}

// lrnScale fills scale_c = K + Alpha/Size * sum of squares over window(c)
// and pw_c = scale_c^-beta for one image.
func lrnScale[T float](p LRNParams, c, l int, x, pw, scale []T, ws *lrnWork[T]) {
	sq := ws.sq[:len(x)]
	square(x, sq)
	a := p.Alpha / float64(p.Size)
	windowSums(c, l, p.Size/2, (p.Size-1)/2, sq, ws.run, func(ch int, sums []float64) {
		scaleRow(sums, p.K, a, p.Beta, scale[ch*l:(ch+1)*l], pw[ch*l:(ch+1)*l])
	})
}

// lrnBackward: with y_c = x_c scale_c^-beta,
//
//	dx_j = dy_j scale_j^-beta - 2 beta Alpha/Size x_j sum_{c : j in window(c)} dy_c y_c / scale_c,
//
// and j in window(c) exactly when c in [j - (Size-1)/2, j + Size/2]. pw and
// scale are the forward pass's.
func lrnBackward[T float](p LRNParams, c, l int, x, dy, dx, pw, scale []T, ws *lrnWork[T]) {
	t := ws.sq[:c*l] // dy_c * y_c / scale_c
	backwardTerms(dy, x, pw, scale, t, dx)
	f := 2 * p.Beta * p.Alpha / float64(p.Size)
	windowSums(c, l, (p.Size-1)/2, p.Size/2, t, ws.run, func(j int, sums []float64) {
		backwardCross(dx[j*l:(j+1)*l], x[j*l:(j+1)*l], sums, f)
	})
}

// lrnScaleWithin is lrnScale for the within-map window: scale = K +
// Alpha/Size^2 * sum of squares over the Size x Size window of each pixel.
func lrnScaleWithin[T float](p LRNParams, c, l int, x, pw, scale []T, ws *lrnWork[T]) {
	sq := ws.sq[:len(x)]
	square(x, sq)
	a := p.Alpha / float64(p.Size*p.Size)
	for ch := 0; ch < c; ch++ {
		boxSums(ws.h, ws.w, (p.Size-1)/2, sq[ch*l:(ch+1)*l], ws.rows, ws.run)
		scaleRow(ws.run, p.K, a, p.Beta, scale[ch*l:(ch+1)*l], pw[ch*l:(ch+1)*l])
	}
}

// lrnBackwardWithin is lrnBackward for the within-map window: with y_q =
// x_q scale_q^-beta,
//
//	dx_q = dy_q scale_q^-beta - 2 beta Alpha/Size^2 x_q sum_{q' : q in window(q')} dy_q' y_q' / scale_q',
//
// and as the window is centred (Size odd), q is in window(q') exactly when
// q' is in window(q): the sum is the same box filter as the forward's.
func lrnBackwardWithin[T float](p LRNParams, c, l int, x, dy, dx, pw, scale []T, ws *lrnWork[T]) {
	t := ws.sq[:c*l] // dy_q * y_q / scale_q
	backwardTerms(dy, x, pw, scale, t, dx)
	a := p.Alpha / float64(p.Size*p.Size)
	f := 2 * p.Beta * a
	for ch := 0; ch < c; ch++ {
		boxSums(ws.h, ws.w, (p.Size-1)/2, t[ch*l:(ch+1)*l], ws.rows, ws.run)
		backwardCross(dx[ch*l:(ch+1)*l], x[ch*l:(ch+1)*l], ws.run, f)
	}
}

// boxSums writes to sums the sum of the h x w map v over the (2r+1) x
// (2r+1) window centred on each position, zero outside the map, in float64:
// rows first (into rows), then columns of those.
func boxSums[T float](h, w, r int, v []T, rows, sums []float64) {
	rows, sums = rows[:h*w], sums[:h*w]
	for i := 0; i < h; i++ {
		src, dst := v[i*w:(i+1)*w], rows[i*w:(i+1)*w]
		for j := range dst {
			var s float64
			for _, e := range src[max(j-r, 0):min(j+r+1, w)] {
				s += float64(e)
			}
			dst[j] = s
		}
	}
	for i := 0; i < h; i++ {
		dst := sums[i*w : (i+1)*w]
		clear(dst)
		for k := max(i-r, 0); k < min(i+r+1, h); k++ {
			for j, e := range rows[k*w : (k+1)*w] {
				dst[j] += e
			}
		}
	}
}

func (op *lrnOp) DiffWRT(n int) []bool {
	if op.Grad {
		return []bool{false, false}
	}
	return []bool{true}
}

func (op *lrnOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if op.Grad {
		return nil, errors.Errorf("%v: second derivatives are not implemented", op)
	}
	if op.Cache != nil {
		op.Cache.wanted = true
	}
	dx, err := apply(&lrnOp{P: op.P, Grad: true, Cache: op.Cache}, in[0], grad)
	return G.Nodes{dx}, err
}

// LRNBackward propagates a signal dy through an LRN layer linearized at the
// input a forward pass recorded (the LRN's input activation): the LRN's
// gradient. The deconvnet uses it when asked to go through normalization
// instead of skipping it. It serves cross-map and within-map (p.WithinMap)
// normalizations alike.
func LRNBackward(dy *G.Node, input *Activation, p LRNParams) (*G.Node, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	return apply(&lrnRecordedOp{P: p, Act: input, ID: nextID()}, dy)
}

// lrnRecordedOp is lrnOp's gradient with x read from an Activation.
type lrnRecordedOp struct {
	opBase
	P   LRNParams
	Act *Activation
	ID  uint64
}

func (op *lrnRecordedOp) Arity() int                                        { return 1 }
func (op *lrnRecordedOp) Type() hm.Type                                     { return fnType(4, 4) }
func (op *lrnRecordedOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(op, in) }
func (op *lrnRecordedOp) WriteHash(h hasher)                                { writeHash(h, op) }
func (op *lrnRecordedOp) Hashcode() uint32                                  { return hashcode(op) }
func (op *lrnRecordedOp) String() string {
	return fmt.Sprintf("LRNBackward{%s, id=%d}", op.P.desc(), op.ID)
}
func (op *lrnRecordedOp) DiffWRT(int) []bool { return []bool{false} }
func (op *lrnRecordedOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.Errorf("%v: second derivatives are not implemented", op)
}

func (op *lrnRecordedOp) Do(vs ...G.Value) (G.Value, error) {
	ts, err := denseArgs(op, vs, 4)
	if err != nil {
		return nil, err
	}
	x := op.Act.Value()
	if x == nil || !x.Shape().Eq(ts[0].Shape()) || x.Dtype() != ts[0].Dtype() {
		return nil, errors.Errorf("%v: no recorded input matching %v: run the forward pass first", op, ts[0].Shape())
	}
	return (&lrnOp{P: op.P, Grad: true}).Do(x, ts[0])
}
