package policy

import (
	"fmt"
	"sort"

	"github.com/irsa-dev/irsa/internal/arn"
)

// prepared is a Request read once for evaluation.
type prepared struct {
	req      *Request
	caller   cprincipal
	resAcct  string
	crossAcc bool
	scratch  [binScratch]byte
}

func (pr *prepared) init(req *Request) {
	pr.req = req
	pr.caller = classifyCaller(req.Principal)
	pr.resAcct = req.ResourceAccount
	if pr.resAcct == "" {
		if segs, ok := arn.Split(req.Resource); ok {
			pr.resAcct = segs[4]
		}
	}
	pr.crossAcc = pr.resAcct != "" && pr.caller.account != "" && pr.resAcct != pr.caller.account
}

// outcome is what one policy type says about a request.
type outcome struct {
	allow  bool
	deny   bool
	naming naming // strongest naming among allowing resource statements
}

// Evaluate decides the request. It does not allocate for the common
// request shapes: it is the hot path of every authorization.
func Evaluate(set *Set, req *Request) Decision {
	var pr prepared
	pr.init(req)
	return decide(set, &pr, nil)
}

// Explain decides the request and says why.
func Explain(set *Set, req *Request) *Result {
	var pr prepared
	pr.init(req)
	tr := &tracer{}
	d := decide(set, &pr, tr)
	return tr.result(d)
}

func decide(set *Set, pr *prepared, tr *tracer) Decision {
	id := evalPolicies(set.Identity, "identity", pr, tr)
	rootAllow := pr.caller.kind == pkAccount && !id.allow
	if pr.caller.kind == pkAccount {
		// The account's root user holds every permission in its account;
		// only explicit denies, SCPs and cross-account rules limit it.
		id.allow = true
	}
	var res outcome
	resType := "resource"
	if set.Resource != nil {
		if set.Resource.Kind == KindTrust {
			resType = "trust"
		}
		res = evalPolicies([]*Policy{set.Resource}, resType, pr, tr)
	}
	var bnd outcome
	if set.Boundary != nil {
		bnd = evalPolicies([]*Policy{set.Boundary}, "boundary", pr, tr)
	}
	ses := evalPolicies(set.Session, "session", pr, tr)
	scpDeny, scpMissing := false, -1
	for lvl, ps := range set.SCPs {
		o := evalPolicies(ps, "scp", pr, tr)
		if o.deny {
			scpDeny = true
		}
		if !o.allow && scpMissing < 0 {
			scpMissing = lvl
		}
	}

	if id.deny || res.deny || bnd.deny || ses.deny || scpDeny {
		return ExplicitDeny
	}
	if scpMissing >= 0 {
		tr.gate("scp", fmt.Sprintf("no statement in the service control policies at level %d allows the request; every level from the organization root to the account must allow it", scpMissing))
		return ImplicitDeny
	}
	boundaryOK := set.Boundary == nil || bnd.allow
	sessionOK := len(set.Session) == 0 || ses.allow
	if set.Resource != nil && res.allow && !pr.crossAcc {
		switch res.naming {
		case namedExact:
			tr.allowedBy(resType)
			return Allowed
		case namedRole:
			if boundaryOK && sessionOK {
				tr.allowedBy(resType)
				return Allowed
			}
		}
	}
	if set.Resource != nil && set.Resource.Kind == KindTrust && !res.allow {
		tr.gate("trust", "no statement in the trust policy allows the request; a role's trust policy must allow every assumption explicitly")
		return ImplicitDeny
	}
	if pr.crossAcc && !res.allow {
		if set.Resource == nil {
			tr.gate("resource", "the request crosses accounts (principal in "+pr.caller.account+", resource in "+pr.resAcct+") and no resource-based policy allows it; cross-account access needs an Allow on both sides")
		} else {
			tr.gate(resType, "the request crosses accounts and no statement in the resource-based policy allows it; cross-account access needs an Allow on both sides")
		}
		return ImplicitDeny
	}
	if !id.allow {
		tr.gate("identity", "no statement in the identity-based policies allows the request")
		return ImplicitDeny
	}
	if !boundaryOK {
		tr.gate("boundary", "no statement in the permissions boundary allows the request; an identity-based Allow must also be within the boundary")
		return ImplicitDeny
	}
	if !sessionOK {
		tr.gate("session", "no statement in the session policies allows the request; a session's permissions are limited to what its session policies allow")
		return ImplicitDeny
	}
	if rootAllow {
		tr.allowedBy("root")
	} else {
		tr.allowedBy("identity")
	}
	if set.Resource != nil && res.allow {
		tr.allowedBy(resType)
	}
	return Allowed
}

