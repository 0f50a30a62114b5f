package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"unicode"
)

// A value helper of the package: the Decoder method that reads one value,
// and what it accepts, for the error of a missing required field.
type helper struct{ call, want string }

var helpers = map[string]helper{
	"string":    {"d.str", "string"},
	"float64":   {"d.float", "number"},
	"int64":     {"d.int", "integer"},
	"bool":      {"d.flag", "boolean"},
	"Timestamp": {"d.time", "epoch microseconds"},
	"serial":    {"d.serial", "integer or numeric string"},
}

// typeInfo is one struct to generate for.
type typeInfo struct {
	Name, Lower, Recv string
	Table             string   // the name table behind Has
	Channel           string   // set for a payload
	Finish            string   // the hook run after a successful walk
	Doc               []string // extra sentences for the typed decode method
	HasType           string   // the type of the has field; "" when there is none
	HasDoc            []string
	Fields            []*field
	Object            bool // write an object decoder, for a field without a hook
	Members           bool // write a member loop, for a hook

	decl *ast.StructType
}

// field is one wire member of a struct.
type field struct {
	Go, Wire, Bit string
	Names         []string // Wire, then the alternative
	Call, Want    string
	Required      bool
	Nested        bool // a struct with a Has method: "name.member" looks inside
}

// generate reads the package in dir and returns the formatted source of the
// generated file.
func generate(dir string, tests bool) ([]byte, error) {
	types, err := load(dir, tests)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := fileTemplate.Execute(&buf, types); err != nil {
		return nil, err
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the output: %v\n%s", err, buf.Bytes())
	}
	return src, nil
}

// pkg is what the generator knows of the package: its structs and the
// methods of *Decoder, the hooks it may name.
type pkg struct {
	structs map[string]*typeInfo
	hooks   map[string]bool
}

