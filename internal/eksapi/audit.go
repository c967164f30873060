package eksapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-dev/irsa/internal/audit"
)

// Event sources of the two services' audit events.
const (
	SourceEKS     = "eks.amazonaws.com"
	SourceEKSAuth = "eks-auth.amazonaws.com"
)

// EventSource is the audit eventSource of service.
func EventSource(service string) string {
	if service == ServiceEKSAuth {
		return SourceEKSAuth
	}
	return SourceEKS
}

// ReadOnly is CloudTrail's readOnly of an action: the calls that only read
// (Describe*, List*), and AssumeRoleForPodIdentity, which changes no
// resource (as every STS call).
func ReadOnly(action string) bool {
	return strings.HasPrefix(action, "Describe") || strings.HasPrefix(action, "List") || action == AssumeRoleForPodIdentity
}

// AuditParameters is CloudTrail's requestParameters of a request: its path
// members, its query members and its body members by their model names.
// The service-account token never appears: it is returned as tokenHash
// (audit.TokenHash) instead. A body that does not parse is left out. The
// result is never nil.
func AuditParameters(req *Request) (requestParameters map[string]any, tokenHash string) {
	out := map[string]any{}
	if req == nil {
		return out, ""
	}
	var body map[string]any
	if len(bytes.TrimSpace(req.Body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.Body))
		dec.UseNumber()
		if dec.Decode(&body) != nil {
			body = nil
		}
	}
	for k, v := range body {
		switch {
		case strings.EqualFold(k, "token"):
			// The handler's decoder matches member names ignoring case.
			if s, ok := v.(string); ok && s != "" {
				tokenHash = audit.TokenHash(s)
			}
		case secretMember(k):
		default:
			out[k] = v
		}
	}
	for k, vs := range req.Query {
		if len(vs) == 0 || secretMember(k) || strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			continue
		}
		switch k {
		case "tagKeys", "include":
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			out[k] = list
		case "maxResults":
			if n, err := strconv.ParseInt(vs[0], 10, 64); err == nil {
				out[k] = n
				continue
			}
			out[k] = vs[0]
		default:
			out[k] = vs[0]
		}
	}
	for k, v := range req.Labels {
		out[k] = v
	}
	return out, tokenHash
}

// secretMember names members that are never recorded, whatever the
// action (no modeled member of these actions is secret besides the
// token; this guards against a client sending one anyway).
func secretMember(name string) bool {
	l := strings.ToLower(name)
	return l == "token" || strings.Contains(l, "secret") || strings.Contains(l, "sessiontoken") || strings.Contains(l, "password")
}

// AuditResponse is CloudTrail's responseElements of a successful call:
// nil for the calls that only read, the result for the calls that change
// something, and for AssumeRoleForPodIdentity the result with its
// credentials reduced to the access key ID and the expiration.
func AuditResponse(action string, result any) map[string]any {
	if r, ok := result.(*AssumeRoleForPodIdentityResult); ok && r != nil {
		return map[string]any{
			"subject":                map[string]any{"namespace": r.Subject.Namespace, "serviceAccount": r.Subject.ServiceAccount},
			"audience":               r.Audience,
			"podIdentityAssociation": map[string]any{"associationArn": r.PodIdentityAssociation.AssociationArn, "associationId": r.PodIdentityAssociation.AssociationID},
			"assumedRoleUser":        map[string]any{"arn": r.AssumedRoleUser.Arn, "assumeRoleId": r.AssumedRoleUser.AssumeRoleID},
			"credentials":            audit.CredentialsElement(r.Credentials.AccessKeyID, timeOf(r.Credentials.Expiration)),
		}
	}
	if ReadOnly(action) || result == nil {
		return nil
	}
	b, err := Encode(result)
	if err != nil {
		return nil
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&m) != nil || len(m) == 0 {
		return nil
	}
	cloudTrailTimes(m)
	return m
}

// cloudTrailTimes writes the epoch-second timestamps of a result (the
// members named *At) as CloudTrail times.
func cloudTrailTimes(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			cloudTrailTimes(x)
		case []any:
			for _, e := range x {
				if em, ok := e.(map[string]any); ok {
					cloudTrailTimes(em)
				}
			}
		case json.Number:
			if strings.HasSuffix(k, "At") {
				if f, err := x.Float64(); err == nil {
					m[k] = time.UnixMilli(int64(f * 1000)).UTC().Format(audit.TimeFormat)
				}
			}
		}
	}
}
