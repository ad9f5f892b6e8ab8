package drift

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks the kernel to back buf with transparent huge pages where
// it allows them for advised memory (the usual "madvise" setting): a key
// buffer of a million values, or the counts of an id column's million
// values, is then filled with a handful of page faults instead of a
// thousand or two. Buffers under 4 MiB are left alone. Advice only; errors
// are ignored.
func adviseHuge[T uint64 | uint32 | float64](buf []T) {
	const page = 4096
	if len(buf) == 0 {
		return
	}
	n := len(buf) * int(unsafe.Sizeof(buf[0]))
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
