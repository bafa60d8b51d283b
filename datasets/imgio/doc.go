// Package imgio turns image files (PNG, including 16-bit, and JPEG) into
// the pixel layout of the dataset format — row-major height x width x
// channels, uint8 or uint16 — and writes PNG sample grids.
//
// Colour images become grayscale with the ITU-R 601 luma weights
// (0.299 R + 0.587 G + 0.114 B, as PIL's "L" mode); grayscale becomes RGB by
// repeating the value; alpha is dropped. 8-bit values become 16-bit by
// multiplying by 257 (so 255 maps to 65535); 16-bit becomes 8-bit by dividing
// by 257, rounded.
package imgio
