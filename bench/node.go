package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The Node client is embedded so that the program runs from any directory;
// it is written to a temporary file for node to run.
//
//go:embed node/throughput.mjs
var nodeScript []byte

// errSkipped marks a client that could not run here, as opposed to one that
// failed.
var errSkipped = errors.New("skipped")

// nodeVersion returns `node --version`, or "" when node cannot run.
func nodeVersion(node string) string {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// findModuleDir returns the folder whose node_modules holds the pinned
// @fugle/marketdata: interop/node of this repository, looked for upwards from
// the working directory and then from this source file's directory.
func findModuleDir() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			cand := filepath.Join(dir, "interop", "node")
			if _, err := os.Stat(filepath.Join(cand, "package.json")); err == nil {
				if _, err := os.Stat(filepath.Join(cand, "node_modules", "@fugle", "marketdata", "package.json")); err != nil {
					return "", fmt.Errorf("%w: @fugle/marketdata is not installed (run: cd %s && npm ci)", errSkipped, cand)
				}
				return cand, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("%w: interop/node not found (run from the repository, or set -node-modules)", errSkipped)
}

// nodeClient runs the official Node SDK as a child process against base and
// returns what it measured. Its stderr goes to ours.
func nodeClient(ctx context.Context, node, moduleDir, base string, w *workload, n int) (clientRun, error) {
	if _, err := exec.LookPath(node); err != nil {
		return clientRun{}, fmt.Errorf("%w: node not found", errSkipped)
	}
	if moduleDir == "" {
		dir, err := findModuleDir()
		if err != nil {
			return clientRun{}, err
		}
		moduleDir = dir
	} else if _, err := os.Stat(filepath.Join(moduleDir, "node_modules", "@fugle", "marketdata", "package.json")); err != nil {
		return clientRun{}, fmt.Errorf("%w: @fugle/marketdata is not installed in %s", errSkipped, moduleDir)
	}
	tmp, err := os.MkdirTemp("", "marketdata-bench-")
	if err != nil {
		return clientRun{}, err
	}
	defer os.RemoveAll(tmp)
	script := filepath.Join(tmp, "throughput.mjs")
	if err := os.WriteFile(script, nodeScript, 0o600); err != nil {
		return clientRun{}, err
	}
	timeout := runTimeout(n)
	cfg, err := json.Marshal(map[string]any{
		"baseUrl": base, "n": n, "moduleDir": moduleDir, "subs": w.subs, "timeoutMs": timeout.Milliseconds(),
	})
	if err != nil {
		return clientRun{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, string(cfg))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return clientRun{}, fmt.Errorf("node: %w", err)
	}
	var res struct {
		Messages     int    `json:"messages"`
		ElapsedNs    string `json:"elapsed_ns"`
		StartupCPUus int64  `json:"startup_cpu_us"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return clientRun{}, fmt.Errorf("node printed %q: %w", out.String(), err)
	}
	ns, err := strconv.ParseInt(res.ElapsedNs, 10, 64)
	if err != nil {
		return clientRun{}, fmt.Errorf("node elapsed_ns %q: %w", res.ElapsedNs, err)
	}
	run := clientRun{messages: res.Messages, elapsed: time.Duration(ns), external: true}
	// The child's whole CPU, its exit included, less what it had spent by
	// its first data message.
	if ps := cmd.ProcessState; ps != nil {
		run.cpu = max(ps.UserTime()+ps.SystemTime()-time.Duration(res.StartupCPUus)*time.Microsecond, 0)
		run.cpuOK = true
	}
	return run, nil
}
