package awsquery

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// The files under testdata/aws-recorded are responses LocalStack recorded
// from real AWS, as botocore parsed them (see SOURCE). botocore drops the
// Response and Result wrappers, turns <X><member>… into lists, decodes
// policy documents into JSON values, and masks identifiers and dates
// ("<datetime>"). The tests below render each recorded response with this
// package's example shapes, parse our XML and JSON back, and require the
// same element names, nesting, list lengths and values as AWS sent.

type recordedEntry struct {
	file, test, key string
	content         map[string]any
}

func loadRecorded(t *testing.T) []recordedEntry {
	t.Helper()
	var out []recordedEntry
	for _, file := range []string{"sts", "iam"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "aws-recorded", file+".snapshot.json"))
		if err != nil {
			t.Fatal(err)
		}
		var snap map[string]struct {
			Content map[string]any `json:"recorded-content"`
		}
		if err := json.Unmarshal(raw, &snap); err != nil {
			t.Fatal(err)
		}
		for test, e := range snap {
			for key, v := range e.Content {
				m, _ := v.(map[string]any)
				_, name, _ := strings.Cut(test, "::")
				out = append(out, recordedEntry{file: file, test: name, key: key, content: m})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.file+a.test+a.key < b.file+b.test+b.key
	})
	if len(out) < 50 {
		t.Fatalf("only %d recorded entries loaded", len(out))
	}
	return out
}

func (e recordedEntry) name() string { return e.file + "/" + e.test + "/" + e.key }

// unmapped lists the recorded successes that are not irsa responses.
var unmapped = map[string]string{
	"sts/TestSTSIntegrations::test_get_federation_token/get-federation-token": "GetFederationToken is not an irsa action",
	"sts/TestSTSIntegrations::test_assume_role/role-session-name":             "a value of the test, not a response",
}

// policyKeys are the elements IAM returns URL-encoded and botocore decodes.
var policyKeys = map[string]bool{"AssumeRolePolicyDocument": true, "PolicyDocument": true, "Document": true}

func TestRecordedResponses(t *testing.T) {
	mapped := 0
	seen := map[string]bool{}
	for _, e := range loadRecorded(t) {
		if e.content == nil || e.content["Error"] != nil {
			continue
		}
		if _, ok := unmapped[e.name()]; ok {
			seen[e.name()] = true
			continue
		}
		t.Run(e.name(), func(t *testing.T) {
			status := num(mapOf(e.content, "ResponseMetadata"), "HTTPStatusCode")
			if status != 200 {
				t.Fatalf("recorded status %v", status)
			}
			result := resultFromRecording(t, e.content)
			fields := map[string]any{}
			for k, v := range e.content {
				if k != "ResponseMetadata" {
					fields[k] = v
				}
			}

			body, _, err := MarshalResult("Op", IAMNamespace, testRequestID, result, false)
			if err != nil {
				t.Fatal(err)
			}
			root := parseElems(t, body)
			var res *elem
			for _, c := range root.children {
				if c.name == "OpResult" {
					res = c
				}
			}
			switch {
			case len(fields) == 0 && res != nil:
				t.Errorf("AWS sent no result; we sent\n%s", body)
			case len(fields) > 0 && res == nil:
				t.Errorf("AWS sent %v; we sent no result\n%s", fields, body)
			case res != nil:
				compareXML(t, "Result", "", fields, res)
			}

			body, _, err = MarshalResult("Op", IAMNamespace, testRequestID, result, true)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			got, ok := doc["OpResponse"]["OpResult"]
			if len(fields) > 0 || ok {
				compareJSON(t, "Result", "", fields, got)
			}
		})
		mapped++
	}
	if mapped < 25 {
		t.Errorf("only %d recorded responses compared", mapped)
	}
	for name := range unmapped {
		if !seen[name] {
			t.Errorf("unmapped lists %s, which is not in the recordings", name)
		}
	}
}

