package main

import "time"

// cpuTime is a reading of user and system CPU time, in nanoseconds.
type cpuTime struct{ user, sys int64 }

// sub returns t - u.
func (t cpuTime) sub(u cpuTime) cpuTime { return cpuTime{user: t.user - u.user, sys: t.sys - u.sys} }

// add returns t + u.
func (t cpuTime) add(u cpuTime) cpuTime { return cpuTime{user: t.user + u.user, sys: t.sys + u.sys} }

// total is user plus system time.
func (t cpuTime) total() time.Duration { return time.Duration(t.user + t.sys) }

// clientCPU separates a Go client's CPU from the endpoint's: the process
// spent proc over the run, of which the endpoint's writer (locked to its own
// thread) spent writer; the rest is the client's, the Go runtime's work for
// it (GC, scheduling) included. A negative remainder, which only clock
// granularity could produce, is clamped to zero.
func clientCPU(proc, writer cpuTime) time.Duration {
	return max(proc.total()-writer.total(), 0)
}

// perMillion scales d spent on messages messages to seconds per million
// messages, rounded to 0.01 s; 0 when there were no messages.
func perMillion(d time.Duration, messages int) float64 {
	if messages <= 0 {
		return 0
	}
	return round2(d.Seconds() * 1e6 / float64(messages))
}
