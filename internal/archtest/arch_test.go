package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/irsa-dev/irsa"

// Layer ranks, lowest first. A package may import module packages of a lower
// rank, and of its own rank when its layer allows it.
const (
	rankLeaf = iota
	rankPure
	rankDomain
	rankEdge
	rankConfig
	rankApp
	rankCLI
	rankCmd
	rankTest // test-only trees and tooling, above everything
)

var rankNames = map[int]string{
	rankLeaf:   "leaf",
	rankPure:   "pure library",
	rankDomain: "domain",
	rankEdge:   "edge",
	rankConfig: "config",
	rankApp:    "composition root",
	rankCLI:    "command line",
	rankCmd:    "main",
	rankTest:   "test tooling",
}

// layers places every package of the module. A path matches an entry when it
// equals the prefix or lies below it; the longest prefix wins. A new package
// must be added here, in the layer DESIGN.md gives it.
var layers = map[string]int{
	// leaves: standard library only
	"internal/arn":    rankLeaf,
	"internal/awserr": rankLeaf,
	"internal/sigv4":  rankLeaf,
	"internal/reqctx": rankLeaf,
	// pure libraries: no I/O
	"internal/policy":   rankPure,
	"internal/lint":     rankPure,
	"internal/awsquery": rankPure,
	"internal/session":  rankPure,
	"internal/store":    rankPure, // the contract and its storetest suite
	// domain: the rules
	"internal/sts":         rankDomain,
	"internal/iam":         rankDomain,
	"internal/podidentity": rankDomain,
	"internal/webidentity": rankDomain,
	"internal/keys":        rankDomain,
	"internal/audit":       rankDomain,
	// edge: wire codecs, handlers, storage backends
	"internal/stsapi":         rankEdge,
	"internal/iamapi":         rankEdge,
	"internal/eksapi":         rankEdge,
	"internal/issuer":         rankEdge,
	"internal/jwks":           rankEdge,
	"internal/webhook":        rankEdge,
	"internal/agent":          rankEdge,
	"internal/alerthook":      rankEdge,
	"internal/store/sqlstore": rankEdge,
	// composition
	"internal/config": rankConfig,
	"internal/app":    rankApp,
	"internal/cli":    rankCLI,
	"cmd/irsa":        rankCmd,
	// tests and tooling
	"internal/archtest": rankTest,
	"test":              rankTest,
}

// sameLayerImports says whether packages of a layer may import each other.
// Leaves may not: they are standard library only.
func sameLayerImports(rank int) bool { return rank != rankLeaf }

// forbidden lists import path prefixes a layer must not use.
var forbidden = map[int][]string{
	rankPure:   {"net/http", "database/sql", "os/exec", "k8s.io", "sigs.k8s.io"},
	rankDomain: {"net/http", "database/sql", "k8s.io", "sigs.k8s.io"},
}

// owners is the dependency budget of STYLE.md: these modules may be imported
// only by the packages listed.
var owners = map[string][]string{
	"github.com/spf13/cobra":  {"internal/cli"},
	"github.com/spf13/pflag":  {"internal/cli"},
	"k8s.io":                  {"internal/webhook"},
	"sigs.k8s.io":             {"internal/webhook"},
	"modernc.org/sqlite":      {"internal/store/sqlstore"},
	"github.com/jackc/pgx/v5": {"internal/store/sqlstore"},
}

// pkg is what the checker needs to know about one package.
type pkg struct {
	ImportPath string
	Imports    []string // production imports; test files are not checked
}

func hasPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// rel returns a module package path relative to the module, and whether the
// path is inside the module.
func rel(path string) (string, bool) {
	if !hasPrefix(path, module) {
		return "", false
	}
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/"), true
}

// rankOf finds the layer of a module-relative path by longest prefix.
func rankOf(relPath string) (int, bool) {
	best, rank := -1, 0
	for prefix, r := range layers {
		if hasPrefix(relPath, prefix) && len(prefix) > best {
			best, rank = len(prefix), r
		}
	}
	return rank, best >= 0
}