// TestRecordedErrors renders every recorded error with MarshalError and
// checks code, message, fault and HTTP status (from awserr's table).
func TestRecordedErrors(t *testing.T) {
	n := 0
	for _, e := range loadRecorded(t) {
		rec := mapOf(e.content, "Error")
		if rec == nil {
			continue
		}
		n++
		t.Run(e.name(), func(t *testing.T) {
			aerr := awserr.New(str(rec, "Code"), str(rec, "Message"))
			if got, want := aerr.Status(), int(num(mapOf(e.content, "ResponseMetadata"), "HTTPStatusCode")); got != want {
				t.Errorf("status of %s is %d, AWS answered %d", aerr.Code, got, want)
			}
			ns := IAMNamespace
			if e.file == "sts" {
				ns = STSNamespace
			}
			body, _ := MarshalError(ns, aerr, testRequestID, false)
			var got struct {
				Type    string `xml:"Error>Type"`
				Code    string `xml:"Error>Code"`
				Message string `xml:"Error>Message"`
			}
			if err := xml.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"Type": str(rec, "Type"), "Code": str(rec, "Code"), "Message": str(rec, "Message")}
			if diff := cmp.Diff(want, map[string]string{"Type": got.Type, "Code": got.Code, "Message": got.Message}); diff != "" {
				t.Errorf("XML error (-recorded +ours):\n%s", diff)
			}
			body, _ = MarshalError(ns, aerr, testRequestID, true)
			var j struct{ Error map[string]string }
			if err := json.Unmarshal(body, &j); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, j.Error); diff != "" {
				t.Errorf("JSON error (-recorded +ours):\n%s", diff)
			}
		})
	}
	if n < 90 {
		t.Errorf("only %d recorded errors checked", n)
	}
}

// elem is a parsed XML element.
type elem struct {
	name     string
	text     string
	children []*elem
}

func parseElems(t *testing.T, body []byte) *elem {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	var stack []*elem
	var root *elem
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &elem{name: tok.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, e)
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	return root
}

// compareXML checks our element e against the value botocore recorded
// under key.
func compareXML(t *testing.T, path, key string, rec any, e *elem) {
	t.Helper()
	if policyKeys[key] {
		comparePolicy(t, path, rec, strings.TrimSpace(e.text))
		return
	}
	switch r := rec.(type) {
	case map[string]any:
		byName := map[string]*elem{}
		for _, c := range e.children {
			if byName[c.name] != nil {
				t.Errorf("%s: element %s repeated", path, c.name)
			}
			byName[c.name] = c
		}
		for k, v := range r {
			c := byName[k]
			if c == nil {
				t.Errorf("%s: AWS sends %s; we do not", path, k)
				continue
			}
			compareXML(t, path+"."+k, k, v, c)
		}
		for name := range byName {
			if _, ok := r[name]; !ok {
				t.Errorf("%s: we send %s; AWS does not", path, name)
			}
		}
	case []any:
		if len(e.children) != len(r) {
			t.Errorf("%s: %d members, AWS sent %d", path, len(e.children), len(r))
			return
		}
		for i, c := range e.children {
			if c.name != "member" {
				t.Errorf("%s: list item %s, want member", path, c.name)
			}
			compareXML(t, fmt.Sprintf("%s[%d]", path, i), "", r[i], c)
		}
	default:
		if len(e.children) > 0 {
			t.Errorf("%s: AWS sent a scalar, we sent %d elements", path, len(e.children))
			return
		}
		compareScalar(t, path, r, e.text, false)
	}
}

func compareScalar(t *testing.T, path string, rec any, text string, epoch bool) {
	t.Helper()
	switch r := rec.(type) {
	case string:
		if r == "<datetime>" {
			if epoch {
				if _, err := strconv.ParseInt(text, 10, 64); err != nil {
					t.Errorf("%s: %q is not epoch seconds", path, text)
				}
			} else if _, err := time.Parse(TimeFormat, text); err != nil {
				t.Errorf("%s: %q is not %s", path, text, TimeFormat)
			}
			return
		}
		if text != r {
			t.Errorf("%s: %q, AWS sent %q", path, text, r)
		}
	case float64:
		if f, err := strconv.ParseFloat(text, 64); err != nil || f != r {
			t.Errorf("%s: %q, AWS sent the number %v", path, text, r)
		}
	case bool:
		if text != strconv.FormatBool(r) {
			t.Errorf("%s: %q, AWS sent %v", path, text, r)
		}
	default:
		t.Errorf("%s: recorded %T not understood", path, rec)
	}
}

// comparePolicy decodes our URL-encoded document the way botocore does
// (percent-decoding, then JSON) and requires AWS's document.
func comparePolicy(t *testing.T, path string, rec any, encoded string) {
	t.Helper()
	plain, err := url.PathUnescape(encoded)
	if err != nil {
		t.Errorf("%s: %q does not percent-decode: %v", path, encoded, err)
		return
	}
	var doc any
	if err := json.Unmarshal([]byte(plain), &doc); err != nil {
		t.Errorf("%s: decoded document %q is not JSON: %v", path, plain, err)
		return
	}
	if diff := cmp.Diff(rec, doc); diff != "" {
		t.Errorf("%s: document (-AWS +ours):\n%s", path, diff)
	}
}

