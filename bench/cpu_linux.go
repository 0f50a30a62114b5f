//go:build linux

package main

import "syscall"

// processCPU returns the user plus system CPU time of this whole process so
// far: every thread, the Go runtime's included.
func processCPU() (cpuTime, bool) { return rusage(syscall.RUSAGE_SELF) }

// threadCPU returns the CPU time of the calling OS thread. It means the CPU
// of one goroutine only while that goroutine is locked to its thread
// (runtime.LockOSThread), as the endpoint's writer is.
func threadCPU() (cpuTime, bool) { return rusage(syscall.RUSAGE_THREAD) }

func rusage(who int) (cpuTime, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return cpuTime{}, false
	}
	return cpuTime{user: tvNanos(ru.Utime), sys: tvNanos(ru.Stime)}, true
}

func tvNanos(tv syscall.Timeval) int64 { return tv.Nano() }
