// Package arrowds is pgaug's dataset format for image classification: Apache
// Arrow IPC files, readable as they are by pyarrow, polars, Arrow JS or any
// other Arrow implementation, with a writer and an indexed reader.
//
// # Layout
//
// A dataset is one Arrow IPC file (the "file" format, magic ARROW1, usually
// *.arrow) or a directory of them (part-00000.arrow, part-00001.arrow, ...;
// every *.arrow file in the directory, in name order; hidden files ignored).
// All files of a dataset have the same columns and the same task, classes,
// channels and pixel type. One row is one image:
//
//	column    type                             notes
//	id        utf8                             unique within the dataset
//	source    utf8                             where the image came from (path, archive entry)
//	split     utf8                             "train", "val" or "test"
//	label     int32                            class index; binary and multiclass tasks
//	labels    fixed_size_list<int32>[K]        multi-hot 0/1 per class; multilabel task (instead of label)
//	height    int32                            rows of this image (sizes may differ per row)
//	width     int32                            columns of this image
//	channels  int32                            1 or 3, equal to the metadata's channels
//	group     utf8, nullable (optional)        patient or study id, for group-aware splits
//	bbox      fixed_size_list<float32>[4],     x_min, y_min, x_max, y_max in pixels
//	          nullable (optional)
//	pixels    list<uint8> or list<uint16>      height*width*channels values, row-major H x W x C
//	                                           (channels interleaved), element type = pixel dtype
//	mask      list<uint8>, nullable (optional) height*width values, one per pixel
//
// The small columns come first and pixels (and mask) last, so that reading
// the small columns of a record batch touches one contiguous region. Readers
// also accept: large_utf8 or dictionary<utf8> strings, any integer type for
// the int32 columns, binary pixels (uint8), list<int32> class indices for
// labels, and compressed (LZ4/ZSTD) record batches. Extra columns are
// allowed and are kept by the rewriting operations (split, sample, stats).
//
// Schema metadata (every value a string; lists are JSON):
//
//	pgaug.format       "pgaug-image/1"
//	pgaug.name         dataset name, e.g. "pneumoniamnist"
//	pgaug.task         "binary" | "multiclass" | "multilabel"
//	pgaug.classes      JSON array of class names; index = label
//	pgaug.channels     "1" or "3"
//	pgaug.pixel_dtype  "uint8" or "uint16"
//	pgaug.source       origin of the data
//	pgaug.licence      licence of the images
//	pgaug.attribution  citation
//	pgaug.description  free text (optional)
//	pgaug.norm_mean    JSON array, per channel, of pixels scaled to [0,1] (after `pgaug data stats`)
//	pgaug.norm_std     JSON array, per channel, idem
//	pgaug.norm_split   split the statistics were computed on
//
// Other metadata keys are preserved.
//
// In Python: pyarrow.ipc.open_file(path).read_all(), or
// polars.read_ipc(path); one image is
// numpy.asarray(row["pixels"], dtype=numpy.uint8).reshape(h, w, c).
//
// # Writing
//
// A Writer (Create) validates every sample against the metadata, writes
// record batches of RowsPerBatch rows, and in directory mode rolls to a new
// part file every RowsPerFile rows. It is atomic: files are written under
// hidden temporary names (a staging directory next to the output), synced,
// and renamed into place by Close, so an interrupted run never leaves a
// complete-looking dataset. Rewrite copies a dataset batch by batch with new
// metadata or changed batches, with the same guarantees.
//
// # Reading
//
// Open reads each file's footer and builds an index of the rows — every
// column but the pixels and mask, plus where each row's pixels lie — by
// loading only the small columns' buffers. Pixels are then read row by row
// with one positioned read each (ReadImage, ReadSample), from any goroutine;
// nothing loads a whole dataset. Files the direct path cannot address
// (compressed batches, dictionary-encoded index columns) are decoded by the
// Arrow library one record batch at a time instead. Scan streams whole
// record batches. Every structural problem in a file is an error naming the
// file, record batch and row, never a panic.
package arrowds