// load parses the package and builds the description of every struct to
// generate for, sorted by name.
func load(dir string, tests bool) ([]*typeInfo, error) {
	p, err := parse(dir, tests)
	if err != nil {
		return nil, err
	}
	var out []*typeInfo
	seen := map[string]bool{}
	var visit func(t *typeInfo) error
	visit = func(t *typeInfo) error {
		if seen[t.Name] {
			return nil
		}
		seen[t.Name] = true
		out = append(out, t)
		return t.resolve(p, visit)
	}
	names := make([]string, 0, len(p.structs))
	for n := range p.structs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := p.structs[n]
		switch {
		case !embedsMeta(t.decl) && t.Channel != "":
			return nil, fmt.Errorf("%s has a channel but does not embed Meta", n)
		case !embedsMeta(t.decl):
			continue // generated for only if a payload reaches it
		case t.Channel == "":
			return nil, fmt.Errorf("%s embeds Meta but has no //fugle:decode channel=NAME", n)
		case t.Finish != "" && !p.hooks[t.Finish]:
			return nil, fmt.Errorf("%s: unknown finish hook %q", n, t.Finish)
		}
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// parse reads the hand-written files of the package: the methods of all,
// and the structs of the non-test files, or of the test files with tests.
func parse(dir string, tests bool) (*pkg, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	p := &pkg{structs: map[string]*typeInfo{}, hooks: map[string]bool{}}
	fset := token.NewFileSet()
	for _, name := range files {
		isTest := strings.HasSuffix(name, "_test.go")
		if strings.HasSuffix(name, "_gen.go") || strings.HasSuffix(name, "_gen_test.go") || (isTest && !tests) {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		if f.Name.Name != "messages" {
			continue // an external test package
		}
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if isDecoderMethod(decl) {
					p.hooks[decl.Name.Name] = true
				}
			case *ast.GenDecl:
				// In -tests mode the package's own types are known, not generated.
				if isTest == tests {
					if err := p.addStructs(decl); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return p, nil
}

func (p *pkg) addStructs(decl *ast.GenDecl) error {
	for _, spec := range decl.Specs {
		ts, ok := spec.(*ast.TypeSpec)
		if !ok {
			continue
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			continue
		}
		doc := ts.Doc
		if doc == nil {
			doc = decl.Doc
		}
		t, err := newType(ts.Name.Name, st, doc)
		if err != nil {
			return err
		}
		p.structs[t.Name] = t
	}
	return nil
}

func isDecoderMethod(fn *ast.FuncDecl) bool {
	if fn.Recv == nil || len(fn.Recv.List) != 1 {
		return false
	}
	star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "Decoder"
}

func embedsMeta(st *ast.StructType) bool {
	for _, f := range st.Fields.List {
		if id, ok := f.Type.(*ast.Ident); ok && len(f.Names) == 0 && id.Name == "Meta" {
			return true
		}
	}
	return false
}

// newType reads a struct's directives and its has field.
func newType(name string, st *ast.StructType, doc *ast.CommentGroup) (*typeInfo, error) {
	t := &typeInfo{Name: name, Lower: lowerFirst(name), Recv: strings.ToLower(name[:1]), Table: lowerFirst(name) + "Fields", decl: st}
	if doc != nil {
		for _, c := range doc.List {
			switch {
			case strings.HasPrefix(c.Text, "//fugle:doc "):
				t.Doc = append(t.Doc, strings.TrimPrefix(c.Text, "//fugle:doc "))
			case strings.HasPrefix(c.Text, "//fugle:decode "):
				for _, kv := range strings.Fields(strings.TrimPrefix(c.Text, "//fugle:decode ")) {
					k, v, _ := strings.Cut(kv, "=")
					switch {
					case kv == "members":
						t.Members = true
					case v == "":
						return nil, fmt.Errorf("%s: directive option %q has no value", name, kv)
					case k == "channel":
						t.Channel = v
					case k == "finish":
						t.Finish = v
					case k == "recv":
						t.Recv = v
					case k == "table":
						t.Table = v
					default:
						return nil, fmt.Errorf("%s: unknown directive option %q", name, k)
					}
				}
			case strings.HasPrefix(c.Text, "//fugle:"):
				return nil, fmt.Errorf("%s: unknown directive %q", name, c.Text)
			}
		}
	}
	for _, f := range st.Fields.List {
		if len(f.Names) == 1 && f.Names[0].Name == "has" {
			t.HasType = fmt.Sprint(f.Type)
			if f.Doc == nil {
				return nil, fmt.Errorf("%s: the has field needs a comment, the doc of Has", name)
			}
			t.HasDoc = strings.Split(strings.TrimSpace(f.Doc.Text()), "\n")
		}
	}
	return t, nil
}

// resolve reads the fields of t, and visits the structs they reach.
func (t *typeInfo) resolve(p *pkg, visit func(*typeInfo) error) error {
	wires := map[string]bool{}
	for _, af := range t.decl.Fields.List {
		if len(af.Names) != 1 || !af.Names[0].IsExported() {
			continue // Meta, has
		}
		f, err := t.newField(af, p)
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		for _, n := range f.Names {
			if wires[n] {
				return fmt.Errorf("%s.%s: wire name %q used twice", t.Name, f.Go, n)
			}
			wires[n] = true
		}
		if typ, elem := typeName(af.Type); p.structs[typ] != nil {
			if err := visit(p.structs[typ]); err != nil {
				return err
			}
			f.Nested = !elem && p.structs[typ].HasType != ""
		}
		t.Fields = append(t.Fields, f)
	}
	if bits := map[string]int{"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}[t.HasType]; t.HasType != "" && len(t.Fields) > bits {
		return fmt.Errorf("%s: %d fields do not fit in has %s", t.Name, len(t.Fields), t.HasType)
	}
	return nil
}

// options are the fugle tag of a field.
type options struct {
	serial, required bool
	alt, wire, hook  string
}

func parseOptions(tag string) (options, error) {
	var o options
	if tag == "" {
		return o, nil
	}
	for _, opt := range strings.Split(tag, ",") {
		k, v, hasV := strings.Cut(opt, "=")
		switch {
		case k == "serial" && !hasV:
			o.serial = true
		case k == "required" && !hasV:
			o.required = true
		case k == "alt" && v != "":
			o.alt = v
		case k == "wire" && v != "":
			o.wire = v
		case k == "hook" && v != "":
			o.hook = v
		default:
			return o, fmt.Errorf("unknown option %q", opt)
		}
	}
	return o, nil
}

// newField describes one exported field of t, or returns nil for one that
// is not on the wire (json:"-").
func (t *typeInfo) newField(af *ast.Field, p *pkg) (*field, error) {
	tag := ""
	if af.Tag != nil {
		tag = strings.Trim(af.Tag.Value, "`")
	}
	jsonName, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
	if jsonName == "-" {
		return nil, nil
	}
	f := &field{Go: af.Names[0].Name, Wire: jsonName, Bit: "bit" + t.Name + af.Names[0].Name}
	where := t.Name + "." + f.Go
	o, err := parseOptions(reflect.StructTag(tag).Get("fugle"))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	if o.wire != "" {
		f.Wire = o.wire
	}
	if f.Wire == "" {
		return nil, fmt.Errorf("%s: no json name", where)
	}
	f.Names = []string{f.Wire}
	if o.alt != "" {
		f.Names = append(f.Names, o.alt)
	}
	f.Required = o.required
	typ, elem := typeName(af.Type)
	nested := p.structs[typ]
	switch {
	case o.hook != "" && !p.hooks[o.hook]:
		return nil, fmt.Errorf("%s: unknown hook %q: no such method of *Decoder", where, o.hook)
	case o.serial && (typ != "int64" || elem || o.hook != ""):
		return nil, fmt.Errorf("%s: serial needs a plain int64", where)
	case o.hook != "":
		f.Call = "d." + o.hook
	case o.serial:
		f.Call, f.Want = helpers["serial"].call, helpers["serial"].want
	case nested != nil && !elem:
		f.Call, f.Want = "d.decode"+typ, "object"
		nested.Object = true
	case !elem && helpers[typ].call != "":
		f.Call, f.Want = helpers[typ].call, helpers[typ].want
	default:
		return nil, fmt.Errorf("%s: no value helper for its type; name a hook", where)
	}
	if f.Required && (f.Want == "" || t.HasType == "") {
		return nil, fmt.Errorf("%s: only a field with a value helper, in a struct with a has field, can be required", where)
	}
	return f, nil
}

// typeName names the type of a field: the element type of a slice, with elem
// set.
func typeName(e ast.Expr) (name string, elem bool) {
	if a, ok := e.(*ast.ArrayType); ok && a.Len == nil {
		name, _ = typeName(a.Elt)
		return name, true
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name, false
	}
	return fmt.Sprint(e), false
}

func lowerFirst(s string) string {
	return string(unicode.ToLower(rune(s[0]))) + s[1:]
}

// comment writes text as a doc comment wrapped at 77 columns.
func comment(text string) string {
	var b strings.Builder
	line := "//"
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > 77 && line != "//" {
			b.WriteString(line + "\n")
			line = "//"
		}
		line += " " + w
	}
	b.WriteString(line)
	return b.String()
}

// Nested reports whether t has a field that dotted names of Has look inside.
func (t *typeInfo) Nested() bool {
	for _, f := range t.Fields {
		if f.Nested {
			return true
		}
	}
	return false
}
