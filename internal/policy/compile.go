package policy

import (
	"strings"

	"github.com/irsa-dev/irsa/internal/arn"
)

// cstatement is a statement compiled for evaluation.
type cstatement struct {
	src  *Statement
	deny bool

	actions   []pattern // lower-cased, matched case-insensitively
	notAction bool

	resources   []arnPattern
	notResource bool
	hasResource bool

	principals   []cprincipal
	notPrincipal bool
	hasPrincipal bool

	conds []ccondition
}

// ccondition is one key of one operator, compiled.
type ccondition struct {
	name string // operator as written
	key  string // key as written
	lkey string // key lower-cased, for lookup
	spec opSpec
	vals []cvalue
}

// naming says how a resource policy statement named the caller, which
// decides whether its Allow is final.
type naming uint8

const (
	namedNone    naming = iota
	namedAccount        // the caller's account (its root)
	namedRole           // the role whose session is calling
	namedExact          // the caller itself, or everyone ("*")
)

// cprincipal is one principal value, classified once.
type cprincipal struct {
	typ      string // AWS, Federated, Service, CanonicalUser
	value    string
	kind     principalKind
	account  string
	roleName string
}

type principalKind uint8

const (
	pkAnonymous principalKind = iota
	pkEveryone
	pkAccount
	pkUser
	pkRole
	pkSession
	pkFederatedUser
	pkFederated
	pkService
	pkCanonical
	pkOther
)

func classifyAWS(value string) cprincipal {
	p := cprincipal{typ: "AWS", value: value, kind: pkOther}
	if value == "*" {
		p.kind = pkEveryone
		return p
	}
	if isAccountID(value) {
		p.kind, p.account = pkAccount, value
		return p
	}
	a, err := arn.Parse(value)
	if err != nil {
		return p
	}
	p.account = a.Account
	switch {
	case a.Service == "iam" && a.Resource == "root":
		p.kind = pkAccount
	case a.Service == "iam" && strings.HasPrefix(a.Resource, "user/"):
		p.kind = pkUser
	case a.Service == "iam":
		if name, ok := arn.RoleName(a); ok {
			p.kind, p.roleName = pkRole, name
		}
	case a.Service == "sts":
		if role, _, ok := arn.AssumedRole(a); ok {
			p.kind, p.roleName = pkSession, role
		} else if strings.HasPrefix(a.Resource, "federated-user/") {
			p.kind = pkFederatedUser
		}
	}
	return p
}

// classifyCaller reads Request.Principal.
func classifyCaller(value string) cprincipal {
	switch {
	case value == "":
		return cprincipal{kind: pkAnonymous}
	case strings.HasPrefix(value, "arn:"):
		if segs, ok := arn.Split(value); ok && segs[2] == "iam" &&
			(strings.HasPrefix(segs[5], "oidc-provider/") || strings.HasPrefix(segs[5], "saml-provider/")) {
			return cprincipal{typ: "Federated", value: value, kind: pkFederated, account: segs[4]}
		}
		return classifyAWS(value)
	case isAccountID(value):
		return cprincipal{typ: "AWS", value: value, kind: pkAccount, account: value}
	case wellKnownFederation[value]:
		return cprincipal{typ: "Federated", value: value, kind: pkFederated}
	case strings.HasSuffix(value, ".amazonaws.com") || strings.HasSuffix(value, ".amazonaws.com.cn"):
		return cprincipal{typ: "Service", value: value, kind: pkService}
	}
	return cprincipal{typ: "CanonicalUser", value: value, kind: pkCanonical}
}

// names reports how the policy principal p names the caller c.
func (p *cprincipal) names(c *cprincipal) naming {
	switch p.typ {
	case "AWS":
		switch p.kind {
		case pkEveryone:
			return namedExact
		case pkAccount:
			if c.account != "" && c.account == p.account && c.kind != pkFederated && c.kind != pkService && c.kind != pkAnonymous {
				return namedAccount
			}
		case pkUser, pkFederatedUser:
			if c.kind == p.kind && c.value == p.value {
				return namedExact
			}
		case pkRole:
			if (c.kind == pkRole || c.kind == pkSession) && c.account == p.account && c.roleName == p.roleName {
				if c.kind == pkRole && c.value != p.value {
					return namedNone
				}
				return namedRole
			}
		case pkSession:
			if c.kind == pkSession && c.value == p.value {
				return namedExact
			}
		}
	case "Federated":
		if c.kind == pkFederated && c.value == p.value {
			return namedExact
		}
	case "Service":
		if c.kind == pkService && strings.EqualFold(c.value, p.value) {
			return namedExact
		}
	case "CanonicalUser":
		if c.kind == pkCanonical && c.value == p.value {
			return namedExact
		}
	}
	return namedNone
}

func isAccountID(s string) bool { return arn.IsAccountID(s) }

func splitARN(s string) ([6]string, bool) { return arn.Split(s) }

// compile turns the validated statements into their evaluation form.
func (p *Policy) compile() error {
	vars := p.Version == Version2012
	pad := !p.Kind.usesPrincipal()
	p.stmts = make([]cstatement, len(p.Statements))
	for i := range p.Statements {
		s := &p.Statements[i]
		cs := &p.stmts[i]
		cs.src = s
		cs.deny = s.Effect == "Deny"
		acts := s.Action
		if s.NotAction != nil {
			acts, cs.notAction = s.NotAction, true
		}
		for _, a := range acts {
			cs.actions = append(cs.actions, compilePattern(strings.ToLower(a), true, false))
		}
		res := s.Resource
		if s.NotResource != nil {
			res, cs.notResource = s.NotResource, true
		}
		cs.hasResource = res != nil
		for _, r := range res {
			cs.resources = append(cs.resources, compileARN(r, vars, pad))
		}
		prin := s.Principal
		if s.NotPrincipal != nil {
			prin, cs.notPrincipal = s.NotPrincipal, true
		}
		cs.hasPrincipal = prin != nil
		for _, typ := range []string{"AWS", "Federated", "Service", "CanonicalUser"} {
			for _, v := range prin[typ] {
				cp := cprincipal{typ: typ, value: v}
				if typ == "AWS" {
					cp = classifyAWS(v)
				}
				cs.principals = append(cs.principals, cp)
			}
		}
		for _, c := range s.Conditions {
			spec, _ := lookupOperator(c.Operator)
			cc := ccondition{name: c.Operator, key: c.Key, lkey: strings.ToLower(c.Key), spec: spec}
			allowVars := vars && (spec.fam == famString || spec.fam == famArn)
			for _, v := range c.Values {
				cc.vals = append(cc.vals, compileValue(spec, v, allowVars))
			}
			cs.conds = append(cs.conds, cc)
		}
	}
	return nil
}
