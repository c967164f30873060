package app

import (
	"net/http"
	"strings"
	"time"

	"github.com/irsa-dev/irsa/internal/arn"
	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/eksapi"
	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/sigv4"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// eksCall is what the REST JSON handler learned about one request, for
// its audit event.
type eksCall struct {
	start    time.Time
	service  string          // eksapi.ServiceEKS or ServiceEKSAuth
	req      *eksapi.Request // nil when no action matched
	sig      *sigv4.Signature
	result   any
	decision *policy.Result
	err      error
}

func (c *eksCall) action() string {
	if c.req == nil {
		return "Unknown"
	}
	return c.req.Action
}

// eks serves the REST JSON APIs: EKS (pod identity associations,
// clusters, tags) and EKS Auth (AssumeRoleForPodIdentity). Every call is
// SigV4-signed with the service's signing name; its audit event is
// durable before its answer, as for the Query APIs.
func (a *App) eks(w http.ResponseWriter, r *http.Request) {
	start := a.cfg.Now()
	info := &reqctx.Info{RequestID: reqctx.NewRequestID(), SourceIP: sourceIP(r), UserAgent: r.UserAgent()}
	ctx := reqctx.With(r.Context(), info)
	c := &eksCall{start: start, service: eksapi.ServiceOf(r.URL)}

	result, err := func() (any, error) {
		body, err := readBody(r)
		if err != nil {
			return nil, awserr.New(awserr.InvalidRequestException, "The request body could not be read.")
		}
		if len(body) > MaxBodyBytes {
			return nil, awserr.New(awserr.InvalidRequestException, "The request body is larger than 1 MiB.")
		}
		req, err := eksapi.Match(r.Method, r.URL, body)
		if err != nil {
			return nil, err
		}
		c.req, c.service = req, req.Service
		sig, signed, err := parseSignature(r)
		if err != nil {
			return nil, err
		}
		if !signed {
			return nil, awserr.New(awserr.MissingAuthenticationToken, "Missing Authentication Token")
		}
		c.sig = sig
		if sig.Service != req.Service {
			return nil, awserr.Newf(awserr.SignatureDoesNotMatch, "Credential should be scoped to correct service: '%s'. ", req.Service)
		}
		info.Region = sig.Region
		caller, err := a.authenticate(ctx, r, body, sig)
		if err != nil {
			return nil, err
		}
		info.Caller = caller
		res, decision, err := a.eksAPI.Serve(ctx, req)
		c.decision = decision
		a.logDecision(ctx, req.Action, decision, accessDenied(err))
		return res, err
	}()

	var b []byte
	if err == nil {
		var merr error
		if b, merr = eksapi.Encode(result); merr != nil {
			a.log.Error("encoding a response failed", "request_id", info.RequestID, "action", c.action(), "error", merr)
			err = awserr.Internal(merr)
		}
	}
	c.result, c.err = result, err
	if aerr := a.recordEvent(r.Context(), a.eksEvent(info, c)); aerr != nil {
		// Nothing may be answered that the trail does not hold.
		if r.Context().Err() != nil {
			a.log.Debug("client gone before its audit event was durable", "request_id", info.RequestID, "action", c.action())
			return
		}
		a.log.Error("recording the audit event failed", "request_id", info.RequestID, "service", c.service, "action", c.action(), "error", aerr)
		err = awserr.Internal(aerr)
	}
	code := "OK"
	if err != nil {
		e := eksapi.WireError(c.service, err)
		code = e.Code
		switch {
		case e.Status() >= 500:
			a.log.Error("request failed", "request_id", info.RequestID, "service", c.service, "action", c.action(), "code", e.Code, "error", causeText(e))
		case e.Code != awserr.AccessDeniedException:
			a.log.Info("request refused", "request_id", info.RequestID, "service", c.service, "action", c.action(), "code", e.Code, "message", e.Message, "cause", causeText(e))
		}
		clusterName := ""
		if c.req != nil {
			clusterName = c.req.ClusterName()
		}
		eksapi.WriteError(w, info.RequestID, c.service, e, clusterName)
	} else {
		eksapi.WriteResult(w, info.RequestID, b)
	}
	a.metrics.requests.WithLabelValues(c.service, metricAction(c.action()), code).Inc()
	a.metrics.latency.WithLabelValues(c.service, metricAction(c.action())).Observe(a.cfg.Now().Sub(start).Seconds())
}

// accessDenied is err when it is an access denial (of any spelling), for
// logDecision, which explains AccessDenied refusals.
func accessDenied(err error) error {
	if err == nil {
		return nil
	}
	if e := awserr.As(err); e.Code == awserr.AccessDeniedException {
		return awserr.New(awserr.AccessDenied, e.Message)
	}
	return err
}

// eksEvent is the CloudTrail record of one EKS or EKS Auth call. The
// service-account token is named only by tokenHash; credentials only by
// their access key ID and expiration.
func (a *App) eksEvent(info *reqctx.Info, c *eksCall) *audit.Event {
	region := info.Region
	if region == "" {
		region = a.cfg.Region
	}
	action := c.action()
	if metricAction(action) == "invalid" {
		action = "Unknown"
	}
	e := &audit.Event{
		EventTime:          c.start.UTC(),
		EventSource:        eksapi.EventSource(c.service),
		EventName:          action,
		AWSRegion:          region,
		SourceIPAddress:    info.SourceIP,
		UserAgent:          info.UserAgent,
		RequestID:          info.RequestID,
		ReadOnly:           eksapi.ReadOnly(action),
		RecipientAccountID: a.cfg.AccountID,
	}
	e.RequestParameters, e.TokenHash = eksapi.AuditParameters(c.req)
	if c.err != nil {
		we := eksapi.WireError(c.service, c.err)
		e.ErrorCode, e.ErrorMessage = we.Code, we.Message
		if we.Code == awserr.AccessDeniedException && c.decision != nil {
			e.Explanation = c.decision.Explanation
		}
	}
	setCaller(e, info, c.sig)
	if r, ok := c.result.(*eksapi.AssumeRoleForPodIdentityResult); ok && r != nil {
		// The role whose session was issued (or refused, after the token
		// verified), for the trail's index.
		e.RoleARN = roleOfSession(r.AssumedRoleUser.Arn)
		if e.RoleARN == "" {
			e.RoleARN = r.RoleARN
		}
		if id := r.Identity; id != nil {
			// Who the pod is, from its verified token: the caller is the
			// node agent, so without this a refusal would not name the pod.
			d := map[string]any{"federatedIdentity": id.Subject}
			if k := id.Kubernetes; k != nil {
				d["subject"] = map[string]string{"namespace": k.Namespace, "serviceAccount": k.ServiceAccountName}
				if k.PodName != "" {
					d["podName"] = k.PodName
				}
			}
			e.AdditionalEventData = d
		}
	}
	if c.err == nil {
		e.ResponseElements = eksapi.AuditResponse(action, c.result)
	}
	return e
}

// roleOfSession is the role ARN of an assumed-role session ARN
// (arn:aws:sts::A:assumed-role/R/S → arn:aws:iam::A:role/R; the session
// ARN has no role path), "" for anything else.
func roleOfSession(sessionARN string) string {
	p, err := arn.Parse(sessionARN)
	if err != nil || p.Service != "sts" {
		return ""
	}
	rest, ok := strings.CutPrefix(p.Resource, "assumed-role/")
	if !ok {
		return ""
	}
	role, _, ok := strings.Cut(rest, "/")
	if !ok || role == "" {
		return ""
	}
	return "arn:" + p.Partition + ":iam::" + p.Account + ":role/" + role
}

// composeEKS builds EKS Pod Identity and its edge. Cluster tokens are
// verified with the keys of the cluster's issuer, found like any OIDC
// provider's (the built-in issuer, a mirrored cluster, or discovery).
func (a *App) composeEKS(keys webidentity.KeySource) {
	cfg := a.cfg
	a.PodIdentity = &podidentity.Service{
		Store:    a.Store,
		STS:      a.STS,
		Verifier: &podidentity.ClusterVerifier{Keys: keys, Now: cfg.Now},
		Now:      cfg.Now,
		Rand:     cfg.Rand,
		Region:   cfg.Region,
	}
	a.eksAPI = &eksapi.Handler{Service: a.PodIdentity, Tags: a.PodIdentity, Authorize: a.STS.AuthorizeExplain, Region: cfg.Region}
}