// evalPolicies evaluates every statement of ps.
func evalPolicies(ps []*Policy, typ string, pr *prepared, tr *tracer) outcome {
	var o outcome
	for _, p := range ps {
		if p == nil {
			continue
		}
		for i := range p.stmts {
			st := &p.stmts[i]
			var sink *stmtTrace
			if tr != nil {
				sink = &stmtTrace{ref: StatementRef{PolicyType: typ, PolicyName: p.Name, Index: i, Sid: st.src.Sid, Effect: st.src.Effect}}
			}
			n, ok := st.matches(pr, sink)
			if tr != nil {
				tr.add(sink, ok)
			}
			if !ok {
				continue
			}
			if st.deny {
				o.deny = true
				if tr == nil {
					return o
				}
				continue
			}
			o.allow = true
			if n > o.naming {
				o.naming = n
			}
		}
	}
	return o
}

// matches checks the statement's elements in the order Principal, Action,
// Resource, Condition. For a statement without a Principal element the
// naming is namedNone.
func (st *cstatement) matches(pr *prepared, sink *stmtTrace) (naming, bool) {
	n := namedNone
	if st.hasPrincipal {
		for i := range st.principals {
			if m := st.principals[i].names(&pr.caller); m > n {
				n = m
			}
		}
		if st.notPrincipal {
			if n != namedNone {
				if sink != nil {
					sink.fail(stagePrincipal, "NotPrincipal", principalValues(st.principals), []string{pr.req.Principal}, "the caller is named in NotPrincipal")
				}
				return namedNone, false
			}
			n = namedExact
		} else if n == namedNone {
			if sink != nil {
				sink.fail(stagePrincipal, "Principal", principalValues(st.principals), []string{callerText(pr.req.Principal)}, "the caller is not named in Principal")
			}
			return namedNone, false
		}
	}
	action := pr.req.Action
	hit := false
	for i := range st.actions {
		if st.actions[i].match(action, true, nil) {
			hit = true
			break
		}
	}
	if hit == st.notAction {
		if st.notAction {
			if sink != nil {
				sink.fail(stageAction, "NotAction", st.src.NotAction, []string{action}, fmt.Sprintf("action %s is excluded by NotAction", action))
			}
		} else {
			if sink != nil {
				sink.fail(stageAction, "Action", st.src.Action, []string{action}, fmt.Sprintf("action %s is not in Action", action))
			}
		}
		return namedNone, false
	}
	if st.hasResource {
		ctx := pr.req.Context
		hit = false
		for i := range st.resources {
			if st.resources[i].match(pr.req.Resource, ctx) {
				hit = true
				break
			}
		}
		if hit == st.notResource {
			if st.notResource {
				if sink != nil {
					sink.fail(stageResource, "NotResource", st.src.NotResource, []string{pr.req.Resource}, fmt.Sprintf("resource %s is excluded by NotResource", pr.req.Resource))
				}
			} else {
				if sink != nil {
					sink.fail(stageResource, "Resource", st.src.Resource, []string{pr.req.Resource}, fmt.Sprintf("resource %s is not in Resource", pr.req.Resource))
				}
			}
			return namedNone, false
		}
	}
	for i := range st.conds {
		if !st.conds[i].eval(pr, sink) {
			return namedNone, false
		}
	}
	return n, true
}

