package hugepages

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

func TestParseRange(t *testing.T) {
	lo, hi, ok := parseRange("c000000000-c004000000 rw-p 00000000 00:00 0 ")
	if !ok || lo != 0xc000000000 || hi != 0xc004000000 {
		t.Errorf("parseRange = %#x, %#x, %v; want 0xc000000000, 0xc004000000, true", lo, hi, ok)
	}
	for _, line := range []string{"", "c000000000 rw-p", "zz-c0 rw-p", "c0-b0 rw-p"} {
		if _, _, ok := parseRange(line); ok {
			t.Errorf("parseRange(%q) accepted a line without a valid range", line)
		}
	}
}

func TestMemTotal(t *testing.T) {
	meminfo := "MemTotal:       24683652 kB\nMemFree:        11606836 kB\n"
	if got, want := memTotal(meminfo), 24683652<<10; got != want {
		t.Errorf("memTotal = %d, want %d", got, want)
	}
	for _, bad := range []string{"", "MemFree: 1 kB\n", "MemTotal: lots kB\n"} {
		if got := memTotal(bad); got != 0 {
			t.Errorf("memTotal(%q) = %d, want 0", bad, got)
		}
	}
}

func TestOverlapping(t *testing.T) {
	maps := "c000000000-c004000000 rw-p 00000000 00:00 0 \n" +
		"c004000000-c008000000 rw-p 00000000 00:00 0 \n" +
		"c010000000-c014000000 rw-p 00000000 00:00 0 \n" +
		"7f0000000000-7f0000001000 r--p 00000000 08:01 42 /usr/lib/x.so\n"
	got := overlapping(maps, 0xc002000800, 0xc012000000)
	want := [][2]uintptr{{0xc002001000, 0xc004000000}, {0xc004000000, 0xc008000000}, {0xc010000000, 0xc012000000}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("overlapping = %x, want %x", got, want)
	}
	if got := overlapping(maps, 0xc008000000, 0xc010000000); len(got) != 0 {
		t.Errorf("overlapping a gap = %x, want none", got)
	}
}

// TestAdviseHeap checks on this machine that a large allocation made after
// AdviseHeap lies in a mapping the kernel counts as eligible for huge pages,
// and that the reservation is freed.
func TestAdviseHeap(t *testing.T) {
	setting, err := os.ReadFile(settingFile)
	if err != nil || mode(string(setting)) != "madvise" {
		t.Skipf("transparent huge pages are not set to madvise here (%q)", strings.TrimSpace(string(setting)))
	}
	if disabledByGODEBUG(os.Getenv("GODEBUG")) {
		t.Skip("GODEBUG=disablethp=1")
	}
	const reserve = 256 << 20
	n, err := AdviseHeap(reserve)
	if err != nil {
		t.Fatal(err)
	}
	if n < reserve {
		t.Fatalf("advised %d bytes, want at least %d", n, reserve)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc >= reserve/2 {
		t.Errorf("the heap holds %d bytes after AdviseHeap: the %d-byte reservation was not freed", ms.HeapAlloc, reserve)
	}
	buf := make([]byte, 64<<20)
	// Its middle: its first pages may sit in the few pages freed since start-up,
	// below the advised range.
	p := uintptr(unsafe.Pointer(unsafe.SliceData(buf))) + uintptr(len(buf)/2)
	eligible, found := thpEligible(t, p)
	if !found {
		t.Fatalf("no mapping in /proc/self/smaps holds %#x", p)
	}
	if !eligible {
		t.Errorf("the mapping that holds a 64 MiB allocation at %#x is not eligible for huge pages", p)
	}
	buf[0] = 1
}

// thpEligible reads /proc/self/smaps for the mapping that holds p.
func thpEligible(t *testing.T, p uintptr) (eligible, found bool) {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		if lo, hi, ok := parseRange(line); ok && strings.Contains(line, " ") {
			in = lo <= p && p < hi
			found = found || in
			continue
		}
		if in && strings.HasPrefix(line, "THPeligible:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "THPeligible:")) == "1", true
		}
	}
	return false, found
}
