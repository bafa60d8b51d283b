// Package fingerprint identifies what a result depends on, so that a run
// knows when earlier work can be reused and when it cannot.
//
// A result (a training run, a pipeline stage) depends on its settings and its
// inputs. Settings flattens a settings struct into a record of key = value
// texts, leaving out the fields that do not change the result (tagged
// `fingerprint:"-"`: output paths, worker counts, log sinks, resume flags)
// and replacing the fields that name input files (tagged
// `fingerprint:"input"`) by the SHA-256 of their content, so that a moved
// file is the same input and an edited one is not. A field tagged
// `fingerprint:",omitempty"` is left out while it holds its zero value: a
// setting added later, whose zero value is what the code did before, leaves
// the results made before it their fingerprints. Sum hashes a record;
// Diff says which keys differ between two records, for the messages that
// explain why work is (or cannot be) reused.
//
// Keys are the field's toml tag where it has one, else its name in
// lower-case with hyphens (CutoutSize → cutout-size); a nested struct's keys
// are prefixed with its own key and a dot, an embedded struct's are not.
package fingerprint
