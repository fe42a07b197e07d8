// Package deconvnet shows what a trained ZFNet has learned, with the
// method of Zeiler & Fergus (2014, section 2.1): a deconvolutional network
// attached to the convnet projects a chosen feature activation back to
// pixel space.
//
// # The projection
//
// New attaches a Net to a zfnet.Model: a recording forward graph and, built
// on first use, one projection graph per (layer, Options), whose weight
// nodes are bound to the model's own weight tensors (zero copy: a solver
// step on the model is seen at once). Forward runs a batch and records the
// max-pooling switches and the activations; Isolate picks activations (a
// Target: one position of a feature map, its strongest, or the whole map)
// and Project walks the signal down, undoing each layer: max pooling by
// unpooling with the recorded switches, ReLU by rectifying the signal,
// convolution by filtering with the transposed weights of the same layer.
// Biases are not used; LRN is skipped unless Options.ThroughLRN. The Rule
// says how a ReLU is crossed, the only difference between the deconvnet,
// guided backpropagation and plain gradient saliency; CompareRules shows
// the three side by side. ReceptiveField and FieldSize say which input
// pixels an activation can see ("conv3" means conv3's rectified output,
// see Resolve).
//
// # The methods that came after
//
// Each is the same walk with another start, stop or input, so each lives
// here beside it: Grad-CAM and Guided Grad-CAM (the walk from a class logit
// stopped at a convolution, ProjectTo), SmoothGrad (averaged over noisy
// copies), integrated gradients (along a path from a baseline, with its
// completeness error), occlusion maps with any fill (OcclusionMap) and
// activation maximization (gradient ascent on the input). CompareMethods
// runs them all on one input. GradientOptions are the options under which
// a walk is the exact gradient.
//
// # Where the rest lives
//
// The paper's experiments (top-9 per feature map, feature evolution,
// invariance, filters, occlusion, correspondence) are in package
// deconvnet/experiments; drawing (projections, heat maps, grids, PNG files,
// the HTML gallery) in package deconvnet/figure, which results' Image
// methods call; the activation index over whole data sets in
// deconvnet/index. Which layer is "layer 5", "layer 7" or the logits is
// the model's to say: zfnet.Model.TopConvLayer, PenultimateLayer,
// LogitsLayer.
//
// # Invariants
//
// Inputs are model inputs: C x H x W float32 values, NCHW batches,
// preprocessed (mean subtracted). Slices a function returns are new and
// the caller's, except Activation and ActivationRow, which are views of
// the latest forward pass (copy them to keep them past the next one), and
// the logits ForwardEach hands to its visitor.
//
// A Net is not safe for concurrent use, and two Nets over one model must
// not build projection graphs at the same time: Gorgonia's NewTapeMachine
// writes the engine field of every tensor its graph binds, the shared
// weights included (running built graphs concurrently is fine).
package deconvnet
