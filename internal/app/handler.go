package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/awsquery"
	"github.com/irsa-dev/irsa/internal/eksapi"
	"github.com/irsa-dev/irsa/internal/jwks"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/sigv4"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/stsapi"
)

// MaxBodyBytes bounds a Query request body.
const MaxBodyBytes = 1 << 20

const iamVersion = "2010-05-08"

// Handler returns the HTTP handler of the one listener.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", a.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	for _, p := range a.Issuer.Routes() {
		mux.Handle("GET "+p, a.Issuer)
	}
	for _, m := range a.mirrors {
		base := ""
		if u, err := url.Parse(m.Issuer); err == nil {
			base = strings.TrimSuffix(u.Path, "/")
		}
		mux.Handle("GET "+base+jwks.DiscoveryPath, m)
		mux.Handle("GET "+base+jwks.JWKSPath, m)
	}
	mux.HandleFunc("/{$}", a.query)
	for _, p := range eksapi.Prefixes() {
		mux.HandleFunc(p, a.eks)
	}
	return mux
}

func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := a.Store.GetAccount(ctx, a.cfg.AccountID); err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	if _, err := a.Keys.Sealer(ctx); err != nil {
		http.Error(w, "keys unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ready\n")
}

// query serves the AWS Query protocol: STS and IAM on POST / and GET /.
// Every request's audit event is durable before its answer is written; if
// it cannot be recorded, the caller gets InternalFailure and nothing else.
func (a *App) query(w http.ResponseWriter, r *http.Request) {
	start := a.cfg.Now()
	info := &reqctx.Info{RequestID: reqctx.NewRequestID(), SourceIP: sourceIP(r), UserAgent: r.UserAgent()}
	ctx := reqctx.With(r.Context(), info)
	asJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	c := &call{start: start, service: "unknown", action: "unknown"}
	ns := awsquery.STSNamespace

	result, err := func() (any, error) {
		if r.Method != http.MethodPost && r.Method != http.MethodGet {
			return nil, awserr.New(awserr.InvalidAction, "Only GET and POST are supported.")
		}
		body, err := readBody(r)
		if err != nil {
			return nil, awserr.New(awserr.MalformedQueryString, "The request body could not be read.")
		}
		if len(body) > MaxBodyBytes {
			return nil, awserr.New(awserr.InvalidParameterValue, "The request body is larger than 1 MiB.")
		}
		req, err := awsquery.ParseRequest(r.Method, r.URL.Query(), r.Header.Get("Content-Type"), body)
		if err != nil {
			return nil, err
		}
		c.req, c.action = req, req.Action
		sig, signed, err := parseSignature(r)
		if err != nil {
			return nil, err
		}
		c.sig = sig
		c.service, err = a.serviceOf(req, sig)
		if err != nil {
			return nil, err
		}
		if c.service == "iam" {
			ns = awsquery.IAMNamespace
		}
		if signed {
			if sig.Service != c.service {
				return nil, awserr.Newf(awserr.SignatureDoesNotMatch, "Credential should be scoped to correct service: '%s'. ", c.service)
			}
			info.Region = sig.Region
			caller, err := a.authenticate(ctx, r, body, sig)
			if err != nil {
				return nil, err
			}
			info.Caller = caller
		} else if c.service == "iam" || stsapi.RequiresSignature(req.Action) {
			return nil, awserr.New(awserr.MissingAuthenticationToken, "Request is missing Authentication Token")
		}
		switch c.service {
		case "sts":
			res, decision, err := a.stsAPI.Serve(ctx, req)
			c.decision = decision
			a.logDecision(ctx, req.Action, decision, err)
			return res, err
		default:
			res, decision, err := a.iamAPI.Serve(ctx, req)
			c.decision = decision
			a.logDecision(ctx, req.Action, decision, err)
			return res, err
		}
	}()
	service, action := c.service, c.action

	w.Header().Set("x-amzn-RequestId", info.RequestID)
	code := "OK"
	status := http.StatusOK
	var b []byte
	var ctype string
	if err == nil {
		var merr error
		b, ctype, merr = awsquery.MarshalResult(action, ns, info.RequestID, result, asJSON)
		if merr != nil {
			a.log.Error("encoding a response failed", "request_id", info.RequestID, "action", action, "error", merr)
			err = awserr.Internal(merr)
		}
	}
	c.result, c.err = result, err
	if aerr := a.record(r.Context(), info, c); aerr != nil {
		// Nothing may be answered that the trail does not hold.
		if r.Context().Err() != nil {
			// The client went away before the event was durable: no
			// answer reaches it, so this is not the server's failure.
			a.log.Debug("client gone before its audit event was durable", "request_id", info.RequestID, "action", action)
			return
		}
		a.log.Error("recording the audit event failed", "request_id", info.RequestID, "service", service, "action", action, "error", aerr)
		err = awserr.Internal(aerr)
	}
	if err != nil {
		e := awserr.As(err)
		code = e.Code
		switch {
		case e.Code == awserr.InternalFailure:
			a.log.Error("request failed", "request_id", info.RequestID, "service", service, "action", action, "error", e.Cause)
		case e.Code == awserr.IDPCommunicationError:
			// The operator needs to know an identity provider is unreachable.
			a.log.Warn("identity provider unreachable", "request_id", info.RequestID, "action", action, "message", e.Message, "cause", causeText(e))
		case e.Code != awserr.AccessDenied:
			// AccessDenied is logged with its explanation by logDecision.
			a.log.Info("request refused", "request_id", info.RequestID, "service", service, "action", action, "code", e.Code, "message", e.Message, "cause", causeText(e))
		}
		b, ctype = awsquery.MarshalError(ns, e, info.RequestID, asJSON)
		status = e.Status()
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write(b) //nolint:gosec // b is an XML/JSON API response sent with its own Content-Type, not HTML
	a.metrics.requests.WithLabelValues(service, metricAction(action), code).Inc()
	a.metrics.latency.WithLabelValues(service, metricAction(action)).Observe(a.cfg.Now().Sub(start).Seconds())
}

// readBody reads at most MaxBodyBytes+1 bytes, sized by Content-Length
// when the client sent one, so a typical request is read in one allocation.
func readBody(r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n < 0 || n > MaxBodyBytes {
		return io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	}
	buf := make([]byte, n, n+1)
	if _, err := io.ReadFull(r.Body, buf); err != nil {
		return nil, err
	}
	// A body longer than its Content-Length is cut by net/http; nothing
	// more to read.
	return buf, nil
}

// causeText is the logged detail of an error: never a token or secret, as
// the packages that build causes guarantee.
func causeText(e *awserr.Error) string {
	if e.Cause == nil {
		return ""
	}
	return e.Cause.Error()
}

// metricAction bounds the label values to the known actions.
func metricAction(a string) string {
	if len(a) > 64 {
		return "invalid"
	}
	for _, c := range a {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "invalid"
		}
	}
	return a
}

