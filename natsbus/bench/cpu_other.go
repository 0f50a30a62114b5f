//go:build !linux

package main

import "time"

func processCPU() (time.Duration, bool) { return 0, false }

func rssBytes() uint64 { return 0 }
