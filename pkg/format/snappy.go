package format

import (
	"io"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/s2"
)

// The Parquet library compresses snappy pages with klauspost's "better"
// snappy encoder, which on the benchmark table costs about as much CPU as
// parsing the CSV. The standard-speed encoder writes the same format (any
// snappy reader decodes it) at a fraction of the cost, for slightly larger
// pages, which is the trade snappy exists for. The codec registry is global,
// so this choice applies to every Parquet file the process writes; reading
// is unchanged.
func init() {
	base := compress.Codecs.Snappy
	orig, err := compress.GetCodec(base)
	if err != nil {
		return
	}
	compress.RegisterCodec(base, fastSnappy{orig})
}

type fastSnappy struct{ compress.Codec }

func (fastSnappy) Encode(dst, src []byte) []byte { return s2.EncodeSnappy(dst, src) }

func (fastSnappy) EncodeLevel(dst, src []byte, _ int) []byte { return s2.EncodeSnappy(dst, src) }

func (f fastSnappy) DecodeWithError(dst, src []byte) ([]byte, error) {
	if ec, ok := f.Codec.(compress.ErrorCodec); ok {
		return ec.DecodeWithError(dst, src)
	}
	return s2.Decode(dst, src)
}

func (f fastSnappy) NewReader(r io.Reader) io.ReadCloser {
	return f.Codec.(compress.StreamingCodec).NewReader(r)
}

func (f fastSnappy) NewWriter(w io.Writer) io.WriteCloser {
	return f.Codec.(compress.StreamingCodec).NewWriter(w)
}

func (f fastSnappy) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return f.Codec.(compress.StreamingCodec).NewWriterLevel(w, level)
}
