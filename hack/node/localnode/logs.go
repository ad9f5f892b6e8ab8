package localnode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
)

// openLog opens a container log for `kubectl logs`: the last opts.Tail lines
// (all when 0), at most opts.LimitBytes, and with opts.Follow new output
// until the container stops or ctx ends.
func openLog(ctx context.Context, path string, opts api.ContainerLogOpts, running func() bool) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errdefs.NotFoundf("no log %s (the container has not run yet)", path)
	}
	if err != nil {
		return nil, err
	}
	if opts.Tail > 0 {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		off, err := tailOffset(f, st.Size(), opts.Tail)
		if err != nil {
			f.Close()
			return nil, err
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	var r io.Reader = f
	if opts.Follow {
		r = &follower{ctx: ctx, f: f, running: running}
	}
	if opts.LimitBytes > 0 {
		r = io.LimitReader(r, int64(opts.LimitBytes))
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// tailOffset finds where the last n lines of a file of size start, reading
// backwards in blocks.
func tailOffset(f *os.File, size int64, n int) (int64, error) {
	const block = 32 * 1024
	end := size
	lines := 0
	buf := make([]byte, block)
	skipFinal := true
	for end > 0 {
		start := max(end-block, 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if skipFinal && len(b) > 0 && b[len(b)-1] == '\n' {
			b = b[:len(b)-1]
		}
		skipFinal = false
		for {
			i := bytes.LastIndexByte(b, '\n')
			if i < 0 {
				break
			}
			lines++
			if lines == n {
				return start + int64(i) + 1, nil
			}
			b = b[:i]
		}
		end = start
	}
	return 0, nil
}

// follower reads a growing file until the container stops and everything it
// wrote was read.
type follower struct {
	ctx     context.Context
	f       *os.File
	running func() bool
}

func (fl *follower) Read(p []byte) (int, error) {
	for {
		n, err := fl.f.Read(p)
		if n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
			return n, err
		}
		if !fl.running() {
			// One more read: output written just before the exit.
			n, err := fl.f.Read(p)
			if n > 0 {
				return n, nil
			}
			if err == nil {
				err = io.EOF
			}
			return 0, err
		}
		select {
		case <-fl.ctx.Done():
			return 0, io.EOF
		case <-time.After(200 * time.Millisecond):
		}
	}
}
