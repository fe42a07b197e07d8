// Package figure is zfnet's one drawing toolkit: it turns the numbers the
// deconvnet and its experiments compute into pictures, and pictures into
// PNG files and an HTML gallery. It knows nothing of networks (it does
// not import package deconvnet; the results' Image methods call it), so a
// notebook or a program draws its own figures with the same pieces.
//
// # Signals, heat maps and filters
//
// A projection (the deconvnet's reconstruction of an activation in pixel
// space, Zeiler & Fergus 2014, section 2.1) has no natural scale:
// ProjectionImage scales each one on its own, zero at mid-gray, positive
// brighter, negative darker. Attribution magnitudes (MagnitudeImage), class
// scores by occluder position (the paper's Fig. 7) and Grad-CAM maps are
// drawn on the Heat colour scale, dark blue to yellow: Heatmap spreads a map
// from its minimum to its maximum, HeatmapRange over a fixed range (a
// probability on [0, 1]); Overlay lays one over the picture it explains.
// FilterImage and FilterGrid draw a convolution's filters (Fig. 6).
//
// # Layout and text
//
// Grid, Row, Column and Padded arrange pictures; Titled and Captioned add a
// line of text above or below, Panels a row of titled panels with colour
// bars and legends; Scale enlarges with nearest-neighbour sampling so that
// 28x28 digits and 7x7 filters stay crisp. Text uses the 7x13 bitmap face
// of golang.org/x/image: no font files, the same pixels everywhere.
//
// # Files
//
// SavePNG writes a PNG atomically; WriteGallery adds pictures to a
// folder's index.html (the `zfnet visualize` gallery), keeping what earlier
// calls wrote there; SavePlots writes a table of gonum plots.
//
// Every function returns a new image that the caller owns (Scale with a
// factor of 1 or less returns its argument); none keeps or modifies its
// inputs, and all are safe for concurrent use.
package figure
