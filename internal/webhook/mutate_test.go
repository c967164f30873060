package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden patch.json and warnings.txt files under testdata")

// caseConfig is a fixture's config.yaml: the webhook flags of the case,
// under the flag names.
type caseConfig struct {
	AnnotationPrefix string `json:"annotation-prefix"`
	TokenAudience    string `json:"token-audience"`
	TokenExpiration  int64  `json:"token-expiration"`
	MountPath        string `json:"token-mount-path"`
	Region           string `json:"aws-default-region"`
	RegionalSTS      bool   `json:"sts-regional-endpoint"`
	STSEndpointURL   string `json:"sts-endpoint-url"`
	// PodIdentityAssociations lists the "namespace/serviceAccount" pairs
	// that have an EKS Pod Identity association: what the webhook's
	// association lookup would answer.
	PodIdentityAssociations []string `json:"pod-identity-associations"`
	CredentialsURI          string   `json:"pod-identity-credentials-uri"`
}

// TestMutateGolden runs every fixture under testdata/<case>/: pod.yaml (the
// pod), serviceaccount.yaml (its ServiceAccount; absent means none),
// config.yaml (flags, and the ServiceAccounts with a Pod Identity
// association; absent means defaults and none), patch.json (the expected
// patch) and warnings.txt (expected admission warnings, one per line;
// absent means none). Beyond the golden comparison, each case checks that
// Mutate leaves its input alone, that the patch applies to the pod and
// gives a valid pod, and that a second pass over the result yields no
// patch.
func TestMutateGolden(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, e := range entries {
		dir := filepath.Join("testdata", e.Name())
		// Directories without a pod.yaml hold other packages' fixtures.
		if _, err := os.Stat(filepath.Join(dir, "pod.yaml")); !e.IsDir() || err != nil {
			continue
		}
		cases++
		t.Run(e.Name(), func(t *testing.T) { runGolden(t, dir) })
	}
	if cases < 30 {
		t.Errorf("%d golden cases; want at least 30", cases)
	}
}

func runGolden(t *testing.T, dir string) {
	pod := readPod(t, filepath.Join(dir, "pod.yaml"))
	sa := readServiceAccount(t, filepath.Join(dir, "serviceaccount.yaml"))
	cfg, associations := readCaseConfig(t, filepath.Join(dir, "config.yaml"))
	if sa != nil {
		sa.PodIdentity = slices.Contains(associations, sa.Namespace+"/"+sa.Name)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config.yaml: %v", err)
	}

	before := pod.DeepCopy()
	m, err := plan(cfg, pod, sa)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if diff := cmp.Diff(before, pod); diff != "" {
		t.Errorf("Mutate changed its input pod (-before +after):\n%s", diff)
	}
	patch, err := Mutate(cfg, pod, sa)
	if err != nil {
		t.Fatalf("Mutate: %v", err)
	}
	got := indent(t, patch)
	if again := indent(t, m.patch); !bytes.Equal(got, again) {
		t.Errorf("two passes over the same input differ:\n%s\n%s", got, again)
	}
	golden(t, filepath.Join(dir, "patch.json"), got, true)
	var warnings []byte
	if len(m.warnings) > 0 {
		warnings = []byte(strings.Join(m.warnings, "\n") + "\n")
	}
	golden(t, filepath.Join(dir, "warnings.txt"), warnings, false)

	for _, op := range patch {
		allowed := []string{"/spec/volumes", "/spec/volumes/0", "/spec/containers", "/spec/initContainers",
			"/metadata/labels", "/metadata/labels/eks.amazonaws.com~1pod-identity"}
		if op.Op != "add" || !slices.Contains(allowed, op.Path) {
			t.Errorf("unexpected operation %s %s", op.Op, op.Path)
		}
	}

	podJSON, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := applyPatch(podJSON, got)
	if err != nil {
		t.Fatalf("applying patch.json: %v", err)
	}
	var result corev1.Pod
	if err := decodeStrict(patched, &result); err != nil {
		t.Fatalf("patched pod does not decode as a Pod: %v", err)
	}
	if err := validatePod(&result); err != nil {
		t.Errorf("patched pod is not valid: %v", err)
	}
	second, err := Mutate(cfg, &result, sa)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 0 {
		t.Errorf("second pass over the patched pod gave a patch; want none:\n%s", indent(t, second))
	}
}

