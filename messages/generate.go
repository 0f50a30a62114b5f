package messages

// The bit constants, name tables, Has and Kind methods, typed decode methods
// and member switches of the payload types are generated from their
// declarations and struct tags; see internal/gen.
//go:generate go run ./internal/gen
//go:generate go run ./internal/gen -tests
