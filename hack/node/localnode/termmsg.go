package localnode

import (
	"bytes"
	"io"
	"os"

	corev1 "k8s.io/api/core/v1"
)

// terminationMessage is what the kubelet puts in a terminated container's
// message: the termination-message file (at most 4096 bytes) or, when that is
// empty, the policy is FallbackToLogsOnError and the exit code is not 0, the
// last 80 lines of the log, at most their last 2048 bytes.
func terminationMessage(messageFile, logFile string, policy corev1.TerminationMessagePolicy, exitCode int32) string {
	msg := readHead(messageFile, maxTerminationMessage)
	if msg != "" || exitCode == 0 || policy != corev1.TerminationMessageFallbackToLogsOnError {
		return msg
	}
	return string(tailLines(readTail(logFile, 64*1024), maxFallbackMessageLines, maxFallbackMessageLength))
}

func readHead(path string, limit int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, limit))
	return string(b)
}

// readTail returns the last limit bytes of a file.
func readTail(path string, limit int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	off := st.Size() - limit
	if off < 0 {
		off = 0
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	return b
}

// tailLines keeps the last n lines of b (a final newline does not start a
// line) and then at most the last maxBytes bytes of those.
func tailLines(b []byte, n, maxBytes int) []byte {
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	start := 0
	count := 0
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			count++
			if count == n {
				start = i + 1
				break
			}
		}
	}
	out := b[start:]
	if len(out) > maxBytes {
		out = out[len(out)-maxBytes:]
	}
	return bytes.Clone(out)
}
