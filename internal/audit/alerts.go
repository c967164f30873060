package audit

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// The built-in alert rules, by name.
const (
	// RuleCrossNamespace: a Kubernetes service account was refused a role
	// (AssumeRoleWithWebIdentity, AccessDenied): typically a pod of one
	// namespace trying a role whose trust policy names another.
	RuleCrossNamespace = "cross-namespace"
	// RuleOutsideCIDR: a role was assumed from a source address outside
	// the allowed networks.
	RuleOutsideCIDR = "outside-cidr"
	// RuleTokenReplay: one web identity token was presented from two or
	// more source addresses.
	RuleTokenReplay = "token-replay"
	// RuleVolume: a role was called far more in the last window than its
	// own baseline.
	RuleVolume = "volume-anomaly"
)

// Alert severities.
const (
	SeverityHigh   = "high"
	SeverityMedium = "medium"
)

// Default thresholds of the rules (see Rules).
const (
	DefaultAlertSince      = 24 * time.Hour
	DefaultAlertWindow     = time.Hour
	DefaultBaselineWindows = 24
	DefaultSigma           = 3.0
	DefaultMinCount        = 20
)

// Rules are the thresholds of the alert rules. A zero field takes its
// default.
type Rules struct {
	// Since: the cross-namespace, outside-CIDR and token-replay rules look
	// at the events of (now-Since, now]. Default 24h.
	Since time.Duration
	// AllowedCIDRs are the networks roles may be assumed from. Empty turns
	// the outside-CIDR rule off.
	AllowedCIDRs []netip.Prefix
	// Window is the length of the volume rule's windows: the last window,
	// (now-Window, now], is compared with the BaselineWindows windows
	// before it. Defaults 1h and 24.
	Window          time.Duration
	BaselineWindows int
	// Sigma is how many standard deviations above the baseline's mean the
	// last window's count must be; MinCount the fewest calls that can
	// alert at all. Defaults 3 and 20.
	Sigma    float64
	MinCount int
}

// DefaultRules are the rules with every default (no allowed networks).
func DefaultRules() Rules { return Rules{}.withDefaults() }

func (r Rules) withDefaults() Rules {
	if r.Since <= 0 {
		r.Since = DefaultAlertSince
	}
	if r.Window <= 0 {
		r.Window = DefaultAlertWindow
	}
	if r.BaselineWindows <= 0 {
		r.BaselineWindows = DefaultBaselineWindows
	}
	if r.Sigma <= 0 {
		r.Sigma = DefaultSigma
	}
	if r.MinCount <= 0 {
		r.MinCount = DefaultMinCount
	}
	return r
}

// Span is how far back Detect looks for the given rules: the events older
// than now-Span cannot change its answer.
func (r Rules) Span() time.Duration {
	r = r.withDefaults()
	return max(r.Since, time.Duration(r.BaselineWindows+1)*r.Window)
}

