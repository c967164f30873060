package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is the declarative file.
type File struct {
	Clusters      []Cluster       `yaml:"clusters"`
	OIDCProviders []Provider      `yaml:"oidcProviders"`
	Policies      []ManagedPolicy `yaml:"policies"`
	Roles         []Role          `yaml:"roles"`
	// PodIdentityAssociations bind a cluster's ServiceAccounts to roles
	// (EKS Pod Identity); see podidentity.go.
	PodIdentityAssociations []PodIdentityAssociation `yaml:"podIdentityAssociations"`
	// Audit configures the server's alert rules and notifications; see
	// audit.go.
	Audit *Audit `yaml:"audit"`
}

// Cluster is a Kubernetes cluster whose service-account issuer irsa
// publishes, as EKS publishes its clusters': the cluster's
// --service-account-issuer is Issuer, a URL served by irsa, and irsa reads
// the keys from the API server at JWKSURL. Applying the file registers
// Issuer as an OIDC provider (for IRSA) and the cluster as an EKS Pod
// Identity cluster of the account (DescribeCluster, associations,
// AssumeRoleForPodIdentity). Without JWKSURL the issuer's keys are found
// through its discovery document, as for any OIDC provider.
type Cluster struct {
	Name string `yaml:"name"`
	// Issuer is the cluster's --service-account-issuer: https://, on
	// irsa's listener (behind the public name that reaches it).
	Issuer string `yaml:"issuer"`
	// JWKSURL is the API server's key set, e.g.
	// https://10.0.0.1:6443/openid/v1/jwks; optional.
	JWKSURL string `yaml:"jwksUrl"`
	// CAFile is the PEM bundle that verifies the API server.
	CAFile string `yaml:"caFile"`
	// BearerTokenFile is sent to the API server when it does not serve its
	// key set to anonymous callers.
	BearerTokenFile string `yaml:"bearerTokenFile"`
	// ClientIDs of the registered provider; default sts.amazonaws.com.
	ClientIDs []string `yaml:"clientIds"`
}

// Provider is an OIDC provider.
type Provider struct {
	URL         string            `yaml:"url"`
	ClientIDs   []string          `yaml:"clientIds"`
	Thumbprints []string          `yaml:"thumbprints"`
	Tags        map[string]string `yaml:"tags"`
}

// ManagedPolicy is a customer managed policy.
type ManagedPolicy struct {
	Name        string            `yaml:"name"`
	Path        string            `yaml:"path"`
	Description string            `yaml:"description"`
	Document    Document          `yaml:"document"`
	Tags        map[string]string `yaml:"tags"`
}

// Role is a role with its policies.
type Role struct {
	Name                string            `yaml:"name"`
	Path                string            `yaml:"path"`
	Description         string            `yaml:"description"`
	MaxSessionDuration  int               `yaml:"maxSessionDuration"`
	TrustPolicy         Document          `yaml:"trustPolicy"`
	PermissionsBoundary string            `yaml:"permissionsBoundary"`
	InlinePolicies      []InlinePolicy    `yaml:"inlinePolicies"`
	ManagedPolicies     []string          `yaml:"managedPolicies"`
	Tags                map[string]string `yaml:"tags"`
}

// InlinePolicy is a policy embedded in a role.
type InlinePolicy struct {
	Name     string   `yaml:"name"`
	Document Document `yaml:"document"`
}

// Document is a policy document, written in the file either as a YAML
// mapping (converted to JSON) or as a JSON string.
type Document struct {
	JSON string
	line int
}

// UnmarshalYAML reads a mapping or a string.
func (d *Document) UnmarshalYAML(n *yaml.Node) error {
	d.line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		d.JSON = n.Value
		return nil
	case yaml.MappingNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		b, err := json.Marshal(normalize(v))
		if err != nil {
			return fmt.Errorf("line %d: the policy document cannot be written as JSON: %w", n.Line, err)
		}
		d.JSON = string(b)
		return nil
	}
	return fmt.Errorf("line %d: a policy document must be a mapping or a JSON string", n.Line)
}

