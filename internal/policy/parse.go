package policy

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Policy is a parsed, validated and compiled policy document.
type Policy struct {
	// Name identifies the policy in explanations (a file or policy name);
	// the caller sets it.
	Name       string
	Kind       Kind
	Version    string
	ID         string
	Statements []Statement

	stmts []cstatement
}

// Statement is one statement as written. Principal and NotPrincipal map
// each principal type (AWS, Federated, Service, CanonicalUser) to its values;
// "Principal": "*" reads as {"AWS": ["*"]}. A nil slice means the element is
// absent.
type Statement struct {
	Sid          string
	Effect       string
	Principal    map[string][]string
	NotPrincipal map[string][]string
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Conditions   []Condition
}

// Condition is one key of one condition operator, as written.
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// Versions.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Size quotas, counted in characters without whitespace.
const (
	MaxInlineSize  = 10240 // all inline policies of a role together
	MaxManagedSize = 6144
	MaxTrustSize   = 2048 // raised up to 4096 by quota
	MaxSessionSize = 2048
	MaxSCPSize     = 5120
	// MaxResourceSize is the largest resource-based policy (S3 allows 20 KB
	// bucket policies).
	MaxResourceSize = 20480
	// MaxDocumentBytes is the largest document read at all, as the IAM API
	// limits its policy parameters.
	MaxDocumentBytes = 131072
)

// Limits overrides the size quotas for one Parse. Zero fields keep the
// defaults.
type Limits struct {
	// Size is the largest size, without whitespace.
	Size int
}

// Messages AWS uses for MalformedPolicyDocument.
const (
	msgSyntax          = "Syntax errors in policy."
	msgVersion         = "Policy document must be version 2012-10-17 or greater."
	msgLegacy          = "The policy failed legacy parsing"
	msgSidUnique       = "Statement IDs (SID) in a single policy must be unique."
	msgNoActions       = "Policy statement must contain actions."
	msgNoResources     = "Policy statement must contain resources."
	msgNoVendor        = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon        = "Actions/Condition can contain only one colon."
	msgPrincipalIdent  = "Policy document should not specify a principal."
	msgMissingPrinc    = "Missing required field Principal"
	msgTrustResource   = "Has prohibited field Resource"
	msgTrustNotPrinc   = "Has prohibited field NotPrincipal"
	msgTrustNotAction  = "Has prohibited field NotAction"
	msgTrustActions    = "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity"
	msgResourceVendor  = "Resource vendor must be fully qualified and cannot contain regexes."
	msgTrustJSON       = "This policy contains invalid Json"
	msgTrustStar       = "AssumeRolepolicy contained an invalid principal: \"STAR\":\"*\"."
	msgFederated       = "Federated principals must be valid domain names or SAML metadata ARNs"
	msgIAMPathPrefixes = "user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/"
)

func malformed(path, msg string) *Error {
	return &Error{Code: "MalformedPolicyDocument", Message: msg, Path: path}
}

// Parse validates doc as a policy of the given kind, with AWS's checks in
// AWS's order, and compiles it. An invalid document returns an *Error.
func Parse(doc []byte, kind Kind) (*Policy, error) {
	return ParseWithLimits(doc, kind, Limits{})
}

// ParseWithLimits is Parse with a size quota other than the kind's default
// (for example a trust policy quota raised to 4096).
func ParseWithLimits(doc []byte, kind Kind, lim Limits) (*Policy, error) {
	if len(doc) > MaxDocumentBytes {
		return nil, &Error{Code: "LimitExceeded", Message: fmt.Sprintf("Cannot exceed quota for PolicySize: %d", defaultSize(kind))}
	}
	if err := checkCharacters(doc, kind); err != nil {
		return nil, err
	}
	root, err := parseJSON(doc)
	if err != nil {
		if kind == KindTrust {
			return nil, malformed("", msgTrustJSON)
		}
		return nil, malformed("", msgSyntax)
	}
	v := validator{kind: kind}
	p, verr := v.validate(root)
	if verr != nil {
		return nil, verr
	}
	size := lim.Size
	if size == 0 {
		size = defaultSize(kind)
	}
	n := countNonSpace(doc)
	if kind == KindSession {
		// A session policy is an API parameter whose raw length is limited.
		n = utf8.RuneCount(doc)
	}
	if n > size {
		return nil, sizeError(kind, size)
	}
	p.Kind = kind
	if err := p.compile(); err != nil {
		return nil, err
	}
	return p, nil
}

