package drift

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks the kernel to back buf with transparent huge pages where
// it allows them for advised memory (the usual "madvise" setting): a key
// buffer of a million values is then filled with a handful of page faults
// instead of two thousand. Advice only; errors are ignored.
func adviseHuge(buf []uint64) {
	const page = 4096
	n := len(buf) * 8
	if n < 4<<20 {
		return
	}
	all := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf))), n)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(all)))
	start := int((page - p%page) % page)
	end := n - int((p+uintptr(n))%page)
	if end <= start {
		return
	}
	b := all[start:end]
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}