// Alert is one finding of Detect: a group of events that one rule
// matched.
type Alert struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	RoleARN  string `json:"roleArn,omitempty"`
	// Subject is who: the web identity's sub (system:serviceaccount:NS:SA
	// for Kubernetes) or the caller's ARN; several are joined by ", ".
	Subject   string   `json:"subject,omitempty"`
	SourceIPs []string `json:"sourceIPs,omitempty"`
	// TokenHash names the replayed token (token-replay only).
	TokenHash string    `json:"tokenHash,omitempty"`
	Count     int       `json:"count"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Message   string    `json:"message"`
}

// Detect runs the alert rules over events (in any order) as of now and
// returns the alerts, ordered by rule (cross-namespace, outside-CIDR,
// token-replay, volume), then role, subject and time. It reads only its
// arguments. Events after now are ignored.
func Detect(events []Event, rules Rules, now time.Time) []Alert {
	rules = rules.withDefaults()
	now = now.UTC()
	since := now.Add(-rules.Since)
	recent := func(e *Event) bool { return e.EventTime.After(since) && !e.EventTime.After(now) }

	cross := map[[2]string]*alertGroup{}
	outside := map[[2]string]*alertGroup{}
	tokens := map[string]*alertGroup{}
	for i := range events {
		e := &events[i]
		if !recent(e) {
			continue
		}
		role := eventRole(e)
		sub := eventSubject(e)
		ip := eventIP(e)
		if isTrustRefusal(e, role) && isServiceAccount(sub) {
			groupOf(cross, [2]string{role, sub}).add(e, role, sub, ip)
		}
		if len(rules.AllowedCIDRs) > 0 && e.ErrorCode == "" && strings.HasPrefix(e.EventName, "AssumeRole") {
			if a, err := netip.ParseAddr(ip); err == nil && !allowed(rules.AllowedCIDRs, a.Unmap()) {
				groupOf(outside, [2]string{role, ip}).add(e, role, sub, ip)
			}
		}
		if e.TokenHash != "" {
			groupOf(tokens, e.TokenHash).add(e, role, sub, ip)
		}
	}

	var out []Alert
	for _, g := range sortedGroups(cross) {
		a := g.alert(RuleCrossNamespace, SeverityMedium)
		a.Message = fmt.Sprintf("%s was refused %s %d %s (AccessDenied): the role's trust policy does not let this service account in",
			a.Subject, a.RoleARN, a.Count, plural(a.Count, "time", "times"))
		out = append(out, a)
	}
	for _, g := range sortedGroups(outside) {
		a := g.alert(RuleOutsideCIDR, SeverityHigh)
		a.Message = fmt.Sprintf("%s was assumed %d %s from %s, outside the allowed networks, by %s",
			a.RoleARN, a.Count, plural(a.Count, "time", "times"), strings.Join(a.SourceIPs, ", "), dashIfEmpty(a.Subject))
		out = append(out, a)
	}
	for _, g := range sortedGroups(tokens) {
		if len(g.ips) < 2 {
			continue
		}
		a := g.alert(RuleTokenReplay, SeverityHigh)
		a.TokenHash = g.token
		a.Message = fmt.Sprintf("one web identity token (%s) of %s was presented %d times from %d addresses: %s",
			shortHash(a.TokenHash), dashIfEmpty(a.Subject), a.Count, len(a.SourceIPs), strings.Join(a.SourceIPs, ", "))
		out = append(out, a)
	}
	out = append(out, detectVolume(events, rules, now)...)
	return out
}

// detectVolume is the volume rule: per role, the calls of the last window
// against the mean and standard deviation of the windows before it.
// Baseline windows that end before the first event given are left out (a
// trail two hours old has a baseline of two windows, not of 22 silent
// ones); with no baseline window left there is nothing to compare.
func detectVolume(events []Event, rules Rules, now time.Time) []Alert {
	n := rules.BaselineWindows
	start := now.Add(-time.Duration(n+1) * rules.Window)
	var firstSeen time.Time
	type roleVolume struct {
		counts []int // [0] the last window, [i] the i-th window before it
		recent *alertGroup
	}
	roles := map[string]*roleVolume{}
	for i := range events {
		e := &events[i]
		if e.EventTime.After(now) {
			continue
		}
		if firstSeen.IsZero() || e.EventTime.Before(firstSeen) {
			firstSeen = e.EventTime
		}
		if !e.EventTime.After(start) {
			continue
		}
		role := eventRole(e)
		if role == "" {
			continue
		}
		// Window w holds (now-(w+1)·Window, now-w·Window].
		w := int(now.Sub(e.EventTime) / rules.Window)
		rv := roles[role]
		if rv == nil {
			rv = &roleVolume{counts: make([]int, n+1), recent: &alertGroup{}}
			roles[role] = rv
		}
		rv.counts[w]++
		if w == 0 {
			rv.recent.add(e, role, eventSubject(e), eventIP(e))
		}
	}
	names := make([]string, 0, len(roles))
	for r := range roles {
		names = append(names, r)
	}
	slices.Sort(names)
	var out []Alert
	for _, role := range names {
		rv := roles[role]
		count := rv.counts[0]
		if count < rules.MinCount {
			continue
		}
		var base []float64
		for w := 1; w <= n; w++ {
			if end := now.Add(-time.Duration(w) * rules.Window); end.After(firstSeen) {
				base = append(base, float64(rv.counts[w]))
			}
		}
		if len(base) == 0 {
			continue
		}
		mean, sd := meanStddev(base)
		if float64(count) <= mean+rules.Sigma*sd {
			continue
		}
		a := rv.recent.alert(RuleVolume, SeverityMedium)
		a.Message = fmt.Sprintf("%s was called %d times in the last %s; its baseline is %.1f ± %.1f per window over %d windows (alert above %.1f)",
			role, count, rules.Window, mean, sd, len(base), mean+rules.Sigma*sd)
		out = append(out, a)
	}
	return out
}

func meanStddev(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)))
}

// alertGroup gathers the events one alert is about.
type alertGroup struct {
	key         string
	token       string
	roles, subs map[string]bool
	ips         map[string]bool
	count       int
	first, last time.Time
}

func groupOf[K comparable](m map[K]*alertGroup, k K) *alertGroup {
	g := m[k]
	if g == nil {
		g = &alertGroup{key: fmt.Sprint(k)}
		if s, ok := any(k).(string); ok {
			g.token = s
		}
		m[k] = g
	}
	return g
}

func (g *alertGroup) add(e *Event, role, sub, ip string) {
	if g.roles == nil {
		g.roles, g.subs, g.ips = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	if role != "" {
		g.roles[role] = true
	}
	if sub != "" {
		g.subs[sub] = true
	}
	if ip != "" {
		g.ips[ip] = true
	}
	g.count++
	if g.first.IsZero() || e.EventTime.Before(g.first) {
		g.first = e.EventTime
	}
	if e.EventTime.After(g.last) {
		g.last = e.EventTime
	}
}

func (g *alertGroup) alert(rule, severity string) Alert {
	return Alert{
		Rule: rule, Severity: severity,
		RoleARN: joinKeys(g.roles), Subject: joinKeys(g.subs), SourceIPs: sortedKeys(g.ips),
		Count: g.count, First: g.first.UTC(), Last: g.last.UTC(),
	}
}

func sortedGroups[K comparable](m map[K]*alertGroup) []*alertGroup {
	// The sort keys are joined once per group, not once per comparison.
	type keyed struct {
		g           *alertGroup
		roles, subs string
	}
	ks := make([]keyed, 0, len(m))
	for _, g := range m {
		ks = append(ks, keyed{g, joinKeys(g.roles), joinKeys(g.subs)})
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := strings.Compare(a.roles, b.roles); c != 0 {
			return c
		}
		if c := strings.Compare(a.subs, b.subs); c != 0 {
			return c
		}
		if c := a.g.first.Compare(b.g.first); c != 0 {
			return c
		}
		return strings.Compare(a.g.key, b.g.key)
	})
	out := make([]*alertGroup, len(ks))
	for i, k := range ks {
		out[i] = k.g
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func joinKeys(m map[string]bool) string { return strings.Join(sortedKeys(m), ", ") }

// eventRole is the role an event is about: the role assumed or acted on
// (requestParameters.roleArn), else the role whose session made the call.
func eventRole(e *Event) string {
	if e.RoleARN != "" {
		return e.RoleARN
	}
	if r, ok := e.RequestParameters["roleArn"].(string); ok && r != "" {
		return r
	}
	if u := e.UserIdentity; u != nil && u.SessionContext != nil && u.SessionContext.SessionIssuer != nil {
		return u.SessionContext.SessionIssuer.ARN
	}
	return ""
}

// isTrustRefusal reports whether e is a role's trust policy refusing a
// federated identity: AssumeRoleWithWebIdentity's AccessDenied, or EKS
// Auth's AccessDeniedException for a ServiceAccount whose association
// named a role (without an association there is no role to refuse).
func isTrustRefusal(e *Event, role string) bool {
	switch e.EventName {
	case "AssumeRoleWithWebIdentity":
		return e.ErrorCode == "AccessDenied"
	case "AssumeRoleForPodIdentity":
		return e.ErrorCode == "AccessDeniedException" && role != ""
	}
	return false
}

// eventSubject is who made the call: a web identity's sub (irsa's
// webIdFederationData.federatedIdentity, or userName as AWS writes it),
// for EKS Auth the pod's (additionalEventData.federatedIdentity), else
// the caller's ARN.
func eventSubject(e *Event) string {
	if sub, ok := e.AdditionalEventData["federatedIdentity"].(string); ok && sub != "" {
		return sub
	}
	u := e.UserIdentity
	if u == nil {
		return ""
	}
	if u.Type == IdentityWebIdentityUser {
		if f := u.WebIDFederationData; f != nil && f.FederatedIdentity != "" {
			return f.FederatedIdentity
		}
		return u.UserName
	}
	return u.ARN
}

// eventIP is the event's source address, IPv4-mapped IPv6 addresses
// written as IPv4; anything that is not an address (CloudTrail writes a
// service name for calls AWS services make) is kept as written.
func eventIP(e *Event) string {
	if a, err := netip.ParseAddr(e.SourceIPAddress); err == nil {
		return a.Unmap().String()
	}
	return e.SourceIPAddress
}

func isServiceAccount(sub string) bool {
	rest, ok := strings.CutPrefix(sub, "system:serviceaccount:")
	if !ok {
		return false
	}
	ns, sa, ok := strings.Cut(rest, ":")
	return ok && ns != "" && sa != "" && !strings.Contains(sa, ":")
}

func allowed(nets []netip.Prefix, a netip.Addr) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "an unknown caller"
	}
	return s
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// ParseNetwork reads an allowed network of the outside-cidr rule: a CIDR,
// or a single address as a network of one.
func ParseNetwork(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
