//go:build !linux

package main

// CPU figures need getrusage with RUSAGE_THREAD, which only Linux has; here
// the CPU columns stay empty.

func processCPU() (cpuTime, bool) { return cpuTime{}, false }

func threadCPU() (cpuTime, bool) { return cpuTime{}, false }
