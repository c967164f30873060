package sigv4

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
	"github.com/google/go-cmp/cmp"
)

// These tests put a real net/http server between signer and verifier, so
// what is verified is what crossed the wire, and use aws-sdk-go-v2's signer
// as an independent implementation.

const (
	wireAKID   = "ASIAEXAMPLE000000001"
	wireSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	wireToken  = "IQoJb3JpZ2luX2VjEXAMPLE+token/with==padding"
	stsBody    = "Action=GetCallerIdentity&Version=2011-06-15"
)

type verdict struct {
	sig *Signature
	err error
}

// verifyingServer verifies every request with a fixed secret and clock.
func verifyingServer(t *testing.T, now time.Time) (*httptest.Server, <-chan verdict) {
	t.Helper()
	out := make(chan verdict, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			out <- verdict{err: err}
			return
		}
		sig, err := Parse(r)
		if err == nil {
			err = sig.Verify(r, body, wireSecret, now)
		}
		out <- verdict{sig, err}
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, out
}

func send(t *testing.T, r *http.Request, results <-chan verdict) verdict {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return <-results
}

func sha256Hex(s string) string { return hashHex([]byte(s)) }

// sdkLog captures the canonical string and string to sign the SDK logs.
type sdkLog struct{ canonical, stringToSign string }

func (l *sdkLog) options(o *v4.SignerOptions) {
	o.LogSigning = true
	o.Logger = logging.LoggerFunc(func(_ logging.Classification, _ string, v ...interface{}) {
		l.canonical, l.stringToSign = v[0].(string), v[1].(string)
	})
}

func TestSDKSignedRequests(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		target  string // path and query appended to the server URL
		body    string
		headers map[string]string
		token   string
	}{
		{name: "STS POST form", method: "POST", target: "/", body: stsBody, token: wireToken,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}},
		{name: "STS POST form, long-term key", method: "POST", target: "/", body: "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fs3-reader&RoleSessionName=a%2Bb&Version=2011-06-15",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		{name: "GET with a query", method: "GET", target: "/?Version=2011-06-15&Action=GetCallerIdentity&b=%2B%20&a=x&a=%E1%88%B4&c=!'()*~", token: wireToken},
		{name: "escaped path", method: "GET", target: "/a%20b/%E1%88%B4/c%2Fd/-._~"},
		{name: "header with inner blanks", method: "POST", target: "/", body: stsBody,
			// Only spaces: aws-sdk-go-v2 keeps a tab inside a value where
			// botocore, the JavaScript SDK and irsa collapse it.
			headers: map[string]string{"X-Amz-Meta-Note": "  a   b  c  ", "Content-Type": "application/x-www-form-urlencoded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, results := verifyingServer(t, testTime.Add(90*time.Second))
			newReq := func() *http.Request {
				r, err := http.NewRequest(tt.method, srv.URL+tt.target, strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				if tt.body == "" {
					r.Body, r.ContentLength = nil, 0
				}
				for k, v := range tt.headers {
					r.Header.Set(k, v)
				}
				return r
			}
			creds := aws.Credentials{AccessKeyID: wireAKID, SecretAccessKey: wireSecret, SessionToken: tt.token}
			var log sdkLog
			r := newReq()
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex(tt.body), "sts", "us-east-1", testTime, log.options); err != nil {
				t.Fatal(err)
			}
			got := send(t, r, results)
			if got.err != nil {
				t.Fatalf("SDK-signed request refused: %v", got.err)
			}
			if diff := cmp.Diff(sigSummary{wireAKID, testDate, "us-east-1", "sts", false, tt.token, 0},
				sigSummary{got.sig.AccessKeyID, iso(got.sig.Date), got.sig.Region, got.sig.Service, got.sig.Presigned, got.sig.SecurityToken, got.sig.Expires},
				cmp.AllowUnexported(sigSummary{})); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}

			// Signed with another secret, it is refused, and the canonical
			// request and string to sign irsa reports are the SDK's.
			r = newReq()
			bad := creds
			bad.SecretAccessKey += "x"
			if err := v4.NewSigner().SignHTTP(context.Background(), bad, r, sha256Hex(tt.body), "sts", "us-east-1", testTime, log.options); err != nil {
				t.Fatal(err)
			}
			e := asError(t, send(t, r, results).err)
			if e.Code != CodeSignatureDoesNotMatch {
				t.Fatalf("wrong secret: %v", e)
			}
			if diff := cmp.Diff(log.canonical, e.CanonicalRequest); diff != "" {
				t.Errorf("canonical request, SDK vs irsa (-sdk +irsa):\n%s", diff)
			}
			if diff := cmp.Diff(log.stringToSign, e.StringToSign); diff != "" {
				t.Errorf("string to sign, SDK vs irsa (-sdk +irsa):\n%s", diff)
			}

			// Changed after signing, it is refused.
			r = newReq()
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex(tt.body), "sts", "us-east-1", testTime); err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				tampered := strings.Replace(tt.body, "Version", "Versiom", 1)
				r.Body = io.NopCloser(strings.NewReader(tampered))
			} else {
				r.URL.RawQuery += "&extra=1"
			}
			if e := asError(t, send(t, r, results).err); e.Code != CodeSignatureDoesNotMatch {
				t.Errorf("tampered request: %v, want SignatureDoesNotMatch", e)
			}
		})
	}
}

