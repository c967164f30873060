package iamapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The recorded tests replay, through the handler, the calls of LocalStack
// tests whose responses were recorded from real AWS
// (testdata/aws-recorded, see SOURCE there), and compare irsa's answers
// with AWS's: the same elements, no more and no fewer, and the same values
// wherever AWS's value is not masked.

type replayStep struct {
	key     string // recorded-content key to compare with; "" for setup
	request string
}

const (
	ec2Trust   = `{"Version": "2012-10-17", "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}}]}`
	lambdaRole = `{"Version": "2012-10-17", "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]}`
	encodedArn = "arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Faaeeieije"
	putObject  = `{"Version": "2012-10-17", "Statement": {"Sid": "", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}}`
)

var replays = map[string][]replayStep{
	"test_create_describe_role": {
		{"create_role_result", q("Action", "CreateRole", "RoleName", "role-1", "Path", "/prefix-1/", "AssumeRolePolicyDocument", ec2Trust)},
		{"get_role_result", q("Action", "GetRole", "RoleName", "role-1")},
		{"list_roles_result", q("Action", "ListRoles", "PathPrefix", "/prefix-1/")},
	},
	"test_role_with_tags": {
		{"create-role-response", q("Action", "CreateRole", "RoleName", "role-1", "Path", "/role-with-tags/", "AssumeRolePolicyDocument", ec2Trust, "Tags.member.1.Key", "test", "Tags.member.1.Value", "value")},
		{"get-role-response", q("Action", "GetRole", "RoleName", "role-1")},
		{"list-role-response", q("Action", "ListRoles", "PathPrefix", "/role-with-tags/")},
	},
	"test_list_roles_with_permission_boundary": {
		{"created_role", q("Action", "CreateRole", "RoleName", "role-1", "Path", "/prefix-1/", "AssumeRolePolicyDocument", ec2Trust)},
		{"", q("Action", "CreatePolicy", "PolicyName", "boundary", "PolicyDocument", putObject)},
		{"", q("Action", "PutRolePermissionsBoundary", "RoleName", "role-1", "PermissionsBoundary", "arn:aws:iam::000000000000:policy/boundary")},
		{"list_roles_result", q("Action", "ListRoles", "PathPrefix", "/prefix-1/")},
	},
	"test_role_with_path_lifecycle": {
		{"create-role-response", q("Action", "CreateRole", "RoleName", "role-1", "Path", "/some/path/", "AssumeRolePolicyDocument", lambdaRole)},
		{"get-role-response", q("Action", "GetRole", "RoleName", "role-1")},
		{"delete-role-response", q("Action", "DeleteRole", "RoleName", "role-1")},
	},
	"test_update_assume_role_policy": {
		{"created_role", q("Action", "CreateRole", "RoleName", "role-1", "AssumeRolePolicyDocument", `{"Version": "2012-10-17", "Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}}]}`)},
		{"updated_policy", q("Action", "UpdateAssumeRolePolicy", "RoleName", "role-1", "PolicyDocument", lambdaRole)},
	},
	"test_create_role_with_malformed_assume_role_policy_document": {
		{"invalid-json", q("Action", "CreateRole", "RoleName", "role-1", "AssumeRolePolicyDocument", "{'Version': '2012-10-17'")},
	},
	"test_put_role_policy_encoding": {
		{"create-role-response", q("Action", "CreateRole", "RoleName", "role-1", "Path", "/some/path/", "AssumeRolePolicyDocument",
			`{"Version": "2012-10-17", "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Condition": {"StringEquals": {"aws:SourceArn": "`+encodedArn+`"}}}]}`)},
		{"", q("Action", "PutRolePolicy", "RoleName", "role-1", "PolicyName", "policy-1", "PolicyDocument",
			`{"Version": "2012-10-17", "Statement": [{"Action": ["apigatway:PUT"], "Effect": "Allow", "Resource": ["arn:aws:apigateway:us-east-1::/tags/`+encodedArn+`"]}]}`)},
		{"get-policy-response", q("Action", "GetRolePolicy", "RoleName", "role-1", "PolicyName", "policy-1")},
		{"get-role-response", q("Action", "GetRole", "RoleName", "role-1")},
		{"list-roles-response", q("Action", "ListRoles", "PathPrefix", "/some/path/")},
	},
	"test_role_attach_policy": {
		{"", q("Action", "CreateRole", "RoleName", "test-role-12345678", "AssumeRolePolicyDocument", ec2Trust)},
		{"create_policy_response", q("Action", "CreatePolicy", "PolicyName", "test-policy-12345678", "PolicyDocument", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:*"], "Resource": ["*"]}]}`)},
		{"non_existent_malformed_policy_arn", q("Action", "AttachRolePolicy", "RoleName", "test-role-12345678", "PolicyArn", "longpolicynamebutnoarn")},
		{"existing_policy_name_provided", q("Action", "AttachRolePolicy", "RoleName", "test-role-12345678", "PolicyArn", "test-policy-12345678")},
		{"valid_arn_not_existent", q("Action", "AttachRolePolicy", "RoleName", "test-role-12345678", "PolicyArn", "arn:aws:iam::000000000000:policy/test-policy-12345678123")},
		{"valid_policy_arn", q("Action", "AttachRolePolicy", "RoleName", "test-role-12345678", "PolicyArn", "arn:aws:iam::000000000000:policy/test-policy-12345678")},
	},
	"test_delete_non_existent_policy_returns_no_such_entity": {
		{"delete-non-existent-policy-exc", q("Action", "DeletePolicy", "PolicyArn", "arn:aws:iam::000000000000:policy/non-existent-policy")},
	},
	"test_simulate_principle_policy[role]": {
		{"", q("Action", "CreatePolicy", "PolicyName", "policy-1", "PolicyDocument", putObject)},
		{"", q("Action", "CreateRole", "RoleName", "role-1", "AssumeRolePolicyDocument", ec2Trust)},
		{"", q("Action", "AttachRolePolicy", "RoleName", "role-1", "PolicyArn", "arn:aws:iam::000000000000:policy/policy-1")},
		{"response", q("Action", "SimulatePrincipalPolicy", "PolicySourceArn", "arn:aws:iam::000000000000:role/role-1",
			"ActionNames.member.1", "s3:PutObject", "ActionNames.member.2", "s3:GetObjectVersion",
			"ResourceArns.member.1", "arn:aws:s3:::bucket")},
	},
}

func TestRecordedAWSResponses(t *testing.T) {
	raw, err := os.ReadFile("testdata/aws-recorded/iam.snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]struct {
		Content map[string]any `json:"recorded-content"`
	}
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for full, rec := range snap {
		name := full[strings.LastIndex(full, "::")+2:]
		steps, ok := replays[name]
		if !ok {
			t.Errorf("recorded test %s has no replay", name)
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			ctx := callerCtx()
			compared := map[string]bool{}
			for _, st := range steps {
				status, body := f.do(ctx, t, st.request)
				if st.key == "" {
					if status != 200 {
						t.Fatalf("setup: %d\n%s", status, body)
					}
					continue
				}
				want, ok := rec.Content[st.key].(map[string]any)
				if !ok {
					t.Fatalf("no recorded %s", st.key)
				}
				compared[st.key] = true
				meta, _ := want["ResponseMetadata"].(map[string]any)
				if code, _ := meta["HTTPStatusCode"].(float64); int(code) != status {
					t.Errorf("%s: status %d, AWS answered %v", st.key, status, code)
				}
				got, err := responseTree(body)
				if err != nil {
					t.Fatalf("%s: %v\n%s", st.key, err, body)
				}
				delete(want, "ResponseMetadata")
				var diffs []string
				compareRecorded(st.key, want, got, &diffs)
				for _, d := range diffs {
					t.Error(d)
				}
				if t.Failed() {
					t.Logf("%s: irsa answered\n%s", st.key, body)
				}
			}
			for key := range rec.Content {
				if !compared[key] {
					t.Errorf("recorded %s is not replayed", key)
				}
			}
		})
	}
	for name := range replays {
		if !seen[name] {
			t.Errorf("replay %s has no recording", name)
		}
	}
}

// elem is an XML element read back from a response.
type elem struct {
	name     string
	text     string
	children []*elem
}

func readElem(dec *xml.Decoder, start xml.StartElement) (*elem, error) {
	e := &elem{name: start.Name.Local}
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			c, err := readElem(dec, tok)
			if err != nil {
				return nil, err
			}
			e.children = append(e.children, c)
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			if len(e.children) == 0 {
				e.text = text.String()
			}
			return e, nil
		}
	}
}

