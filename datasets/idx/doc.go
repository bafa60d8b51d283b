// Package idx reads IDX files, the format of MNIST and Fashion-MNIST
// (train-images-idx3-ubyte, train-labels-idx1-ubyte, ...), raw or gzipped,
// streaming: a Reader hands out one record (image or label) at a time.
//
// Layout: two zero bytes, a type byte (0x08 unsigned byte, 0x09 signed byte,
// 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
// dimensions, then each dimension as a big-endian uint32, then the data in
// row-major order. Only unsigned-byte data can be read; any malformed input
// is an error saying what was expected, never a panic.
package idx
