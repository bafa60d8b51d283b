// Package datasets is the root of pgaug's dataset code. It holds no code itself;
// the work is split into small packages:
//
//   - arrowds: the on-disk format (Arrow IPC files, one row per image), its
//     atomic rolling writer and a streaming, indexed reader with cheap random
//     access to one image's pixels;
//   - npy and idx: readers for NumPy .npy/.npz and IDX (MNIST) files;
//   - imgio: decoding PNG/JPEG files into pixels and writing sample grids;
//   - synthetic: a seeded generator of small radiograph-like images whose
//     label depends on a local structure among distractors;
//   - convert: importers from MedMNIST, class folders, CSV, IDX, MURA and the
//     synthetic generator into the Arrow format;
//   - transform: image transforms (resize, crops, flips, cutout, channel
//     conversion, normalisation) on float32 CHW images;
//   - loader: seeded, deterministic, parallel batch loading into float32 NCHW;
//   - ops: dataset operations behind `pgaug data` (inspect, split, sample, stats).
package datasets
