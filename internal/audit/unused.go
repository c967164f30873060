package audit

import (
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/irsa-dev/irsa/internal/policy"
)

// Statuses of a Finding.
const (
	// StatusUnused: the role existed for the whole window and nobody
	// assumed it nor did any of its sessions make a call.
	StatusUnused = "unused"
	// StatusUsed: the role was assumed, or one of its sessions made a
	// call, during the window.
	StatusUsed = "used"
	// StatusTooNew: the role was created during the window, so the
	// window says nothing about whether it is needed; it is not judged.
	StatusTooNew = "too-new"
)

// RoleGrants is what Unused needs to know of a role: its ARN, when it was
// created and the action patterns (for example "s3:Get*" or "iam:*") of
// the Allow statements of its inline and attached policies.
type RoleGrants struct {
	ARN     string
	Created time.Time
	Actions []string
	// Notes are caveats found while gathering the grants (an Allow with
	// NotAction, a policy that could not be read), copied to the finding.
	Notes []string
}

// Finding is the verdict on one role.
type Finding struct {
	RoleARN     string    `json:"roleArn"`
	RoleCreated time.Time `json:"roleCreated"`
	Status      string    `json:"status"`
	// LastUsed is the time of the role's last assumption or session call
	// in the window; zero when there is none.
	LastUsed time.Time `json:"lastUsed,omitzero"`
	// UsedActions are the concrete actions the role's sessions called in
	// the window that its policies grant, sorted, spelled as called.
	UsedActions []string `json:"usedActions"`
	// UnusedActions are the granted patterns no call of the window
	// matched, sorted. Empty for a role that is too new to judge.
	UnusedActions []string `json:"unusedActions"`
	// SuggestedPolicy grants exactly UsedActions, on every resource; nil
	// when nothing was used or the role is too new to judge.
	SuggestedPolicy *PolicyDocument `json:"suggestedPolicy,omitempty"`
	Notes           []string        `json:"notes,omitempty"`
}

// PolicyDocument is an IAM policy document.
type PolicyDocument struct {
	Version   string            `json:"Version"`
	Statement []PolicyStatement `json:"Statement"`
}

// PolicyStatement is one statement of a PolicyDocument.
type PolicyStatement struct {
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource string   `json:"Resource"`
}

// Unused judges each role by the events of the window [since, now]:
// whether it was used at all, which of its granted action patterns were
// never used, and a least-privilege policy of the actions that were. It
// is pure: the same input gives the same findings, sorted by role ARN.
//
// A role is used when an AssumeRole* call that succeeded names it
// (requestParameters.roleArn), or when one of its sessions
// (userIdentity.sessionContext.sessionIssuer.arn) made any call. Only a
// role that existed for the whole window is judged, as AWS IAM Access
// Analyzer does; a younger one is StatusTooNew. A session's call counts
// as using its action unless it was refused for lack of permission
// (errorCode AccessDenied, AccessDeniedException, UnauthorizedOperation…):
// a call that failed for another reason got past authorization. The
// action of a call is the IAM action of its eventSource and eventName
// ("s3.amazonaws.com" + "GetObject" is s3:GetObject); action names are
// compared case-insensitively.
func Unused(roles []RoleGrants, events []Event, since, now time.Time) []Finding {
	type usage struct {
		last    time.Time
		actions map[string]string // lower case → as called
	}
	byRole := map[string]*usage{} // lower-case role ARN
	use := func(arn string, t time.Time) *usage {
		k := strings.ToLower(arn)
		u := byRole[k]
		if u == nil {
			u = &usage{actions: map[string]string{}}
			byRole[k] = u
		}
		if t.After(u.last) {
			u.last = t
		}
		return u
	}
	for i := range events {
		e := &events[i]
		if e.EventTime.Before(since) || e.EventTime.After(now) {
			continue
		}
		if e.EventSource == SourceSTS && strings.HasPrefix(e.EventName, "AssumeRole") && e.ErrorCode == "" {
			if arn, _ := e.RequestParameters["roleArn"].(string); arn != "" {
				use(arn, e.EventTime)
			}
		}
		issuer := sessionIssuer(e)
		if issuer == "" {
			continue
		}
		u := use(issuer, e.EventTime)
		if denied(e.ErrorCode) {
			continue
		}
		if a := ActionOf(e.EventSource, e.EventName); a != "" {
			if _, ok := u.actions[strings.ToLower(a)]; !ok {
				u.actions[strings.ToLower(a)] = a
			}
		}
	}

	out := make([]Finding, 0, len(roles))
	for _, r := range roles {
		f := Finding{RoleARN: r.ARN, RoleCreated: r.Created, Status: StatusUsed,
			UsedActions: []string{}, UnusedActions: []string{}, Notes: r.Notes}
		u := byRole[strings.ToLower(r.ARN)]
		if u != nil {
			f.LastUsed = u.last
		}
		patterns := uniqueFold(r.Actions)
		used := map[string]bool{} // lower-case patterns that matched
		if u != nil {
			for low, a := range u.actions {
				granted := false
				for _, p := range patterns {
					if policy.Match(strings.ToLower(p), low) {
						granted = true
						used[strings.ToLower(p)] = true
					}
				}
				if granted {
					f.UsedActions = append(f.UsedActions, a)
				}
			}
		}
		sortFold(f.UsedActions)
		switch {
		case r.Created.After(since):
			f.Status = StatusTooNew
			out = append(out, f)
			continue
		case u == nil:
			f.Status = StatusUnused
		}
		for _, p := range patterns {
			if !used[strings.ToLower(p)] {
				f.UnusedActions = append(f.UnusedActions, p)
			}
		}
		if len(f.UsedActions) > 0 {
			f.SuggestedPolicy = &PolicyDocument{Version: "2012-10-17", Statement: []PolicyStatement{{
				Effect: "Allow", Action: append([]string(nil), f.UsedActions...), Resource: "*",
			}}}
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].RoleARN < out[j].RoleARN })
	return out
}

