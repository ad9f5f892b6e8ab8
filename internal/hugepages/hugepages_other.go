//go:build !linux

package hugepages

// AdviseHeap does nothing where there are no transparent huge pages to ask for.
func AdviseHeap(int) (int, error) { return 0, nil }