// empty stands for an element without content, which botocore reads as an
// empty structure, list or string depending on its model.
type empty struct{}

// value turns an element into what botocore would give: a list when its
// children are <member>s, a map when it has other children, its text
// otherwise.
func (e *elem) value() any {
	if len(e.children) == 0 {
		if e.text == "" {
			return empty{}
		}
		return e.text
	}
	if e.children[0].name == "member" {
		list := []any{}
		for _, c := range e.children {
			list = append(list, c.value())
		}
		return list
	}
	m := map[string]any{}
	for _, c := range e.children {
		m[c.name] = c.value()
	}
	return m
}

// responseTree reads a response body as botocore does: the members of the
// Result element, or the Error element of an error response.
func responseTree(body []byte) (map[string]any, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil, fmt.Errorf("no root element")
		}
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		root, err := readElem(dec, start)
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for _, c := range root.children {
			switch {
			case root.name == "ErrorResponse" && c.name == "Error":
				out["Error"] = c.value()
			case strings.HasSuffix(c.name, "Result"):
				if m, ok := c.value().(map[string]any); ok {
					out = m
				}
			}
		}
		return out, nil
	}
}

// documentKeys hold URL-encoded JSON that botocore decodes.
var documentKeys = map[string]bool{"AssumeRolePolicyDocument": true, "PolicyDocument": true, "Document": true}