// compareJSON checks our JSON rendering against the recorded value.
func compareJSON(t *testing.T, path, key string, rec, got any) {
	t.Helper()
	if policyKeys[key] {
		s, ok := got.(string)
		if !ok {
			t.Errorf("%s: %T, want the encoded document as a string", path, got)
			return
		}
		comparePolicy(t, path, rec, s)
		return
	}
	switch r := rec.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: %T, AWS sent an object", path, got)
			return
		}
		for k, v := range r {
			if _, ok := g[k]; !ok {
				t.Errorf("%s: AWS sends %s; we do not", path, k)
				continue
			}
			compareJSON(t, path+"."+k, k, v, g[k])
		}
		for k := range g {
			if _, ok := r[k]; !ok {
				t.Errorf("%s: we send %s; AWS does not", path, k)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(r) {
			t.Errorf("%s: %v, AWS sent a list of %d", path, got, len(r))
			return
		}
		for i := range r {
			compareJSON(t, fmt.Sprintf("%s[%d]", path, i), "", r[i], g[i])
		}
	case string:
		if r == "<datetime>" {
			if _, ok := got.(float64); !ok {
				t.Errorf("%s: %v, want epoch seconds", path, got)
			}
			return
		}
		if got != r {
			t.Errorf("%s: %v, AWS sent %q", path, got, r)
		}
	case float64, bool:
		if got != r {
			t.Errorf("%s: %v (%T), AWS sent %v (%T)", path, got, got, r, r)
		}
	default:
		t.Errorf("%s: recorded %T not understood", path, rec)
	}
}