// check returns every violation of the layer rules, sorted.
func check(pkgs []pkg) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		fromRank, known := rankOf(from)
		if !known {
			add("%s: package is not in the layer table; add it to layers in internal/archtest/arch_test.go with its DESIGN.md layer", from)
			continue
		}
		for _, imp := range p.Imports {
			if to, inModule := rel(imp); inModule {
				checkInternal(add, from, fromRank, to)
				continue
			}
			if fromRank == rankLeaf && !isStdlib(imp) {
				add("%s imports %s: leaf packages use the standard library only", from, imp)
			}
			if fromRank == rankCmd && !isStdlib(imp) {
				add("%s imports %s: main imports only internal/cli and the standard library", from, imp)
			}
			for _, f := range forbidden[fromRank] {
				if hasPrefix(imp, f) {
					add("%s imports %s: %s packages must not import %s", from, imp, rankNames[fromRank], f)
				}
			}
			for mod, allowed := range owners {
				if !hasPrefix(imp, mod) {
					continue
				}
				if !ownedBy(from, allowed) {
					add("%s imports %s: %s is reserved for %s", from, imp, mod, strings.Join(allowed, ", "))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func checkInternal(add func(string, ...any), from string, fromRank int, to string) {
	toRank, known := rankOf(to)
	if !known {
		add("%s imports %s: package is not in the layer table; add it to layers in internal/archtest/arch_test.go with its DESIGN.md layer", from, to)
		return
	}
	switch {
	case fromRank == rankLeaf:
		add("%s imports %s: leaf packages use the standard library only", from, to)
	case toRank > fromRank || (toRank == fromRank && !sameLayerImports(fromRank)):
		add("%s imports %s: the %s layer must not import the higher %s layer", from, to, rankNames[fromRank], rankNames[toRank])
	}
	if hasPrefix(to, "internal/cli") && from != "cmd/irsa" {
		add("%s imports %s: only cmd/irsa may import internal/cli", from, to)
	}
	if hasPrefix(to, "internal/app") && !hasPrefix(from, "internal/cli") {
		add("%s imports %s: only internal/cli may import internal/app", from, to)
	}
	if fromRank == rankCmd && !hasPrefix(to, "internal/cli") {
		add("%s imports %s: main imports only internal/cli and the standard library", from, to)
	}
}

func ownedBy(from string, allowed []string) bool {
	for _, a := range allowed {
		if hasPrefix(from, a) {
			return true
		}
	}
	return false
}

// listPackages runs `go list -e -json ./...` at the module root.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestLayers checks the real import graph of the module.
func TestLayers(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.ImportPath] = true
	}
	// Guard against a go list that silently returned too little.
	for _, must := range []string{module + "/cmd/irsa", module + "/internal/cli", module + "/internal/policy"} {
		if !seen[must] {
			t.Fatalf("go list did not report %s; got %d packages", must, len(pkgs))
		}
	}
	for _, v := range check(pkgs) {
		t.Error(v)
	}
}

// TestCheckerCatchesViolations feeds the checker synthetic import lists, so
// a checker that accepts everything fails here.
func TestCheckerCatchesViolations(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	tests := []struct {
		name string
		pkgs []pkg
		want []string
	}{
		{
			name: "a well layered tree",
			pkgs: []pkg{
				{m("cmd/irsa"), []string{"os", m("internal/cli")}},
				{m("internal/cli"), []string{"fmt", "github.com/spf13/cobra", m("internal/app"), m("internal/policy")}},
				{m("internal/app"), []string{m("internal/config"), m("internal/stsapi"), m("internal/store/sqlstore")}},
				{m("internal/store/sqlstore"), []string{"database/sql", "modernc.org/sqlite", m("internal/store")}},
				{m("internal/stsapi"), []string{"net/http", m("internal/sts"), m("internal/awsquery")}},
				{m("internal/sts"), []string{m("internal/webidentity"), m("internal/policy"), m("internal/arn")}},
				{m("internal/policy"), []string{"strings", m("internal/arn")}},
				{m("internal/store/storetest"), []string{"testing", m("internal/store")}},
				{m("internal/arn"), []string{"strings"}},
				{m("internal/webhook"), []string{"net/http", "k8s.io/api/admission/v1"}},
			},
			want: nil,
		},
		{
			name: "leaf imports another package of the module",
			pkgs: []pkg{{m("internal/sigv4"), []string{m("internal/arn")}}},
			want: []string{"internal/sigv4 imports internal/arn: leaf packages use the standard library only"},
		},
		{
			name: "leaf imports a third-party module",
			pkgs: []pkg{{m("internal/arn"), []string{"golang.org/x/text/cases"}}},
			want: []string{"internal/arn imports golang.org/x/text/cases: leaf packages use the standard library only"},
		},
		{
			name: "pure library does I/O",
			pkgs: []pkg{{m("internal/policy"), []string{"net/http", "os/exec", "database/sql/driver"}}},
			want: []string{
				"internal/policy imports database/sql/driver: pure library packages must not import database/sql",
				"internal/policy imports net/http: pure library packages must not import net/http",
				"internal/policy imports os/exec: pure library packages must not import os/exec",
			},
		},
		{
			name: "pure library imports the domain above it",
			pkgs: []pkg{{m("internal/session"), []string{m("internal/sts")}}},
			want: []string{"internal/session imports internal/sts: the pure library layer must not import the higher domain layer"},
		},
		{
			name: "domain imports an HTTP server, SQL and Kubernetes",
			pkgs: []pkg{{m("internal/webidentity"), []string{"net/http/httptest", "database/sql", "k8s.io/client-go/kubernetes"}}},
			want: []string{
				"internal/webidentity imports database/sql: domain packages must not import database/sql",
				"internal/webidentity imports k8s.io/client-go/kubernetes: domain packages must not import k8s.io",
				"internal/webidentity imports k8s.io/client-go/kubernetes: k8s.io is reserved for internal/webhook",
				"internal/webidentity imports net/http/httptest: domain packages must not import net/http",
			},
		},
		{
			name: "domain imports the edge",
			pkgs: []pkg{{m("internal/iam"), []string{m("internal/iamapi")}}},
			want: []string{"internal/iam imports internal/iamapi: the domain layer must not import the higher edge layer"},
		},
		{
			name: "the store contract imports its own backend",
			pkgs: []pkg{{m("internal/store"), []string{m("internal/store/sqlstore")}}},
			want: []string{"internal/store imports internal/store/sqlstore: the pure library layer must not import the higher edge layer"},
		},
		{
			name: "main wires something else than the command line",
			pkgs: []pkg{{m("cmd/irsa"), []string{m("internal/app"), "github.com/spf13/cobra"}}},
			want: []string{
				"cmd/irsa imports github.com/spf13/cobra: github.com/spf13/cobra is reserved for internal/cli",
				"cmd/irsa imports github.com/spf13/cobra: main imports only internal/cli and the standard library",
				"cmd/irsa imports internal/app: main imports only internal/cli and the standard library",
				"cmd/irsa imports internal/app: only internal/cli may import internal/app",
			},
		},
		{
			name: "a handler reaches into the command line",
			pkgs: []pkg{{m("internal/stsapi"), []string{m("internal/cli")}}},
			want: []string{
				"internal/stsapi imports internal/cli: only cmd/irsa may import internal/cli",
				"internal/stsapi imports internal/cli: the edge layer must not import the higher command line layer",
			},
		},
		{
			name: "config imports the composition root",
			pkgs: []pkg{{m("internal/config"), []string{m("internal/app")}}},
			want: []string{
				"internal/config imports internal/app: only internal/cli may import internal/app",
				"internal/config imports internal/app: the config layer must not import the higher composition root layer",
			},
		},
		{
			name: "dependency spent outside its owner",
			pkgs: []pkg{{m("internal/audit"), []string{"modernc.org/sqlite"}}, {m("internal/agent"), []string{"github.com/jackc/pgx/v5/pgxpool"}}},
			want: []string{
				"internal/agent imports github.com/jackc/pgx/v5/pgxpool: github.com/jackc/pgx/v5 is reserved for internal/store/sqlstore",
				"internal/audit imports modernc.org/sqlite: modernc.org/sqlite is reserved for internal/store/sqlstore",
			},
		},
		{
			name: "unknown packages",
			pkgs: []pkg{{m("internal/util"), []string{"fmt"}}, {m("internal/iam"), []string{m("internal/helpers")}}},
			want: []string{
				"internal/iam imports internal/helpers: package is not in the layer table; add it to layers in internal/archtest/arch_test.go with its DESIGN.md layer",
				"internal/util: package is not in the layer table; add it to layers in internal/archtest/arch_test.go with its DESIGN.md layer",
			},
		},
		{
			name: "a prefix is a path boundary, not a string prefix",
			pkgs: []pkg{{m("internal/storex"), nil}},
			want: []string{"internal/storex: package is not in the layer table; add it to layers in internal/archtest/arch_test.go with its DESIGN.md layer"},
		},
		{
			name: "packages outside the module are ignored",
			pkgs: []pkg{{"example.com/other", []string{"net/http"}}},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, check(tt.pkgs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}
