// Package atomicfile writes files atomically: the content goes to a
// temporary file in the target's directory (named "."+base+".tmp-*"), which
// is flushed, synced, made mode 0644 and renamed over the target only once
// everything succeeded. Readers therefore see either the old file or the
// complete new one, never a partial write. On any error the temporary file
// is removed and the target is left as it was. After the rename the
// directory is synced, best effort (not every file system supports it).
//
// Write and WriteBytes cover the common case of producing the whole file in
// one call. Create returns a File to stream into over time; it must end with
// Commit (publish) or Abort (discard), and deferring Abort right after
// Create is safe because Abort is a no-op after Commit.
//
// Errors name the target path ("writing PATH: ...").
//
// The package is a leaf: it imports nothing else of pgaug, and it lives in
// the lowest layer (datasets, which imports no other part of pgaug), so
// that onnx, trainer and pipeline all write their files through it without
// reaching up. It is pgaug's one atomic-write helper.
package atomicfile