func mapOf(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func listOf(m map[string]any, k string) []any {
	v, _ := m[k].([]any)
	return v
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func num(m map[string]any, k string) float64 {
	v, _ := m[k].(float64)
	return v
}

// recordedTime stands for a masked "<datetime>".
var recordedTime = time.Date(2024, 6, 5, 13, 39, 17, 0, time.UTC)

// encodedDoc turns a document botocore decoded back into what IAM sends.
func encodedDoc(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return EncodePolicyDocument(string(raw))
}

func tagsFrom(m map[string]any) []Tag {
	var tags []Tag
	for _, v := range listOf(m, "Tags") {
		tm, _ := v.(map[string]any)
		tags = append(tags, Tag{Key: str(tm, "Key"), Value: str(tm, "Value")})
	}
	return tags
}

func roleFrom(t *testing.T, m map[string]any) role {
	r := role{
		Path:       str(m, "Path"),
		RoleName:   str(m, "RoleName"),
		RoleID:     str(m, "RoleId"),
		Arn:        str(m, "Arn"),
		CreateDate: recordedTime,
		Tags:       tagsFrom(m),
	}
	if doc, ok := m["AssumeRolePolicyDocument"]; ok {
		r.AssumeRolePolicyDocument = encodedDoc(t, doc)
	}
	if _, ok := m["Description"]; ok {
		r.Description = ptr(str(m, "Description"))
	}
	if _, ok := m["MaxSessionDuration"]; ok {
		r.MaxSessionDuration = ptr(int32(num(m, "MaxSessionDuration")))
	}
	if pb := mapOf(m, "PermissionsBoundary"); pb != nil {
		r.PermissionsBoundary = &permissionsBoundary{PermissionsBoundaryType: str(pb, "PermissionsBoundaryType"), PermissionsBoundaryArn: str(pb, "PermissionsBoundaryArn")}
	}
	if last := mapOf(m, "RoleLastUsed"); last != nil {
		r.RoleLastUsed = &roleLastUsed{Region: str(last, "Region")}
		if _, ok := last["LastUsedDate"]; ok {
			r.RoleLastUsed.LastUsedDate = ptr(recordedTime)
		}
	}
	return r
}

func statementsFrom(l []any) []statement {
	out := []statement{}
	for _, v := range l {
		m, _ := v.(map[string]any)
		pos := func(k string) position {
			p := mapOf(m, k)
			return position{Line: int32(num(p, "Line")), Column: int32(num(p, "Column"))}
		}
		out = append(out, statement{
			SourcePolicyID:   str(m, "SourcePolicyId"),
			SourcePolicyType: str(m, "SourcePolicyType"),
			StartPosition:    pos("StartPosition"),
			EndPosition:      pos("EndPosition"),
		})
	}
	return out
}

func stringsFrom(l []any) []string {
	out := []string{}
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

func detailsFrom(m map[string]any) map[string]string {
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

// resultFromRecording fills the example shape that answers the recorded
// response, taking every value from the recording.
func resultFromRecording(t *testing.T, c map[string]any) any {
	t.Helper()
	switch {
	case c["Role"] != nil:
		return roleResult{Role: roleFrom(t, mapOf(c, "Role"))}
	case c["Roles"] != nil:
		r := listRolesResult{Roles: []role{}, IsTruncated: c["IsTruncated"] == true, Marker: str(c, "Marker")}
		for _, v := range listOf(c, "Roles") {
			m, _ := v.(map[string]any)
			r.Roles = append(r.Roles, roleFrom(t, m))
		}
		return r
	case c["Policy"] != nil:
		p := mapOf(c, "Policy")
		return createPolicyResult{Policy: managedPolicy{
			PolicyName:                    str(p, "PolicyName"),
			PolicyID:                      str(p, "PolicyId"),
			Arn:                           str(p, "Arn"),
			Path:                          str(p, "Path"),
			DefaultVersionID:              str(p, "DefaultVersionId"),
			AttachmentCount:               int32(num(p, "AttachmentCount")),
			PermissionsBoundaryUsageCount: int32(num(p, "PermissionsBoundaryUsageCount")),
			IsAttachable:                  p["IsAttachable"] == true,
			Description:                   str(p, "Description"),
			CreateDate:                    recordedTime,
			UpdateDate:                    recordedTime,
			Tags:                          tagsFrom(p),
		}}
	case c["PolicyDocument"] != nil && c["RoleName"] != nil:
		return getRolePolicyResult{RoleName: str(c, "RoleName"), PolicyName: str(c, "PolicyName"), PolicyDocument: encodedDoc(t, c["PolicyDocument"])}
	case c["PolicyNames"] != nil:
		return listRolePoliciesResult{PolicyNames: stringsFrom(listOf(c, "PolicyNames")), IsTruncated: c["IsTruncated"] == true, Marker: str(c, "Marker")}
	case c["AttachedPolicies"] != nil:
		r := listAttachedRolePoliciesResult{AttachedPolicies: []attachedPolicy{}, IsTruncated: c["IsTruncated"] == true, Marker: str(c, "Marker")}
		for _, v := range listOf(c, "AttachedPolicies") {
			m, _ := v.(map[string]any)
			r.AttachedPolicies = append(r.AttachedPolicies, attachedPolicy{PolicyName: str(m, "PolicyName"), PolicyArn: str(m, "PolicyArn")})
		}
		return r
	case c["EvaluationResults"] != nil:
		r := simulatePolicyResult{IsTruncated: c["IsTruncated"] == true, Marker: str(c, "Marker")}
		for _, v := range listOf(c, "EvaluationResults") {
			m, _ := v.(map[string]any)
			er := evaluationResult{
				EvalActionName:       str(m, "EvalActionName"),
				EvalResourceName:     str(m, "EvalResourceName"),
				EvalDecision:         str(m, "EvalDecision"),
				MatchedStatements:    statementsFrom(listOf(m, "MatchedStatements")),
				MissingContextValues: stringsFrom(listOf(m, "MissingContextValues")),
				EvalDecisionDetails:  detailsFrom(mapOf(m, "EvalDecisionDetails")),
			}
			if o := mapOf(m, "OrganizationsDecisionDetail"); o != nil {
				er.OrganizationsDecisionDetail = &organizationsDecisionDetail{AllowedByOrganizations: o["AllowedByOrganizations"] == true}
			}
			for _, rv := range listOf(m, "ResourceSpecificResults") {
				rm, _ := rv.(map[string]any)
				er.ResourceSpecificResults = append(er.ResourceSpecificResults, resourceSpecificResult{
					EvalResourceName:     str(rm, "EvalResourceName"),
					EvalResourceDecision: str(rm, "EvalResourceDecision"),
					MatchedStatements:    statementsFrom(listOf(rm, "MatchedStatements")),
					MissingContextValues: stringsFrom(listOf(rm, "MissingContextValues")),
					EvalDecisionDetails:  detailsFrom(mapOf(rm, "EvalDecisionDetails")),
				})
			}
			r.EvaluationResults = append(r.EvaluationResults, er)
		}
		return r
	case c["AssumedRoleUser"] != nil:
		u, cr := mapOf(c, "AssumedRoleUser"), mapOf(c, "Credentials")
		r := assumeRoleResult{
			AssumedRoleUser: assumedRoleUser{AssumedRoleID: str(u, "AssumedRoleId"), Arn: str(u, "Arn")},
			Credentials: credentials{
				AccessKeyID:     str(cr, "AccessKeyId"),
				SecretAccessKey: str(cr, "SecretAccessKey"),
				SessionToken:    str(cr, "SessionToken"),
				Expiration:      recordedTime,
			},
			SourceIdentity: str(c, "SourceIdentity"),
		}
		if _, ok := c["PackedPolicySize"]; ok {
			r.PackedPolicySize = ptr(int(num(c, "PackedPolicySize")))
		}
		return r
	case len(c) == 1 && c["ResponseMetadata"] != nil:
		return nil // an action without output
	}
	t.Fatalf("no example shape for a response with %v", keysOf(c))
	return nil
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
