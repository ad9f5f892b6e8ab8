//go:build !linux

package drift

// adviseHuge is a no-op where transparent huge pages are not advised.
func adviseHuge[T uint64 | uint32 | float64]([]T) {}