// sessionIssuer is the role whose session made the call, or "".
func sessionIssuer(e *Event) string {
	u := e.UserIdentity
	if u == nil || u.SessionContext == nil || u.SessionContext.SessionIssuer == nil {
		return ""
	}
	return u.SessionContext.SessionIssuer.ARN
}

// denied tells whether an errorCode means the caller lacked permission.
func denied(code string) bool {
	c := strings.ToLower(code)
	return strings.Contains(c, "accessdenied") || strings.Contains(c, "unauthorized")
}

// servicePrefixes are the event sources whose IAM service prefix is not
// the first label of their host name.
var servicePrefixes = map[string]string{
	"monitoring": "cloudwatch",
	"email":      "ses",
}

// s3Actions are S3 event names whose IAM action has another name.
var s3Actions = map[string]string{
	"HeadObject":              "GetObject",
	"HeadBucket":              "ListBucket",
	"ListObjects":             "ListBucket",
	"ListObjectsV2":           "ListBucket",
	"ListObjectVersions":      "ListBucketVersions",
	"ListMultipartUploads":    "ListBucketMultipartUploads",
	"ListParts":               "ListMultipartUploadParts",
	"CreateMultipartUpload":   "PutObject",
	"UploadPart":              "PutObject",
	"UploadPartCopy":          "PutObject",
	"CompleteMultipartUpload": "PutObject",
	"CopyObject":              "PutObject",
	"DeleteObjects":           "DeleteObject",
}

// apiVersionSuffix is the API version some services (Lambda, CloudFront)
// append to their event names: GetFunction20150331v2.
var apiVersionSuffix = regexp.MustCompile(`[0-9]{8}(v[0-9]+)?$`)

// ActionOf is the IAM action of a CloudTrail event: the service prefix of
// its eventSource and its eventName, "s3:GetObject" for
// "s3.amazonaws.com" and "GetObject". It is "" when eventSource is not an
// AWS service host.
func ActionOf(eventSource, eventName string) string {
	host, ok := strings.CutSuffix(eventSource, ".amazonaws.com")
	if !ok || host == "" || eventName == "" {
		return ""
	}
	svc, _, _ := strings.Cut(host, ".")
	if p, ok := servicePrefixes[svc]; ok {
		svc = p
	}
	name := eventName
	switch svc {
	case "s3":
		if a, ok := s3Actions[name]; ok {
			name = a
		}
	case "lambda", "cloudfront":
		if n := apiVersionSuffix.ReplaceAllString(name, ""); n != "" {
			name = n
		}
	}
	return svc + ":" + name
}

// uniqueFold drops case-insensitive duplicates and sorts.
func uniqueFold(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if k := strings.ToLower(s); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	sortFold(out)
	return out
}

func sortFold(s []string) {
	sort.Slice(s, func(i, j int) bool {
		a, b := strings.ToLower(s[i]), strings.ToLower(s[j])
		if a != b {
			return a < b
		}
		return s[i] < s[j]
	})
}