func defaultSize(k Kind) int {
	switch k {
	case KindManaged, KindBoundary:
		return MaxManagedSize
	case KindResource:
		return MaxResourceSize
	case KindTrust:
		return MaxTrustSize
	case KindSession:
		return MaxSessionSize
	case KindSCP:
		return MaxSCPSize
	default:
		return MaxInlineSize
	}
}

func sizeError(k Kind, size int) *Error {
	switch k {
	case KindTrust:
		return &Error{Code: "LimitExceeded", Message: fmt.Sprintf("Cannot exceed quota for ACLSizePerRole: %d", size)}
	case KindSession:
		return &Error{Code: "ValidationError", Message: fmt.Sprintf("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to %d", size)}
	case KindIdentity:
		return &Error{Code: "LimitExceeded", Message: fmt.Sprintf("Maximum policy size of %d bytes exceeded", size)}
	default:
		return &Error{Code: "LimitExceeded", Message: fmt.Sprintf("Cannot exceed quota for PolicySize: %d", size)}
	}
}

// countNonSpace counts the characters of doc that are not JSON whitespace,
// which is how IAM measures policy size.
func countNonSpace(doc []byte) int {
	n := 0
	for _, r := range string(doc) {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// checkCharacters enforces the IAM API's pattern for policy documents:
// U+0009, U+000A, U+000D and U+0020 to U+00FF.
func checkCharacters(doc []byte, kind Kind) *Error {
	for i := 0; i < len(doc); {
		r, size := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError && size <= 1 || !(r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xFF)) {
			param := "policyDocument"
			if kind == KindTrust {
				param = "assumeRolePolicyDocument"
			}
			return &Error{Code: "ValidationError", Message: "1 validation error detected: Value at '" + param + "' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"}
		}
		i += size
	}
	return nil
}

type validator struct {
	kind Kind
}

var validStatementKeys = map[string]bool{
	"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true,
	"Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true,
}

// validate runs AWS's checks in AWS's order: syntax, version, legacy
// parsing, SID uniqueness, actions, resources, resource formats, action
// prefixes, then the rules of the policy kind.
func (v *validator) validate(root *jnode) (*Policy, *Error) {
	p := &Policy{}
	// 1. Syntax.
	if root.kind != jObject {
		return nil, malformed("", msgSyntax)
	}
	for _, m := range root.members {
		switch m.key {
		case "Version":
			if m.val.kind != jString || (m.val.str != Version2012 && m.val.str != Version2008) {
				return nil, malformed("Version", msgSyntax)
			}
			p.Version = m.val.str
		case "Id":
			if m.val.kind != jString {
				return nil, malformed("Id", msgSyntax)
			}
			p.ID = m.val.str
		case "Statement":
		default:
			return nil, malformed(m.key, msgSyntax)
		}
	}
	st := root.get("Statement")
	if st == nil {
		return nil, malformed("Statement", msgSyntax)
	}
	var raw []*jnode
	switch st.kind {
	case jObject:
		raw = []*jnode{st}
	case jArray:
		raw = st.items
	default:
		return nil, malformed("Statement", msgSyntax)
	}
	if len(raw) == 0 {
		return nil, malformed("Statement", msgSyntax)
	}
	p.Statements = make([]Statement, len(raw))
	for i, s := range raw {
		if err := v.statementSyntax(s, &p.Statements[i], stmtPath(i)); err != nil {
			return nil, err
		}
	}
	// 2. Version.
	if p.Version != Version2012 && v.requires2012() {
		return nil, malformed("Version", msgVersion)
	}
	// 3. Legacy parsing: Effect case, condition values of dates, resources.
	resourceErr := (*Error)(nil)
	for i := range p.Statements {
		s := &p.Statements[i]
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, malformed(stmtPath(i)+".Effect", msgLegacy)
		}
		for _, c := range s.Conditions {
			base := baseOperatorName(c.Operator)
			if strings.HasPrefix(base, "Date") {
				for _, val := range c.Values {
					if !legacyDate(val) {
						return nil, malformed(stmtPath(i)+".Condition."+c.Operator, msgLegacy)
					}
				}
			}
		}
		for _, el := range []struct {
			name string
			vals []string
		}{{"Resource", s.Resource}, {"NotResource", s.NotResource}} {
			if el.vals == nil {
				continue
			}
			sorted := append([]string(nil), el.vals...)
			sort.Sort(sort.Reverse(sort.StringSlice(sorted)))
			for _, r := range sorted {
				if resourceErr == nil {
					if msg := resourceFormat(r); msg != "" {
						resourceErr = malformed(stmtPath(i)+"."+el.name, msg)
					}
				}
			}
			if resourceErr == nil {
				for _, r := range el.vals {
					if !legacyResource(r) {
						return nil, malformed(stmtPath(i)+"."+el.name, msgLegacy)
					}
				}
			}
		}
	}
	// 4. SIDs unique.
	seen := map[string]bool{}
	for i, s := range p.Statements {
		if s.Sid == "" {
			continue
		}
		if seen[s.Sid] {
			return nil, malformed(stmtPath(i)+".Sid", msgSidUnique)
		}
		seen[s.Sid] = true
	}
	// 5. Actions present.
	for i, s := range p.Statements {
		if len(s.Action) == 0 && len(s.NotAction) == 0 {
			return nil, malformed(stmtPath(i), msgNoActions)
		}
	}
	// 6. Principals by kind (identity-like kinds refuse them, resource-like
	// kinds require them), before resources, as IAM reports them.
	for i, s := range p.Statements {
		hasPrincipal := s.Principal != nil || s.NotPrincipal != nil
		if v.kind.usesPrincipal() {
			if !hasPrincipal {
				return nil, malformed(stmtPath(i), msgMissingPrinc)
			}
		} else if hasPrincipal {
			return nil, malformed(stmtPath(i)+".Principal", msgPrincipalIdent)
		}
	}
	// 7. Resources present (trust policies must not have any).
	for i, s := range p.Statements {
		if v.kind == KindTrust {
			if s.Resource != nil || s.NotResource != nil {
				return nil, malformed(stmtPath(i)+".Resource", msgTrustResource)
			}
			continue
		}
		if len(s.Resource) == 0 && len(s.NotResource) == 0 {
			return nil, malformed(stmtPath(i), msgNoResources)
		}
	}
	if resourceErr != nil {
		return nil, resourceErr
	}
	// 8. Action prefixes.
	for i, s := range p.Statements {
		for _, el := range [][]string{s.Action, s.NotAction} {
			for _, a := range el {
				if msg := actionFormat(a); msg != "" {
					return nil, malformed(stmtPath(i)+".Action", msg)
				}
			}
		}
	}
	// 9. Condition keys and principals.
	for i, s := range p.Statements {
		for _, c := range s.Conditions {
			if c.Key == "" || strings.ContainsAny(c.Key, " \t") {
				return nil, malformed(stmtPath(i)+".Condition."+c.Operator, msgSyntax)
			}
		}
		if v.kind.usesPrincipal() {
			for _, pr := range []map[string][]string{s.Principal, s.NotPrincipal} {
				if err := principalFormat(pr, stmtPath(i)); err != nil {
					return nil, err
				}
			}
		}
	}
	// 10. Kind rules.
	if v.kind == KindTrust {
		for i, s := range p.Statements {
			if s.NotPrincipal != nil {
				return nil, malformed(stmtPath(i)+".NotPrincipal", msgTrustNotPrinc)
			}
			if s.NotAction != nil {
				return nil, malformed(stmtPath(i)+".NotAction", msgTrustNotAction)
			}
			for _, a := range s.Action {
				if !trustAction(a) {
					return nil, malformed(stmtPath(i)+".Action", msgTrustActions)
				}
			}
		}
	}
	return p, nil
}