func indent(t *testing.T, patch []PatchOp) []byte {
	t.Helper()
	if patch == nil {
		patch = []PatchOp{}
	}
	b, err := json.MarshalIndent(patch, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// golden compares got with the file, or rewrites the file with -update.
// An optional file that is absent stands for empty content.
func golden(t *testing.T, name string, got []byte, required bool) {
	t.Helper()
	if *update {
		if len(got) == 0 && !required {
			if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) && !required {
		want, err = nil, nil
	}
	if err != nil {
		t.Fatalf("%v (run go test ./internal/webhook -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

func readPod(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	readYAML(t, name, &pod)
	if pod.Kind != "Pod" {
		t.Fatalf("%s: kind %q, want Pod", name, pod.Kind)
	}
	return &pod
}

func readServiceAccount(t *testing.T, name string) *ServiceAccount {
	t.Helper()
	if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var sa corev1.ServiceAccount
	readYAML(t, name, &sa)
	if sa.Kind != "ServiceAccount" {
		t.Fatalf("%s: kind %q, want ServiceAccount", name, sa.Kind)
	}
	return &ServiceAccount{Namespace: sa.Namespace, Name: sa.Name, Annotations: sa.Annotations}
}

// readCaseConfig returns a case's Config and its associated
// ServiceAccounts ("namespace/name").
func readCaseConfig(t *testing.T, name string) (*Config, []string) {
	t.Helper()
	var c caseConfig
	if _, err := os.Stat(name); err == nil {
		readYAML(t, name, &c)
	}
	return &Config{
		AnnotationPrefix:            c.AnnotationPrefix,
		TokenAudience:               c.TokenAudience,
		TokenExpiration:             c.TokenExpiration,
		MountPath:                   c.MountPath,
		Region:                      c.Region,
		RegionalSTS:                 c.RegionalSTS,
		STSEndpointURL:              c.STSEndpointURL,
		ContainerCredentialsFullURI: c.CredentialsURI,
	}, c.PodIdentityAssociations
}

// readYAML decodes a YAML file strictly: unknown fields are errors, so a
// typo in a fixture cannot go unnoticed.
func readYAML(t *testing.T, name string, out any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.ToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := decodeStrict(j, out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func decodeStrict(b []byte, out any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(out)
}

// validatePod checks the rules of the API server's pod validation that a
// patch could break: unique container and volume names, mounts that name
// an existing volume, unique mount paths within a container, unique
// variable names, and a well-formed projected token.
func validatePod(pod *corev1.Pod) error {
	var errs []error
	volumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if volumes[v.Name] {
			errs = append(errs, fmt.Errorf("volume %s appears twice", v.Name))
		}
		volumes[v.Name] = true
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if tok := src.ServiceAccountToken; tok != nil {
				if tok.ExpirationSeconds == nil || *tok.ExpirationSeconds < MinTokenExpiration {
					errs = append(errs, fmt.Errorf("volume %s: expirationSeconds below %d", v.Name, MinTokenExpiration))
				}
				if tok.Path == "" {
					errs = append(errs, fmt.Errorf("volume %s: empty token path", v.Name))
				}
			}
		}
	}
	names := map[string]bool{}
	all := slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers)
	if len(pod.Spec.Containers) == 0 {
		errs = append(errs, errors.New("no containers"))
	}
	for _, c := range all {
		if names[c.Name] {
			errs = append(errs, fmt.Errorf("container name %s appears twice", c.Name))
		}
		names[c.Name] = true
		paths := map[string]bool{}
		for _, vm := range c.VolumeMounts {
			if !volumes[vm.Name] {
				errs = append(errs, fmt.Errorf("container %s mounts unknown volume %s", c.Name, vm.Name))
			}
			if paths[vm.MountPath] {
				errs = append(errs, fmt.Errorf("container %s: mount path %s used twice", c.Name, vm.MountPath))
			}
			paths[vm.MountPath] = true
		}
		env := map[string]bool{}
		for _, e := range c.Env {
			if env[e.Name] {
				errs = append(errs, fmt.Errorf("container %s: variable %s appears twice", c.Name, e.Name))
			}
			env[e.Name] = true
		}
	}
	return errors.Join(errs...)
}

// applyPatch applies an RFC 6902 patch made of add and replace operations
// to a JSON document: the subset the webhook emits.
func applyPatch(doc, patch []byte) ([]byte, error) {
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	var ops []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	if err := decodeStrict(patch, &ops); err != nil {
		return nil, err
	}
	for i, op := range ops {
		var value any
		if op.Op == "add" || op.Op == "replace" {
			if err := json.Unmarshal(op.Value, &value); err != nil {
				return nil, fmt.Errorf("operation %d: value: %v", i, err)
			}
		}
		var err error
		root, err = applyOp(root, op.Op, op.Path, value)
		if err != nil {
			return nil, fmt.Errorf("operation %d (%s %s): %w", i, op.Op, op.Path, err)
		}
	}
	return json.Marshal(root)
}

func applyOp(root any, op, pointer string, value any) (any, error) {
	if op != "add" && op != "replace" {
		return nil, fmt.Errorf("unsupported op %q", op)
	}
	if pointer == "" {
		return value, nil
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("pointer %q does not start with /", pointer)
	}
	tokens := strings.Split(pointer[1:], "/")
	for i, tok := range tokens {
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
	}
	parent, err := walk(root, tokens[:len(tokens)-1])
	if err != nil {
		return nil, err
	}
	last := tokens[len(tokens)-1]
	switch p := parent.(type) {
	case map[string]any:
		if _, ok := p[last]; !ok && op == "replace" {
			return nil, fmt.Errorf("replace of missing member %q", last)
		}
		p[last] = value
		return root, nil
	case []any:
		idx := len(p)
		if last != "-" {
			n, err := strconv.Atoi(last)
			if err != nil || n < 0 || n > len(p) || (op == "replace" && n == len(p)) {
				return nil, fmt.Errorf("index %q out of range for %d elements", last, len(p))
			}
			idx = n
		}
		var next []any
		if op == "replace" {
			next = slices.Clone(p)
			next[idx] = value
		} else {
			next = slices.Insert(slices.Clone(p), idx, value)
		}
		// Arrays are values: store the new one in the grandparent.
		if len(tokens) == 1 {
			return next, nil
		}
		grand, err := walk(root, tokens[:len(tokens)-2])
		if err != nil {
			return nil, err
		}
		key := tokens[len(tokens)-2]
		switch g := grand.(type) {
		case map[string]any:
			g[key] = next
		case []any:
			n, _ := strconv.Atoi(key)
			g[n] = next
		}
		return root, nil
	default:
		return nil, fmt.Errorf("parent of %q is not a container", last)
	}
}

func walk(node any, tokens []string) (any, error) {
	for _, tok := range tokens {
		switch n := node.(type) {
		case map[string]any:
			next, ok := n[tok]
			if !ok {
				return nil, fmt.Errorf("member %q not found", tok)
			}
			node = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, fmt.Errorf("index %q out of range", tok)
			}
			node = n[i]
		default:
			return nil, fmt.Errorf("cannot descend into %q", tok)
		}
	}
	return node, nil
}

// TestApplyPatch checks the test's own RFC 6902 applier, so that the golden
// test's "the patch applies" can fail for the right reasons.
func TestApplyPatch(t *testing.T) {
	tests := []struct {
		name, doc, patch, want, err string
	}{
		{"add member", `{"a":{}}`, `[{"op":"add","path":"/a/b","value":1}]`, `{"a":{"b":1}}`, ""},
		{"add replaces member", `{"a":{"b":1}}`, `[{"op":"add","path":"/a/b","value":[2]}]`, `{"a":{"b":[2]}}`, ""},
		{"insert at 0", `{"a":[1,2]}`, `[{"op":"add","path":"/a/0","value":0}]`, `{"a":[0,1,2]}`, ""},
		{"append with -", `{"a":[1]}`, `[{"op":"add","path":"/a/-","value":2}]`, `{"a":[1,2]}`, ""},
		{"escaped key", `{"m":{}}`, `[{"op":"add","path":"/m/eks.amazonaws.com~1x","value":"v"}]`, `{"m":{"eks.amazonaws.com/x":"v"}}`, ""},
		{"replace", `{"a":1}`, `[{"op":"replace","path":"/a","value":2}]`, `{"a":2}`, ""},
		{"replace missing", `{}`, `[{"op":"replace","path":"/a","value":2}]`, "", "replace of missing member"},
		{"add to missing parent", `{}`, `[{"op":"add","path":"/spec/volumes/0","value":1}]`, "", "not found"},
		{"index past end", `{"a":[]}`, `[{"op":"add","path":"/a/1","value":1}]`, "", "out of range"},
		{"remove unsupported", `{"a":1}`, `[{"op":"remove","path":"/a"}]`, "", "unsupported op"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyPatch([]byte(tt.doc), []byte(tt.patch))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v; want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
		})
	}
}

// TestValidatePod makes sure the golden test's validity check catches the
// mistakes a wrong patch would make.
func TestValidatePod(t *testing.T) {
	exp := int64(3600)
	short := int64(60)
	valid := func() *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{{Name: VolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: TokenFile, ExpirationSeconds: &exp}}},
			}}}},
			Containers: []corev1.Container{{
				Name:         "app",
				Env:          []corev1.EnvVar{{Name: EnvRoleARN}},
				VolumeMounts: []corev1.VolumeMount{{Name: VolumeName, MountPath: DefaultMountPath}},
			}},
		}}
	}
	tests := []struct {
		name   string
		change func(*corev1.Pod)
		want   string
	}{
		{"valid", func(*corev1.Pod) {}, ""},
		{"duplicate volume", func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, p.Spec.Volumes[0]) }, "appears twice"},
		{"unknown volume", func(p *corev1.Pod) { p.Spec.Volumes = nil }, "unknown volume"},
		{"duplicate mount path", func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.VolumeMounts = append(c.VolumeMounts, c.VolumeMounts[0])
		}, "used twice"},
		{"duplicate env", func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.Env = append(c.Env, c.Env[0])
		}, "appears twice"},
		{"short expiration", func(p *corev1.Pod) {
			p.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds = &short
		}, "below 600"},
		{"duplicate container", func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{{Name: "app"}} }, "container name app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.change(p)
			err := validatePod(p)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func TestMutateNilArguments(t *testing.T) {
	pod := &corev1.Pod{}
	sa := &ServiceAccount{Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/r"}}
	if _, err := Mutate(nil, pod, sa); err == nil {
		t.Error("nil Config: no error")
	}
	if _, err := Mutate(&Config{}, nil, sa); err == nil {
		t.Error("nil Pod: no error")
	}
	if p, err := Mutate(&Config{}, pod, nil); err != nil || p != nil {
		t.Errorf("nil ServiceAccount: %v, %v; want no patch, no error", p, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"zero", Config{}, nil},
		{"full", Config{AnnotationPrefix: "irsa.example.com", TokenAudience: "a", TokenExpiration: 3600, MountPath: "/x", Region: "us-gov-west-1", RegionalSTS: true, STSEndpointURL: "https://irsa.example.com:8443"}, nil},
		{"all wrong", Config{AnnotationPrefix: "Bad_Prefix/", TokenExpiration: -1, MountPath: "rel/path", Region: "US East", STSEndpointURL: "irsa:8443"},
			[]string{"annotation prefix", "negative", "not absolute", "not a region", "not an http or https URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestMutateConcurrent runs Mutate on one shared pod from several
// goroutines: under -race it shows that Mutate never writes to the
// backing arrays of its input, which have room to spare after decoding.
func TestMutateConcurrent(t *testing.T) {
	pod := readPod(t, filepath.Join("testdata", "env-unrelated", "pod.yaml"))
	sa := readServiceAccount(t, filepath.Join("testdata", "env-unrelated", "serviceaccount.yaml"))
	c := &pod.Spec.Containers[0]
	c.Env = slices.Grow(c.Env, 8)
	c.VolumeMounts = slices.Grow(c.VolumeMounts, 8)
	cfg := &Config{Region: "eu-west-1", RegionalSTS: true}
	want, err := Mutate(cfg, pod, sa)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := indent(t, want)
	var wg sync.WaitGroup
	results := make([][]byte, 8)
	for i := range results {
		wg.Go(func() {
			p, err := Mutate(cfg, pod, sa)
			if err != nil {
				t.Error(err)
				return
			}
			b, err := json.Marshal(p)
			if err != nil {
				t.Error(err)
			}
			results[i] = b
		})
	}
	wg.Wait()
	compact, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range results {
		if !bytes.Equal(got, compact) {
			t.Errorf("goroutine %d: patch differs from\n%s", i, wantJSON)
		}
	}
}
