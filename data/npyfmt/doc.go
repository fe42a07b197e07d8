// Package npyfmt writes the header of a NumPy .npy file, format 1.0: the
// one piece of the format that every .npy this toolkit writes shares
// (means and inputs in package data, weights and checkpoints in
// zfnet/weights, index arrays), so that they all carry the same bytes numpy
// writes.
//
// A header is the magic "\x93NUMPY", the version 1.0, the little-endian
// length of the dict that follows, and the dict itself ({'descr': ...,
// 'fortran_order': False, 'shape': (...), }) padded with spaces and a
// newline so that the data starts at a multiple of 64 bytes. The values
// follow in C order, in the byte order descr names.
//
// Invariants: the same descr and shape always give the same bytes; a
// header is never longer than format 1.0 allows (Header refuses shapes
// whose dict would pass 65535 bytes, which takes thousands of dimensions).
// Reading .npy files is not here: package data reads float arrays and
// zfnet/weights reads every dtype of untrusted files.
package npyfmt