func callerText(p string) string {
	if p == "" {
		return "(anonymous)"
	}
	return p
}

func principalValues(ps []cprincipal) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.typ + ":" + p.value
	}
	return out
}

// eval evaluates one condition key against the request context.
func (c *ccondition) eval(pr *prepared, sink *stmtTrace) bool {
	ctx := pr.req.Context
	e := ctx.lookup(c.lkey)
	// A key without values, or whose only value is the empty string, is a
	// null data set.
	empty := e == nil || len(e.values) == 0 || len(e.values) == 1 && e.values[0] == ""
	if c.spec.fam == famNull {
		for i := range c.vals {
			if c.vals[i].valid && c.vals[i].b == empty {
				return true
			}
		}
		if sink != nil {
			msg := fmt.Sprintf("key %s is present", c.key)
			if empty {
				msg = fmt.Sprintf("key %s is not present in the request", c.key)
			}
			c.fail(sink, e, msg)
		}
		return false
	}
	switch c.spec.set {
	case setForAllValues:
		if empty {
			return true
		}
		for _, v := range e.values {
			if !c.valueMatches(v, pr) {
				if sink != nil {
					c.fail(sink, e, fmt.Sprintf("ForAllValues: request value %q does not satisfy %s", v, baseOperatorName(c.name)))
				}
				return false
			}
		}
		return true
	case setForAnyValue:
		if empty {
			if !c.spec.ifExists && sink != nil {
				c.fail(sink, e, fmt.Sprintf("ForAnyValue: key %s is not present in the request (or has no values)", c.key))
			}
			return c.spec.ifExists
		}
		for _, v := range e.values {
			if c.valueMatches(v, pr) {
				return true
			}
		}
		if sink != nil {
			c.fail(sink, e, fmt.Sprintf("ForAnyValue: no request value satisfies %s", baseOperatorName(c.name)))
		}
		return false
	}
	if e == nil {
		if c.spec.ifExists || c.spec.negated {
			return true
		}
		if sink != nil {
			c.fail(sink, e, fmt.Sprintf("key %s is not present in the request", c.key))
		}
		return false
	}
	if e.multi {
		if sink != nil {
			c.fail(sink, e, fmt.Sprintf("key %s is multi-valued; %s without ForAllValues or ForAnyValue needs a single-valued key", c.key, c.name))
		}
		return false
	}
	if c.valueMatches(e.values[0], pr) {
		return true
	}
	if sink != nil {
		c.fail(sink, e, c.mismatch(e.values[0], pr))
	}
	return false
}

// valueMatches applies the operator to one request value: a positive
// operator needs one policy value to match, a negated one needs none to.
// A request value of the wrong type never matches.
func (c *ccondition) valueMatches(s string, pr *prepared) bool {
	rv, ok := parseRequestValue(c.spec.fam, s, &pr.scratch)
	if !ok {
		return false
	}
	hit := false
	for i := range c.vals {
		if c.spec.positive(&rv, &c.vals[i], pr.req.Context) {
			hit = true
			break
		}
	}
	return hit != c.spec.negated
}

func (c *ccondition) mismatch(s string, pr *prepared) string {
	if _, ok := parseRequestValue(c.spec.fam, s, &pr.scratch); !ok {
		return fmt.Sprintf("request value %q of %s is not a valid %s for %s", s, c.key, familyNames[c.spec.fam], c.name)
	}
	if c.spec.negated {
		return fmt.Sprintf("request value %q of %s matches a value that %s excludes", s, c.key, c.name)
	}
	for i := range c.vals {
		if c.vals[i].pat.hasVars && !c.vals[i].pat.resolvable(pr.req.Context) {
			return fmt.Sprintf("request value %q of %s does not match; a policy variable in %q has no value in the request", s, c.key, c.vals[i].raw)
		}
	}
	return fmt.Sprintf("request value %q of %s does not match", s, c.key)
}

