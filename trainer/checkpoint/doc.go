// Package checkpoint saves and restores everything a training run needs to
// resume exactly after it is killed: the step counters, the networks'
// parameters and BatchNormalization running statistics, the optimizers'
// buffers, scalars (a reward baseline's EMA, the best metric so far), small
// host vectors (dataset-level noise parameters), marshalled random number
// generator states and string metadata (method, configuration hash).
//
// A [State] is filled by the training loop (helpers [State.AddModel],
// [State.AddOptimizer] and [State.AddRNG] copy the live state of a model,
// an optimizer or a generator under a prefix), written with [Save] (numbered
// checkpoints, keeping the newest k) or [SaveAs] (a separately named file,
// e.g. the best model), found again with [Latest] or [List], read with
// [Load], and written back with [State.RestoreModel],
// [State.RestoreOptimizer] and [State.RestoreRNG]. RestoreModel copies into
// the model's existing tensors, so graphs built before the restore see the
// restored values.
//
// # Keys
//
// Helpers store their tensors under "<prefix>/param/<parameter>",
// "<prefix>/bn/<node>/running_mean" and ".../running_var" (with the
// batches-tracked count in Counters), and "<prefix>/optim/buf/<parameter>/<i>"
// (with the step count in Counters under "<prefix>/optim/steps" and the
// optimizer's Go type in Meta under "<prefix>/optim/type"). A model and its
// optimizer may share a prefix; prefixes must not contain '/'.
//
// # File format (version 1)
//
// All integers are little-endian.
//
//	offset  size  field
//	0       8     magic "PGAUGCKP"
//	8       4     format version (1)
//	12      4     flags (0)
//	16      8     H: length of the JSON header
//	24      8     D: length of the data section
//	32      H     JSON header: step, epoch, batch_in_epoch, scalars, counters,
//	              rng (base64), meta, and the vectors' and tensors' names,
//	              shapes, byte offsets into the data section and element counts
//	32+H    4     CRC-32C (Castagnoli) of bytes [0, 32+H)
//	36+H    D     raw float32 data, vectors then tensors, each group sorted by name
//	36+H+D  4     CRC-32C of the data section
//
// Scalars are written in JSON with the shortest representation that reads
// back to the same float64 (NaN and ±Inf as the strings "NaN", "+Inf",
// "-Inf"); vector and tensor values are stored bit for bit. The same State
// always gives the same bytes.
//
// [Load] checks the lengths against the file's size before allocating
// anything, checks the header's checksum before parsing it, checks every
// offset and shape, and checks the data checksum at the end: a truncated,
// corrupted or foreign file gives an error naming the file, never a panic or
// an allocation larger than the file.
//
// Files are written atomically: to a temporary file in the same directory,
// synced, then renamed over the destination (and the directory synced), so a
// kill or a failed write leaves the previous checkpoint intact. One process
// should write to a checkpoint directory at a time.
package checkpoint
