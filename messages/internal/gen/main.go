// Command gen writes the mechanical part of the payload decoders of package
// messages from the payload types' declarations: the presence bits, the
// name tables, the Has and Kind methods, the typed decode methods with
// their deferred retry, and the member switch of each struct.
//
// It reads the structs that embed Meta (the payloads) and the structs they
// reach through their fields. The wire name of a field is its json tag; the
// value helper follows from its Go type (string, float64, int64, bool,
// Timestamp, or a struct of the package, decoded as a nested object). The
// tag key fugle carries the exceptions, comma-separated:
//
//	serial       an int64 sent as a number or a numeric string
//	required     the frame is malformed without it
//	alt=NAME     a second wire name landing in the same field and bit
//	wire=NAME    the wire name, when it is not the json name
//	hook=NAME    decoded by the hand-written method
//	             func (d *Decoder) NAME(r *reader, field string, dst *T) bool
//
// A payload type says which channel it decodes in a directive,
// "//fugle:decode channel=NAME [finish=NAME] [recv=NAME] [table=NAME]":
// finish names a method func (d *Decoder) NAME(f *Frame, out *T) run after
// a successful walk, recv the receiver name of its methods, table the name
// of its name table (default: the type's name, lowercased, plus Fields).
// "//fugle:doc TEXT" lines add TEXT to the doc of the typed decode method.
// A nested struct may carry "//fugle:decode" with recv, table and the flag
// members, which asks for a member loop, NAMEMembers, for a hook to call on
// an object it has entered (such as each element of an array). A struct with a field named has gets one
// presence bit per field and a Has method documented by that field's
// comment.
//
// A struct reached through a field without a hook gets an object decoder,
// decodeNAME.
//
// Run by go generate in the package directory; -tests reads the package's
// _test.go files instead, for payload types that only the tests know.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	tests := flag.Bool("tests", false, "generate from the _test.go files")
	flag.Parse()
	out := "payload_gen.go"
	if *tests {
		out = "payload_gen_test.go"
	}
	src, err := generate(".", *tests)
	if err == nil {
		err = os.WriteFile(out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