func TestSDKPresignedRequest(t *testing.T) {
	for _, token := range []string{"", wireToken} {
		t.Run("token="+token, func(t *testing.T) {
			srv, results := verifyingServer(t, testTime.Add(10*time.Minute))
			r, err := http.NewRequest("GET", srv.URL+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=900", nil)
			if err != nil {
				t.Fatal(err)
			}
			creds := aws.Credentials{AccessKeyID: wireAKID, SecretAccessKey: wireSecret, SessionToken: token}
			uri, headers, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, sha256Hex(""), "sts", "us-east-1", testTime)
			if err != nil {
				t.Fatal(err)
			}
			get, err := http.NewRequest("GET", uri, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range headers {
				if !strings.EqualFold(k, "Host") {
					get.Header[k] = vs
				}
			}
			got := send(t, get, results)
			if got.err != nil {
				t.Fatalf("SDK-presigned request refused: %v", got.err)
			}
			if !got.sig.Presigned || got.sig.Expires != 900*time.Second || got.sig.SecurityToken != token {
				t.Errorf("Parse: presigned=%v expires=%v token=%q", got.sig.Presigned, got.sig.Expires, got.sig.SecurityToken)
			}
			tampered, err := http.NewRequest("GET", strings.Replace(uri, "GetCallerIdentity", "GetSessionToken", 1), nil)
			if err != nil {
				t.Fatal(err)
			}
			if e := asError(t, send(t, tampered, results).err); e.Code != CodeSignatureDoesNotMatch {
				t.Errorf("tampered URL: %v, want SignatureDoesNotMatch", e)
			}
		})
	}
}

// TestSignOverTheWire: irsa's own signer, through net/http, and the SDK
// agreeing with it on the Authorization header.
func TestSignOverTheWire(t *testing.T) {
	srv, results := verifyingServer(t, testTime)
	r, err := http.NewRequest("POST", srv.URL+"/a/./b//c/?Version=2011-06-15", strings.NewReader(stsBody))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("User-Agent", "not signed")
	Sign(r, []byte(stsBody), wireAKID, wireSecret, wireToken, "us-east-1", "sts", testTime)
	ours := r.Header.Get("Authorization")
	if got := send(t, r, results); got.err != nil {
		t.Fatalf("Sign: %v", got.err)
	}
	if !strings.Contains(ours, "SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token,") {
		t.Errorf("Authorization %q: unexpected signed headers", ours)
	}

	// The SDK does not normalise paths; on a plain path both signers agree.
	for _, signer := range []string{"irsa", "sdk"} {
		r, err := http.NewRequest("POST", srv.URL+"/", strings.NewReader(stsBody))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if signer == "irsa" {
			Sign(r, []byte(stsBody), wireAKID, wireSecret, wireToken, "us-east-1", "sts", testTime)
			ours = r.Header.Get("Authorization")
		} else {
			creds := aws.Credentials{AccessKeyID: wireAKID, SecretAccessKey: wireSecret, SessionToken: wireToken}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex(stsBody), "sts", "us-east-1", testTime); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r.Header.Get("Authorization"), ours); diff != "" {
				t.Errorf("Authorization (-sdk +irsa):\n%s", diff)
			}
		}
		if got := send(t, r, results); got.err != nil {
			t.Fatalf("%s: %v", signer, got.err)
		}
	}

	p, err := http.NewRequest("GET", srv.URL+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	if err != nil {
		t.Fatal(err)
	}
	Presign(p, nil, wireAKID, wireSecret, wireToken, "us-east-1", "sts", testTime, 15*time.Minute)
	if got := send(t, p, results); got.err != nil {
		t.Fatalf("Presign: %v", got.err)
	}
}
