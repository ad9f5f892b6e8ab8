//go:build !linux

package drift

// adviseHuge is a no-op where transparent huge pages are not advised.
func adviseHuge([]uint64) {}
