// Package archtest owns the architecture rules of the module: its test reads
// the import graph with `go list` and fails when a package imports against
// the layers of DESIGN.md (leaves, pure libraries, domain, edge, composition,
// command line), or spends a dependency outside the package that owns it.
//
// The package has no code of its own; everything is in its test, which
// `go test ./...` runs with the rest of the suite.
package archtest
