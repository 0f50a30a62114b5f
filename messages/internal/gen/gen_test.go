package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCommittedIsCurrent runs the generator on package messages and
// compares the output with the committed files.
func TestCommittedIsCurrent(t *testing.T) {
	for _, c := range []struct {
		tests bool
		file  string
	}{{false, "payload_gen.go"}, {true, "payload_gen_test.go"}} {
		want, err := os.ReadFile(filepath.Join("..", "..", c.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := generate(filepath.Join("..", ".."), c.tests)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./messages", c.file)
		}
		again, _ := generate(filepath.Join("..", ".."), c.tests)
		if !bytes.Equal(got, again) {
			t.Errorf("%s: two runs differ", c.file)
		}
	}
}

const thingPkg = `package messages

type Meta struct{}
type Decoder struct{}
type reader struct{}

func (d *Decoder) custom(r *reader, field string, dst *int) bool { return false }

// Thing is a payload.
//
//fugle:decode channel=things %s
type Thing struct {
	Meta
	Symbol string ` + "`json:\"symbol\" fugle:\"required\"`" + `
	Value  %s ` + "`json:\"value\" fugle:\"%s\"`" + `

	// Has reports.
	has uint8
}
`

// TestRefusals checks that the generator fails, naming the problem, on an
// unknown option, hook or directive, and on options that do not fit.
func TestRefusals(t *testing.T) {
	for _, c := range []struct{ directive, typ, opts, want string }{
		{"", "int", "hook=custom", ""},
		{"", "int64", "serial", ""},
		{"", "float64", "alt=valeu", ""},
		{"", "int", "bogus", `unknown option "bogus"`},
		{"", "int", "hook=nope", `unknown hook "nope"`},
		{"", "int", "hook=", `unknown option "hook="`},
		{"", "int", "", "no value helper"},
		{"", "string", "serial", "serial needs a plain int64"},
		{"", "string", "alt=symbol", `wire name "symbol" used twice`},
		{"", "int", "hook=custom,required", "can be required"},
		{"finish=nope", "string", "", `unknown finish hook "nope"`},
		{"colour=red", "string", "", `unknown directive option "colour"`},
	} {
		dir := t.TempDir()
		src := strings.Replace(thingPkg, "%s", c.directive, 1)
		src = strings.Replace(src, "%s", c.typ, 1)
		src = strings.Replace(src, "%s", c.opts, 1)
		if err := os.WriteFile(filepath.Join(dir, "thing.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := generate(dir, false)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %s %q: %v", c.directive, c.typ, c.opts, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %s %q: error %v, want one with %q", c.directive, c.typ, c.opts, err, c.want)
		}
	}
}
