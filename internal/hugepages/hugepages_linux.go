//go:build linux

package hugepages

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

const settingFile = "/sys/kernel/mm/transparent_hugepage/enabled"

// AdviseHeap advises huge pages for at least reserve bytes of the heap's
// address space, as described in the package comment. It returns how many
// bytes of address space it advised: 0 when there was nothing to do. An
// error means the advice could not be given; the program runs on as before.
func AdviseHeap(reserve int) (int, error) {
	setting, err := os.ReadFile(settingFile)
	if err != nil || mode(string(setting)) != "madvise" || disabledByGODEBUG(os.Getenv("GODEBUG")) {
		return 0, nil
	}
	// The reservation is mapped writable, so it counts against the kernel's
	// commit limit: under strict accounting (overcommit_memory 2) it could
	// make the runtime fail, and the usual heuristic refuses one mapping
	// larger than the machine's memory. Stay well inside both.
	overcommit, err := os.ReadFile("/proc/sys/vm/overcommit_memory")
	if err != nil || strings.TrimSpace(string(overcommit)) == "2" {
		return 0, nil
	}
	meminfo, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, nil
	}
	reserve = min(reserve, memTotal(string(meminfo))/4)
	if reserve < 64<<20 {
		return 0, nil
	}
	// The reservation is made of pieces, not one allocation: the runtime
	// zeroes a whole allocation when any of it was used before, and one
	// reservation that began in the few pages freed since start-up would
	// have all of its gigabytes written (and made resident). A piece that
	// needs it costs at most chunk bytes; the rest come from fresh memory.
	// The collector is off meanwhile: the pieces are garbage-free and the
	// cycles a growing heap would start cost more than the reservation.
	const chunk = 16 << 20
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	pieces := make([][]byte, 0, reserve/chunk)
	lo, hi := ^uintptr(0), uintptr(0)
	for range reserve / chunk {
		b := make([]byte, chunk)
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		lo, hi = min(lo, p), max(hi, p+chunk)
		pieces = append(pieces, b)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	advised := 0
	for _, m := range overlapping(string(maps), lo, hi) {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m[0], m[1]-m[0], syscall.MADV_HUGEPAGE); errno != 0 {
			return advised, fmt.Errorf("advising huge pages for the heap: %w", errno)
		}
		advised += int(m[1] - m[0])
	}
	runtime.KeepAlive(pieces)
	// Free the reservation now: the collector then starts from a small heap
	// goal again, and the next allocations reuse the advised pages. The
	// pages were never touched, so giving them back costs no copying.
	debug.FreeOSMemory()
	return advised, nil
}

// memTotal reads MemTotal, in bytes, from the text of /proc/meminfo; 0 when
// it is missing.
func memTotal(meminfo string) int {
	for _, line := range strings.Split(meminfo, "\n") {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// overlapping returns the parts of the mappings in a /proc/<pid>/maps
// listing that lie within [lo, hi), rounded inwards to whole pages.
func overlapping(maps string, lo, hi uintptr) [][2]uintptr {
	const page = 4096
	var out [][2]uintptr
	for _, line := range strings.Split(maps, "\n") {
		l, h, ok := parseRange(line)
		if !ok {
			continue
		}
		l, h = max(l, lo), min(h, hi)
		l = (l + page - 1) &^ (page - 1)
		h &^= page - 1
		if l < h {
			out = append(out, [2]uintptr{l, h})
		}
	}
	return out
}

// parseRange reads the "start-end" addresses that begin a maps line.
func parseRange(line string) (lo, hi uintptr, ok bool) {
	r, _, _ := strings.Cut(line, " ")
	l, h, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, false
	}
	a, err1 := strconv.ParseUint(l, 16, 64)
	b, err2 := strconv.ParseUint(h, 16, 64)
	if err1 != nil || err2 != nil || a >= b {
		return 0, 0, false
	}
	return uintptr(a), uintptr(b), true
}
