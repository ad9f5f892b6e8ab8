//go:build race

package main

// raceEnabled: the race detector multiplies a program's memory several
// times, so memory bounds are checked only in builds without it.
const raceEnabled = true
