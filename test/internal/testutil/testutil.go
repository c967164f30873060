// Package testutil holds what the end-to-end test packages share: the
// synchronized output buffer of the processes they start, the set of
// secrets that must never appear in any output, and how they find the
// module and the go command.
package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// SyncBuffer is a bytes.Buffer safe for a process's writers and the
// test's readers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Secrets is what must never be logged: tokens, secret keys and session
// tokens, each with a description for the failure message.
type Secrets struct {
	mu sync.Mutex
	m  map[string]string
}

// NewSecrets returns an empty set.
func NewSecrets() *Secrets { return &Secrets{m: map[string]string{}} }

// Add registers value, described as what. Values shorter than 8
// characters are too short to be meaningful substrings and are ignored.
func (s *Secrets) Add(value, what string) {
	if len(value) < 8 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[value]; !ok {
		s.m[value] = what
	}
}

// AddToken registers a compact JWS and, separately, its signature: a log
// line holding the signature alone leaks as much as the whole token.
func (s *Secrets) AddToken(tok, what string) {
	s.Add(tok, what)
	if i := strings.LastIndexByte(tok, '.'); i >= 0 && len(tok)-i > 20 {
		s.Add(tok[i+1:], "signature of "+what)
	}
}

// Len is the number of secrets registered.
func (s *Secrets) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// FindIn reports each secret found in any of the texts, keyed by what
// they are the output of.
func (s *Secrets) FindIn(texts map[string]string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []string
	for value, what := range s.m {
		for name, text := range texts {
			if strings.Contains(text, value) {
				found = append(found, fmt.Sprintf("%s holds the %s", name, what))
			}
		}
	}
	sort.Strings(found)
	return found
}

// ModuleRoot asks the go command where the module's go.mod is.
func ModuleRoot() (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(GoTool(), "env", "GOMOD")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go env GOMOD: %v: %s", err, stderr.String())
	}
	gomod := strings.TrimSpace(stdout.String())
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD found no go.mod above the working directory")
	}
	return filepath.Dir(gomod), nil
}

// GoTool is the go command of the toolchain running the tests, falling
// back to the one on PATH.
func GoTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); IsExecutable(p) {
			return p
		}
	}
	return "go"
}

// IsExecutable reports whether p is an executable file.
func IsExecutable(p string) bool {
	fi, err := os.Stat(p) //nolint:gosec // p is a tool path the tests look for (GOROOT, PATH), not input
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// BuildIrsa builds cmd/irsa of the module at root, with the go build
// flags given, into a new temporary directory; cleanup removes it.
func BuildIrsa(root string, flags []string) (bin string, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "irsa-test-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { _ = os.RemoveAll(tmp) }
	bin = filepath.Join(tmp, "irsa")
	build := exec.Command(GoTool(), append(append([]string{"build"}, flags...), "-o", bin, "./cmd/irsa")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build ./cmd/irsa: %w\n%s", err, out)
	}
	return bin, cleanup, nil
}
