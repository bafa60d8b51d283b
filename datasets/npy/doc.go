// Package npy reads NumPy .npy arrays and .npz archives (zip files of .npy
// entries, stored or deflated, in any order) without loading them whole:
// a Reader streams the elements of one array, so that an image array can be
// converted row by row.
//
// Supported: format versions 1.0, 2.0 and 3.0; C order; element types bool,
// int8..int64 and uint8..uint64 in either byte order (float arrays can be
// described but not read as integers). Every malformed input is an error
// saying what was expected; nothing panics.
package npy