var placeholder = regexp.MustCompile(`<[^<>]+>`)

// scalarMatches compares one of irsa's values with AWS's, whose masked
// parts (<role-name:1>, <datetime>, …) match anything. irsa's account
// 000000000000 stands for AWS's masked 111111111111.
func scalarMatches(want any, got string) bool {
	w := fmt.Sprint(want)
	got = strings.ReplaceAll(got, "000000000000", "111111111111")
	parts := placeholder.Split(w, -1)
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".+") + "$").MatchString(got)
}

func compareRecorded(path string, want, got any, diffs *[]string) {
	if _, ok := got.(empty); ok {
		switch w := want.(type) {
		case map[string]any:
			if len(w) == 0 {
				return
			}
		case []any:
			if len(w) == 0 {
				return
			}
		case string:
			if w == "" {
				return
			}
		}
		*diffs = append(*diffs, fmt.Sprintf("%s: irsa has an empty element, AWS has %v", path, want))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: irsa has %v, AWS has a structure", path, got))
			return
		}
		var keys []string
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s: irsa has %s, AWS does not", path, k))
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s: AWS has %s, irsa does not", path, k))
				continue
			}
			if s, isString := gv.(string); isString && documentKeys[k] {
				decoded, err := url.QueryUnescape(s)
				var doc any
				if err == nil {
					err = json.Unmarshal([]byte(decoded), &doc)
				}
				if err != nil {
					*diffs = append(*diffs, fmt.Sprintf("%s.%s: not a URL-encoded JSON document: %v", path, k, err))
					continue
				}
				compareJSON(path+"."+k, w[k], doc, diffs)
				continue
			}
			compareRecorded(path+"."+k, w[k], gv, diffs)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: irsa has %v, AWS has %d members", path, got, len(w)))
			return
		}
		for i := range w {
			compareRecorded(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], diffs)
		}
	default:
		g, ok := got.(string)
		if !ok || !scalarMatches(want, g) {
			*diffs = append(*diffs, fmt.Sprintf("%s: irsa has %v, AWS has %v", path, got, want))
		}
	}
}

// compareJSON compares a decoded policy document with AWS's.
func compareJSON(path string, want, got any, diffs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: irsa has %v, AWS has %v", path, got, want))
			return
		}
		for k := range w {
			compareJSON(path+"."+k, w[k], g[k], diffs)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: irsa has %v, AWS has %v", path, got, want))
			return
		}
		for i := range w {
			compareJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], diffs)
		}
	default:
		if !scalarMatches(want, fmt.Sprint(got)) {
			*diffs = append(*diffs, fmt.Sprintf("%s: irsa has %v, AWS has %v", path, got, want))
		}
	}
}
