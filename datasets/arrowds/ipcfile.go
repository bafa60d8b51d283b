package arrowds

import (
	"fmt"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// IPCFile is an Arrow IPC file of any schema (a predictions file, for
// instance), opened with the checks the dataset reader makes: the footer
// and each record batch's node and buffer lists are validated against the
// schema and the file's size before the Arrow library decodes them (it
// trusts them for its allocations), and its panics on corrupt input become
// errors naming the file.
type IPCFile struct {
	pf *partFile
}

// OpenIPC opens the Arrow IPC file at path.
func OpenIPC(path string) (*IPCFile, error) {
	pf, err := openPart(path)
	if err != nil {
		return nil, err
	}
	return &IPCFile{pf: pf}, nil
}

// Schema is the file's schema.
func (f *IPCFile) Schema() *arrow.Schema { return f.pf.fr.Schema() }

// NumRecords is the number of record batches.
func (f *IPCFile) NumRecords() int { return len(f.pf.blocks) }

// Record decodes record batch i; the caller releases it.
func (f *IPCFile) Record(i int) (arrow.Record, error) { return recordAt(f.pf, i) }

// Close closes the file.
func (f *IPCFile) Close() error { return f.pf.f.Close() }

// openPart opens an Arrow IPC file and checks its footer: the part of
// opening a dataset file that does not depend on the dataset's schema.
func openPart(name string) (pf *partFile, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", name, err)
	}
	pf = &partFile{path: name, f: f, cacheB: -1}
	defer func() {
		if r := recover(); r != nil {
			recovered(r)
			err = fmt.Errorf("file %s is corrupt: %v", name, r)
		}
		if err != nil {
			f.Close()
			pf = nil
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", name, err)
	}
	pf.blocks, pf.layout, err = readFooterBlocks(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", name, err)
	}
	pf.fr, err = ipc.NewFileReader(f, ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		return nil, fmt.Errorf("file %s: not a readable Arrow IPC file: %w", name, err)
	}
	if pf.fr.NumRecords() != len(pf.blocks) {
		return nil, fmt.Errorf("file %s: footer lists %d record batches, the Arrow reader %d", name, len(pf.blocks), pf.fr.NumRecords())
	}
	return pf, nil
}