func (a *App) logDecision(ctx context.Context, action string, d *policy.Result, err error) {
	if d == nil || err == nil {
		return
	}
	var e *awserr.Error
	if !errors.As(err, &e) || e.Code != awserr.AccessDenied {
		return
	}
	// The caller only learns "not authorized"; the operator learns why.
	info := reqctx.From(ctx)
	attrs := []any{"request_id", info.RequestID, "action", action, "decision", d.Decision}
	for i, r := range d.Explanation {
		if i == 4 {
			break
		}
		attrs = append(attrs, "reason", r.Message)
	}
	a.log.Info("access denied", attrs...)
}

// serviceOf picks STS or IAM from the Version parameter, or, without one,
// from the signature's credential scope.
func (a *App) serviceOf(req *awsquery.Request, sig *sigv4.Signature) (string, error) {
	switch req.Version {
	case stsapi.Version:
		return "sts", nil
	case iamVersion:
		return "iam", nil
	case "":
		if sig != nil && (sig.Service == "sts" || sig.Service == "iam") {
			return sig.Service, nil
		}
		return "", awserr.New(awserr.MissingParameter, "The request must contain the parameter Version.")
	}
	return "", awserr.Newf(awserr.InvalidAction, "Could not find operation %s for version %s", req.Action, req.Version)
}

// parseSignature reads a SigV4 signature, if the request carries one.
func parseSignature(r *http.Request) (*sigv4.Signature, bool, error) {
	if r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Signature") == "" && r.URL.Query().Get("X-Amz-Algorithm") == "" {
		return nil, false, nil
	}
	sig, err := sigv4.Parse(r)
	if err != nil {
		return nil, false, sigError(err)
	}
	return sig, true, nil
}

func sigError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		return awserr.New(se.Code, se.Message)
	}
	return awserr.New(awserr.IncompleteSignature, err.Error())
}

var invalidToken = awserr.New(awserr.InvalidClientTokenID, "The security token included in the request is invalid.")

// authenticate finds the secret of the signing key and checks the
// signature. Long-term keys are read from the store; temporary keys are
// opened from their sealed session token, with no store read.
func (a *App) authenticate(ctx context.Context, r *http.Request, body []byte, sig *sigv4.Signature) (*reqctx.Caller, error) {
	now := a.cfg.Now()
	var caller *reqctx.Caller
	var secret string
	switch {
	case strings.HasPrefix(sig.AccessKeyID, "AKIA"):
		if sig.SecurityToken != "" {
			return nil, invalidToken
		}
		k, err := a.Store.GetAccessKey(ctx, sig.AccessKeyID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && k.Status != "Active") {
			return nil, invalidToken
		}
		if err != nil {
			return nil, awserr.Internal(err)
		}
		secret = k.Secret
		if k.UserName != "" {
			return nil, invalidToken
		}
		caller = &reqctx.Caller{Type: "Root", AccountID: k.AccountID, ARN: "arn:aws:iam::" + k.AccountID + ":root", UserID: k.AccountID, AccessKeyID: k.ID}
	case strings.HasPrefix(sig.AccessKeyID, "ASIA"):
		if sig.SecurityToken == "" {
			return nil, invalidToken
		}
		sealer, err := a.Keys.Sealer(ctx)
		if err != nil {
			return nil, awserr.Internal(err)
		}
		sess, err := sealer.Open(sig.SecurityToken)
		if err != nil || !sess.SameAccessKey(sig.AccessKeyID) {
			return nil, invalidToken
		}
		if !now.Before(sess.Expiration) {
			return nil, awserr.New(awserr.ExpiredToken, "The security token included in the request is expired")
		}
		secret = sess.SecretAccessKey
		caller = &reqctx.Caller{Type: "AssumedRole", AccountID: sess.AccountID, ARN: sess.ARN("aws"), UserID: sess.UserID(), AccessKeyID: sess.AccessKeyID, RoleName: sess.RoleName, Session: sess}
	default:
		return nil, invalidToken
	}
	if err := sig.Verify(r, body, secret, now); err != nil {
		return nil, sigError(err)
	}
	return caller, nil
}

// sourceIP is the peer's address (irsa does not trust forwarding headers;
// put it behind a proxy that preserves the client address at the TCP level
// if the source address matters to policies).
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