// normalize turns YAML's map[string]any trees into JSON-encodable values.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	}
	return v
}

// Load reads and checks a file. Every problem is reported, joined.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse reads a file's content strictly: unknown keys are errors.
func Parse(b []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return &f, nil
		}
		return nil, fmt.Errorf("%v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Validate reports every structural problem at once. The IAM rules
// (names, documents) are checked when the file is applied, with AWS's
// messages.
func (f *File) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range f.Clusters {
		where := fmt.Sprintf("clusters[%d]", i)
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", where))
		}
		if !strings.HasPrefix(c.Issuer, "https://") {
			errs = append(errs, fmt.Errorf("%s (%s): issuer must be an https:// URL (the cluster's --service-account-issuer, served by irsa)", where, c.Name))
		}
		if c.JWKSURL != "" && !strings.HasPrefix(c.JWKSURL, "https://") {
			errs = append(errs, fmt.Errorf("%s (%s): jwksUrl must be the API server's https://…/openid/v1/jwks", where, c.Name))
		}
		if seen["c:"+c.Name] || seen["i:"+c.Issuer] {
			errs = append(errs, fmt.Errorf("%s: cluster %s or its issuer is declared twice", where, c.Name))
		}
		seen["c:"+c.Name], seen["i:"+c.Issuer] = true, true
	}
	for i, p := range f.OIDCProviders {
		where := fmt.Sprintf("oidcProviders[%d]", i)
		if p.URL == "" {
			errs = append(errs, fmt.Errorf("%s: url is required", where))
		}
		if len(p.ClientIDs) == 0 {
			errs = append(errs, fmt.Errorf("%s: clientIds needs at least one client ID (for IRSA: sts.amazonaws.com)", where))
		}
		if seen["p:"+p.URL] {
			errs = append(errs, fmt.Errorf("%s: provider %s is declared twice", where, p.URL))
		}
		seen["p:"+p.URL] = true
	}
	for i, p := range f.Policies {
		where := fmt.Sprintf("policies[%d]", i)
		if p.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", where))
		}
		if p.Document.JSON == "" {
			errs = append(errs, fmt.Errorf("%s (%s): document is required", where, p.Name))
		}
		if seen["m:"+strings.ToLower(p.Name)] {
			errs = append(errs, fmt.Errorf("%s: policy %s is declared twice", where, p.Name))
		}
		seen["m:"+strings.ToLower(p.Name)] = true
	}
	for i, r := range f.Roles {
		where := fmt.Sprintf("roles[%d]", i)
		if r.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", where))
		}
		if r.TrustPolicy.JSON == "" {
			errs = append(errs, fmt.Errorf("%s (%s): trustPolicy is required", where, r.Name))
		}
		if r.MaxSessionDuration != 0 && (r.MaxSessionDuration < 3600 || r.MaxSessionDuration > 43200) {
			errs = append(errs, fmt.Errorf("%s (%s): maxSessionDuration must be between 3600 and 43200 seconds, got %d", where, r.Name, r.MaxSessionDuration))
		}
		if seen["r:"+strings.ToLower(r.Name)] {
			errs = append(errs, fmt.Errorf("%s: role %s is declared twice", where, r.Name))
		}
		seen["r:"+strings.ToLower(r.Name)] = true
		names := map[string]bool{}
		for j, ip := range r.InlinePolicies {
			if ip.Name == "" || ip.Document.JSON == "" {
				errs = append(errs, fmt.Errorf("%s.inlinePolicies[%d]: name and document are required", where, j))
			}
			if names[ip.Name] {
				errs = append(errs, fmt.Errorf("%s.inlinePolicies[%d]: inline policy %s is declared twice", where, j, ip.Name))
			}
			names[ip.Name] = true
		}
	}
	errs = append(errs, f.validatePodIdentity()...)
	if f.Audit != nil {
		if err := f.Audit.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
