// Package experiments runs the experiments of Zeiler & Fergus (2014),
// section 4, on a deconvnet.Net, one file each:
//
//   - top9.go, Fig. 2: the k strongest activations of every feature map
//     over a data set (Top9, TopKLayers), each projected to pixel space
//     beside the input patch that caused it, both cropped to the
//     receptive field. Two passes: the set is streamed once keeping k
//     entries per map, then only the winners' images are run again.
//   - evolution.go, Fig. 4: the strongest activation of chosen maps at
//     several training snapshots (Evolution, SnapshotFiles, SampleInputs).
//   - invariance.go and transform.go, Fig. 5: feature distances and the
//     true class's probability under translation, scaling and rotation of
//     the picture (before the mean is subtracted, as a moved object would
//     be photographed).
//   - filters.go, Fig. 6: layer-1 filters compared across models
//     (CompareFilters) and the effect of renormalizing filters whose RMS
//     exceeds a radius (FilterRMS, RenormalizationComparison).
//   - occlusion.go, Fig. 7: a gray square slid over the image; the watched
//     feature map's total activation, the correct class's probability and
//     the most probable label by position (Occlude, OcclusionFigure).
//   - correspondence.go, Fig. 8 and Table 1: whether occluding the same
//     part of different images changes the features the same way (Delta,
//     against occluders at random places).
//
// Each experiment returns a result value holding its numbers; its Image
// method (or a function beside it) draws the paper's figure with package
// figure. The variants and methods that are the deconvnet's walk itself
// (occlusion maps with other fills, Grad-CAM, ...) are in package
// deconvnet.
//
// # Invariants
//
// Inputs are preprocessed model inputs (C x H x W, mean subtracted) unless
// a function says it takes decoded pictures (data.Image, values in [0, 1]:
// Invariance and the transforms). Experiments drive the Net they are given
// (its forward pass and projection graphs) and leave its model's weights as
// they found them (Evolution loads snapshots into the model's tensors and
// puts the weights back before it returns); like the Net, they are not
// safe for concurrent use on one Net. Results and the images drawn from
// them are new and the caller's. Data are streamed in the Net's batch
// size, deterministically: the same inputs give the same results.
package experiments
