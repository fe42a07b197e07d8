// Package deconvnet shows what a trained ZFNet has learned, with the
// method of Zeiler & Fergus (2014): a deconvolutional network attached to
// the convnet projects a chosen feature activation back to pixel space.
//
// The deconvnet is a second Gorgonia graph whose weight nodes are bound to
// the model's own weight tensors (zero copy: a solver step on the model is
// seen at once). Going down from the chosen layer it undoes each layer:
// max pooling by unpooling with the switches the forward pass recorded,
// ReLU by rectifying the signal, convolution by filtering with the
// transposed weights of the same layer. Biases are not used; LRN is skipped
// unless asked for. The same walk with the ReLU rule swapped gives plain
// gradient saliency and guided backpropagation, for comparison.
//
// On top of the projection sit the paper's experiments, one file each:
// top-9 activations per feature map with their input patches (Fig. 2),
// filters (Fig. 6), feature evolution during training (Fig. 4), invariance
// curves (Fig. 5), occlusion sensitivity (Fig. 7) and correspondence
// (Table 1). Results are image.Image values (render.go) so that notebooks
// show them inline, and PNG files with an index.html for the command line.
//
// Beside them, the methods that came after, each a small change of the same
// walk or of the occlusion loop: Grad-CAM and Guided Grad-CAM (gradcam.go),
// SmoothGrad (smoothgrad.go), integrated gradients with its completeness
// error (integrated.go), occlusion variants (occlusion_variants.go) and
// activation maximization (actmax.go); CompareMethods shows them side by
// side. Package index keeps every unit's top-K over a whole data set.
//
// A Net is not safe for concurrent use, and two Nets over one model must
// not build projection graphs at the same time: Gorgonia's NewTapeMachine
// writes the engine field of every tensor its graph binds, the shared
// weights included (running built graphs concurrently is fine).
package deconvnet
