//go:build unix

package e2e

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/irsa-dev/irsa/test/internal/testutil"
)

var (
	// irsaBin is the irsa binary TestMain builds from this checkout.
	irsaBin string
	// moduleRoot is the directory of the module's go.mod.
	moduleRoot string
	// testBinary is this test binary, which is also the aws-sdk-go-v2
	// client (runGoClient).
	testBinary string
	// irsaBuildFlags are added to `go build` of the server (-race when the
	// tests run with it).
	irsaBuildFlags []string
)

func TestMain(m *testing.M) {
	// The test binary doubles as the aws-sdk-go-v2 client process: a pod
	// has its own environment, and so does this child.
	if mode := os.Getenv(goClientEnv); mode != "" {
		os.Exit(runGoClient(mode))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	// Listing tests (go test -list, which `make fuzz-short` runs) needs no
	// binary.
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return m.Run()
	}
	root, err := testutil.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	moduleRoot = root
	if testBinary, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	bin, cleanup, err := testutil.BuildIrsa(moduleRoot, irsaBuildFlags)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer cleanup()
	irsaBin = bin
	return m.Run()
}