func (v *validator) requires2012() bool {
	switch v.kind {
	case KindIdentity, KindManaged, KindBoundary, KindSession:
		return true
	}
	return false
}

func stmtPath(i int) string { return fmt.Sprintf("Statement[%d]", i) }

// statementSyntax checks one statement's shape and fills s.
func (v *validator) statementSyntax(n *jnode, s *Statement, path string) *Error {
	if n.kind != jObject {
		return malformed(path, msgSyntax)
	}
	for _, m := range n.members {
		if !validStatementKeys[m.key] {
			return malformed(path+"."+m.key, msgSyntax)
		}
	}
	if n.get("Action") != nil && n.get("NotAction") != nil {
		return malformed(path, msgSyntax)
	}
	if n.get("Resource") != nil && n.get("NotResource") != nil {
		return malformed(path, msgSyntax)
	}
	if n.get("Principal") != nil && n.get("NotPrincipal") != nil {
		return malformed(path, msgSyntax)
	}
	eff := n.get("Effect")
	if eff == nil || eff.kind != jString || (!strings.EqualFold(eff.str, "Allow") && !strings.EqualFold(eff.str, "Deny")) {
		return malformed(path+".Effect", msgSyntax)
	}
	s.Effect = eff.str
	var err *Error
	if s.Action, err = stringList(n.get("Action"), path+".Action"); err != nil {
		return err
	}
	if s.NotAction, err = stringList(n.get("NotAction"), path+".NotAction"); err != nil {
		return err
	}
	if s.Resource, err = stringList(n.get("Resource"), path+".Resource"); err != nil {
		return err
	}
	if s.NotResource, err = stringList(n.get("NotResource"), path+".NotResource"); err != nil {
		return err
	}
	if s.Principal, err = principalSyntax(n.get("Principal"), path+".Principal"); err != nil {
		return err
	}
	if s.NotPrincipal, err = principalSyntax(n.get("NotPrincipal"), path+".NotPrincipal"); err != nil {
		return err
	}
	if pn := n.get("Principal"); v.kind == KindTrust && pn != nil && pn.kind == jString {
		// IAM takes {"AWS": "*"} in a trust policy but not the bare "*".
		return malformed(path+".Principal", msgTrustStar)
	}
	if c := n.get("Condition"); c != nil {
		if s.Conditions, err = conditionSyntax(c, path+".Condition"); err != nil {
			return err
		}
	}
	if sid := n.get("Sid"); sid != nil {
		if sid.kind != jString || !validSid(sid.str) {
			return malformed(path+".Sid", msgSyntax)
		}
		s.Sid = sid.str
	}
	return nil
}

