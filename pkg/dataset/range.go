package dataset

import (
	"context"

	"github.com/mldata-io/mldata/pkg/format"
	"github.com/mldata-io/mldata/pkg/storage"
)

// OpenFile prepares one file for scanning without inspecting it: nothing is
// inferred or counted, and Schema and Rows stay unset. A shard of a sharded
// build opens the files its plan assigns it this way, since the plan
// already inferred, counted and hashed them. A remote file is spooled (and
// hashed on the way: File.SHA256); a local one is read in place.
func OpenFile(ctx context.Context, loc *storage.Location, obj storage.Object, opt Options) (*File, error) {
	kind := opt.Format
	if kind == "" {
		k, _, err := format.Detect(obj.Key)
		if err != nil {
			return nil, err
		}
		kind = k
	}
	f := &File{Object: obj, Kind: kind}
	if err := f.prepare(ctx, loc, opt); err != nil {
		return nil, err
	}
	return f, nil
}

// Only makes scans of f decode only the chunks keep accepts; the others are
// cut (text formats find record boundaries in them) but not decoded. Chunks
// keep their positions in the whole file (Seq, FirstRow, FirstLine), so a
// range of a file decodes exactly as it does in a scan of the whole file.
// nil scans every chunk again.
func (f *File) Only(keep func(*format.Chunk) bool) { f.only = keep }

// Close releases the file's open handle or scratch copy.
func (f *File) Close() error { return f.close() }
