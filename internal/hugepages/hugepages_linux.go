//go:build linux

package hugepages

import (
	"bufio"
	"errors"
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
	if err != nil || Mode(string(setting)) != "madvise" || disabledByGODEBUG(os.Getenv("GODEBUG")) {
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
	b := make([]byte, reserve)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	lo, hi, err := mappingOf(maps, p)
	maps.Close()
	if err != nil {
		return 0, err
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, syscall.MADV_HUGEPAGE); errno != 0 {
		return 0, fmt.Errorf("advising huge pages for the heap: %w", errno)
	}
	runtime.KeepAlive(b)
	b = nil
	// Free the reservation now: the collector then starts from a small heap
	// goal again, and the next allocations reuse the advised pages. The
	// pages were never touched, so giving them back costs no copying.
	debug.FreeOSMemory()
	return int(hi - lo), nil
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

// mappingOf returns the bounds of the mapping in a /proc/<pid>/maps listing
// that holds address p.
func mappingOf(maps *os.File, p uintptr) (lo, hi uintptr, err error) {
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		l, h, ok := parseRange(sc.Text())
		if ok && l <= p && p < h {
			return l, h, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	return 0, 0, errors.New("the heap's mapping is not in /proc/self/maps")
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
