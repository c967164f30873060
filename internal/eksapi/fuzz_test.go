package eksapi

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// FuzzRequest feeds arbitrary methods, paths and bodies to the router, the
// body decoders and the audit view: none may panic; a matched request has
// its labels; a decoder refuses only with InvalidRequestException; and the
// audit view never holds the token member.
func FuzzRequest(f *testing.F) {
	f.Add("POST", "/clusters/dev-1/assume-role-for-pod-identity", []byte(`{"token":"a.b.c"}`))
	f.Add("POST", "/clusters/dev-1/pod-identity-associations", []byte(`{"namespace":"ns","serviceAccount":"sa","roleArn":"arn:aws:iam::0:role/r","tags":{"a":"b"},"disableSessionTags":true}`))
	f.Add("GET", "/clusters/dev-1/pod-identity-associations?maxResults=5&namespace=x", []byte(nil))
	f.Add("DELETE", "/tags/arn%3Aaws%3Aeks%3A%3A0%3Apodidentityassociation%2Fc%2Fa-1?tagKeys=a&tagKeys=b", []byte(nil))
	f.Add("POST", "/tags/arn%3Ax", []byte(`{"tags":{"a":1}}`))
	f.Add("POST", "/clusters/x/pod-identity-associations/a-1", []byte(`{"token":{"nested":"a.b.c"},"x":[1,2]}`))
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		u, err := url.ParseRequestURI("http://h" + target)
		if err != nil {
			return
		}
		req, err := Match(method, u, body)
		if err != nil {
			if e := awserr.As(err); e.Code != UnknownOperationException || e.Status() != 404 {
				t.Fatalf("Match error %v", err)
			}
			return
		}
		for k, v := range req.Labels {
			if v == "" {
				t.Fatalf("empty label %s", k)
			}
		}
		for _, v := range []any{&createAssociationBody{}, &updateAssociationBody{}, &tagResourceBody{}, &assumeRoleForPodIdentityBody{}} {
			if err := decodeBody(body, v); err != nil && awserr.As(err).Code != awserr.InvalidRequestException {
				t.Fatalf("decodeBody(%T) error %v", v, err)
			}
		}
		params, hash := AuditParameters(req)
		for k := range params {
			if strings.EqualFold(k, "token") {
				t.Fatalf("requestParameters hold the token member %q: %v", k, params)
			}
		}
		var b struct {
			Token string `json:"token"`
		}
		if json.Unmarshal(body, &b) == nil && b.Token != "" && hash == "" {
			t.Fatalf("no tokenHash for the token of %s", body)
		}
	})
}