var familyNames = [...]string{famString: "string", famNumeric: "number", famDate: "date", famBool: "boolean", famBinary: "base64 value", famIP: "IP address", famArn: "ARN", famNull: "boolean"}

func (c *ccondition) fail(sink *stmtTrace, e *contextEntry, msg string) {
	expected := make([]string, len(c.vals))
	for i := range c.vals {
		expected[i] = c.vals[i].raw
	}
	var actual []string
	if e != nil {
		actual = append([]string(nil), e.values...)
	}
	sink.failCondition(c.name, c.key, expected, actual, msg)
}

// Tracing: only Explain pays for it; every method is a no-op on nil.

type stage int

const (
	stagePrincipal stage = iota
	stageAction
	stageResource
	stageCondition
)

type stmtTrace struct {
	ref    StatementRef
	stage  stage
	reason *Reason
}

func (s *stmtTrace) fail(st stage, element string, expected, actual []string, msg string) {
	if s == nil {
		return
	}
	s.stage = st
	s.reason = &Reason{StatementRef: s.ref, Element: element, Expected: expected, Actual: actual, Message: msg}
}

func (s *stmtTrace) failCondition(op, key string, expected, actual []string, msg string) {
	if s == nil {
		return
	}
	s.stage = stageCondition
	s.reason = &Reason{StatementRef: s.ref, Element: "Condition", Operator: op, Key: key, Expected: expected, Actual: actual, Message: msg}
}

type tracer struct {
	matched  []StatementRef
	failures []*stmtTrace
	gates    []Reason
	allowers []string
}

func (t *tracer) add(s *stmtTrace, ok bool) {
	if ok {
		t.matched = append(t.matched, s.ref)
		return
	}
	t.failures = append(t.failures, s)
}

func (t *tracer) gate(typ, msg string) {
	if t == nil {
		return
	}
	t.gates = append(t.gates, Reason{StatementRef: StatementRef{PolicyType: typ, Index: -1}, Message: msg})
}

func (t *tracer) allowedBy(typ string) {
	if t == nil {
		return
	}
	t.allowers = append(t.allowers, typ)
}

func (t *tracer) result(d Decision) *Result {
	r := &Result{Decision: d, MatchedStatements: t.matched, Explanation: []Reason{}}
	if r.MatchedStatements == nil {
		r.MatchedStatements = []StatementRef{}
	}
	switch d {
	case ExplicitDeny:
		for _, m := range t.matched {
			if m.Effect == "Deny" {
				r.Explanation = append(r.Explanation, Reason{StatementRef: m, Message: "explicitly denied by this statement"})
			}
		}
	case Allowed:
		for _, typ := range t.allowers {
			if typ == "root" {
				r.Explanation = append(r.Explanation, Reason{StatementRef: StatementRef{PolicyType: "identity", Index: -1}, Message: "the caller is the account's root user, which holds every permission in its own account"})
				continue
			}
			for _, m := range t.matched {
				if m.PolicyType == typ && m.Effect == "Allow" {
					r.Explanation = append(r.Explanation, Reason{StatementRef: m, Message: "allowed by this statement"})
				}
			}
		}
	case ImplicitDeny:
		for _, g := range t.gates {
			r.Explanation = append(r.Explanation, g)
			// The statements of that policy type that came closest: Allow
			// statements, the furthest along first.
			var closest []*stmtTrace
			for _, f := range t.failures {
				if f.ref.PolicyType == g.PolicyType && f.ref.Effect == "Allow" && f.reason != nil {
					closest = append(closest, f)
				}
			}
			sort.SliceStable(closest, func(i, j int) bool { return closest[i].stage > closest[j].stage })
			for _, f := range closest {
				r.Explanation = append(r.Explanation, *f.reason)
			}
		}
	}
	return r
}