// validSid allows the characters IAM allows in a statement ID: ASCII letters
// and digits.
func validSid(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// stringList reads a string or an array of strings. A nil node is an absent
// element (nil result); an empty array gives an empty, non-nil slice.
func stringList(n *jnode, path string) ([]string, *Error) {
	if n == nil {
		return nil, nil
	}
	switch n.kind {
	case jString:
		return []string{n.str}, nil
	case jArray:
		out := make([]string, 0, len(n.items))
		for _, it := range n.items {
			if it.kind != jString {
				return nil, malformed(path, msgSyntax)
			}
			out = append(out, it.str)
		}
		return out, nil
	}
	return nil, malformed(path, msgSyntax)
}

var principalTypes = map[string]bool{"AWS": true, "Federated": true, "Service": true, "CanonicalUser": true}

func principalSyntax(n *jnode, path string) (map[string][]string, *Error) {
	if n == nil {
		return nil, nil
	}
	if n.kind == jString {
		if n.str != "*" {
			return nil, malformed(path, msgSyntax)
		}
		return map[string][]string{"AWS": {"*"}}, nil
	}
	if n.kind != jObject {
		return nil, malformed(path, msgSyntax)
	}
	out := make(map[string][]string, len(n.members))
	for _, m := range n.members {
		if !principalTypes[m.key] {
			return nil, malformed(path+"."+m.key, msgSyntax)
		}
		vals, err := stringList(m.val, path+"."+m.key)
		if err != nil {
			return nil, err
		}
		out[m.key] = vals
	}
	return out, nil
}

// conditionSyntax reads the Condition block. Values may be strings, numbers
// or booleans, alone or in an array; numbers keep their JSON text.
func conditionSyntax(n *jnode, path string) ([]Condition, *Error) {
	if n.kind != jObject {
		return nil, malformed(path, msgSyntax)
	}
	var out []Condition
	for _, op := range n.members {
		if op.val.kind != jObject {
			return nil, malformed(path+"."+op.key, msgSyntax)
		}
		if _, ok := lookupOperator(op.key); !ok {
			if len(op.val.members) > 0 {
				return nil, malformed(path+"."+op.key, msgSyntax)
			}
			continue
		}
		for _, kv := range op.val.members {
			var vals []string
			switch kv.val.kind {
			case jString, jNumber, jBool:
				vals = []string{kv.val.str}
			case jArray:
				vals = make([]string, 0, len(kv.val.items))
				for _, it := range kv.val.items {
					switch it.kind {
					case jString, jNumber, jBool:
						vals = append(vals, it.str)
					default:
						return nil, malformed(path+"."+op.key+"."+kv.key, msgSyntax)
					}
				}
			default:
				return nil, malformed(path+"."+op.key+"."+kv.key, msgSyntax)
			}
			out = append(out, Condition{Operator: op.key, Key: kv.key, Values: vals})
		}
	}
	return out, nil
}

// actionFormat returns AWS's message for a malformed action, or "".
func actionFormat(a string) string {
	if a == "*" {
		return ""
	}
	colon := strings.IndexByte(a, ':')
	if colon < 0 {
		return msgNoVendor
	}
	if strings.Count(a, ":") > 1 {
		return msgOneColon
	}
	vendor := a[:colon]
	for i := 0; i < len(vendor); i++ {
		c := vendor[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return fmt.Sprintf("Vendor %s is not valid", vendor)
		}
	}
	return ""
}

var validPartitions = map[string]bool{"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true, "aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true}

var iamPathPrefixes = strings.Split(msgIAMPathPrefixes, ", ")

// resourceFormat returns AWS's message for a malformed Resource entry, or "".
func resourceFormat(r string) string {
	if r == "*" {
		return ""
	}
	scheme, rest, ok := strings.Cut(r, ":")
	if !ok {
		return fmt.Sprintf("Resource %s must be in ARN format or \"*\".", r)
	}
	_ = scheme
	partition, rest, hasColon := strings.Cut(rest, ":")
	if !validPartitions[partition] {
		segs := strings.Split(rest, ":")
		seg := func(i int) string {
			if i < len(segs) && (segs[i] != "" || len(segs) > i+1) {
				if i == 3 {
					return strings.Join(segs[3:], ":")
				}
				return segs[i]
			}
			return "*"
		}
		return fmt.Sprintf("Partition \"%s\" is not valid for resource \"arn:%s:%s:%s:%s:%s\".", partition, partition, seg(0), seg(1), seg(2), seg(3))
	}
	if !hasColon {
		return msgResourceVendor
	}
	service, rest, _ := strings.Cut(rest, ":")
	if service == "" || strings.ContainsAny(service, "*?") {
		return msgResourceVendor
	}
	region, rest, _ := strings.Cut(rest, ":")
	if region != "" {
		switch service {
		case "iam":
			return fmt.Sprintf("IAM resource %s cannot contain region information.", r)
		case "s3":
			return fmt.Sprintf("Resource %s can not contain region information.", r)
		}
	}
	_, resource, _ := strings.Cut(rest, ":")
	if service == "iam" && resource != "*" {
		ok := false
		for _, pfx := range iamPathPrefixes {
			if strings.HasPrefix(resource, pfx) {
				ok = true
				break
			}
		}
		// The account root and any resource in an account are valid IAM
		// resources too.
		if resource == "root" {
			ok = true
		}
		if !ok {
			return fmt.Sprintf("IAM resource path must either be \"*\", root, or start with %s.", msgIAMPathPrefixes)
		}
	}
	return ""
}

// legacyResource is IAM's older resource check: an ARN with an empty
// segment must have all six segments, and the service may not be empty.
func legacyResource(r string) bool {
	if r == "*" {
		return true
	}
	if strings.Count(r, ":") < 5 && strings.Contains(r, "::") {
		return false
	}
	segs := strings.Split(r, ":")
	return len(segs) > 2 && segs[2] != ""
}

// wellKnownFederation are the identity providers a trust policy may name by
// host instead of a provider ARN.
var wellKnownFederation = map[string]bool{
	"cognito-identity.amazonaws.com": true,
	"accounts.google.com":            true,
	"graph.facebook.com":             true,
	"www.amazon.com":                 true,
}

func principalFormat(pr map[string][]string, path string) *Error {
	for _, typ := range []string{"AWS", "Federated", "Service", "CanonicalUser"} {
		vals, ok := pr[typ]
		if !ok {
			continue
		}
		if len(vals) == 0 {
			return malformed(path+".Principal."+typ, msgSyntax)
		}
		for _, val := range vals {
			if msg := principalValue(typ, val); msg != "" {
				return malformed(path+".Principal."+typ, msg)
			}
		}
	}
	return nil
}

// invalidPrincipal is IAM's message, which writes the principal type in
// capitals ("SERVICE", "AWS").
func invalidPrincipal(typ, val string) string {
	return fmt.Sprintf("Invalid principal in policy: \"%s\":\"%s\"", strings.ToUpper(typ), val)
}

// principalValue returns AWS's message for an invalid principal, or "".
// Partial wildcards are never allowed in principals.
func principalValue(typ, val string) string {
	if val == "*" {
		if typ == "AWS" {
			return ""
		}
		return invalidPrincipal(typ, val)
	}
	if strings.ContainsAny(val, "*?") {
		return invalidPrincipal(typ, val)
	}
	switch typ {
	case "AWS":
		if isAccountID(val) {
			return ""
		}
		segs, ok := splitARN(val)
		if ok && segs[2] == "iam" && segs[4] == "cloudfront" && strings.HasPrefix(segs[5], "user/CloudFront Origin Access Identity ") {
			// CloudFront origin access identities are named this way in
			// bucket policies.
			return ""
		}
		if !ok || !validPartitions[segs[1]] || !isAccountID(segs[4]) {
			return invalidPrincipal(typ, val)
		}
		switch segs[2] {
		case "iam":
			res := segs[5]
			if res == "root" || strings.HasPrefix(res, "user/") || strings.HasPrefix(res, "role/") {
				return ""
			}
		case "sts":
			if strings.HasPrefix(segs[5], "assumed-role/") && strings.Count(segs[5], "/") >= 2 || strings.HasPrefix(segs[5], "federated-user/") {
				return ""
			}
		}
		return invalidPrincipal(typ, val)
	case "Federated":
		if wellKnownFederation[val] {
			return ""
		}
		segs, ok := splitARN(val)
		if ok && segs[2] == "iam" && isAccountID(segs[4]) &&
			(strings.HasPrefix(segs[5], "oidc-provider/") && len(segs[5]) > len("oidc-provider/") ||
				strings.HasPrefix(segs[5], "saml-provider/") && len(segs[5]) > len("saml-provider/")) {
			return ""
		}
		return msgFederated
	case "Service":
		if val == "" || strings.ContainsAny(val, " :/") {
			return invalidPrincipal(typ, val)
		}
		return ""
	case "CanonicalUser":
		if val == "" {
			return invalidPrincipal(typ, val)
		}
		return ""
	}
	return invalidPrincipal(typ, val)
}

// trustAction reports whether a trust policy may name action: the actions
// that assume a role, and the session permissions that go with them.
func trustAction(a string) bool {
	for _, allowed := range []string{
		"sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
		"sts:TagSession", "sts:SetSourceIdentity", "sts:SetContext",
	} {
		p := compilePattern(a, true, false)
		if p.match(allowed, true, nil) {
			return true
		}
	}
	return false
}
