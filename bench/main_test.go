package main

import (
	"testing"

	"go.uber.org/goleak"
)

// Every client and the endpoint must leave no goroutine behind: a leaked
// reader would keep reading into the next run's figures.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
