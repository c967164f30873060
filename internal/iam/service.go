package iam

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
)

// Service is the IAM service. Every method takes the account the request
// acts in (the caller's account) and a typed input named after AWS's
// request shape, and returns AWS's errors as *awserr.Error.
type Service struct {
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of role and policy IDs; nil means crypto/rand.
	Rand io.Reader
	// TrustPolicyMaxSize is the largest trust policy, in characters without
	// whitespace: 2048 by default (AWS's default quota), at most 4096 (the
	// largest quota AWS grants).
	TrustPolicyMaxSize int
	// AllowHTTPLoopbackProviders lets OIDC providers use plain http:// when
	// their host is a loopback address, for local clusters. Off by default.
	AllowHTTPLoopbackProviders bool
}

// Quotas of IAM that irsa enforces.
const (
	MaxTrustPolicySize      = 4096
	DefaultTrustPolicySize  = policy.MaxTrustSize
	maxManagedPerRole       = 10
	maxPolicyVersions       = 5
	maxTags                 = 50
	maxClientIDs            = 100
	maxThumbprints          = 5
	maxOIDCProviders        = 100
	defaultMaxSession       = 3600
	minSessionDuration      = 3600
	maxSessionDuration      = 43200
	maxDescription          = 1000
	maxPolicyDocumentLength = 131072
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Service) trustLimit() int {
	switch n := s.TrustPolicyMaxSize; {
	case n <= 0:
		return DefaultTrustPolicySize
	case n > MaxTrustPolicySize:
		return MaxTrustPolicySize
	default:
		return n
	}
}

func (s *Service) newID(prefix string) (string, error) {
	id, err := session.NewUniqueID(prefix, s.rand())
	if err != nil {
		return "", awserr.Internal(fmt.Errorf("iam: generating an ID: %w", err))
	}
	return id, nil
}

// storeErr turns an unexpected store error into InternalFailure; a
// conflicting concurrent update becomes ConcurrentModification, which
// clients retry.
func storeErr(err error) error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, store.ErrConflict) {
		return awserr.New(awserr.ConcurrentModification, "This resource is being modified by another request. Try again later.")
	}
	return awserr.Internal(err)
}

// policyErr turns a rejection of policy.Parse into the AWS error.
func policyErr(err error) error {
	var pe *policy.Error
	if errors.As(err, &pe) {
		code := pe.Code
		if code == "" {
			code = awserr.MalformedPolicyDocument
		}
		return awserr.New(code, pe.Message)
	}
	return awserr.Internal(err)
}

// Messages of AWS's NoSuchEntity and other errors, in AWS's words.
func noSuchRole(name string) error {
	return awserr.Newf(awserr.NoSuchEntity, "The role with name %s cannot be found.", name)
}

func noSuchPolicy(arn string) error {
	return awserr.Newf(awserr.NoSuchEntity, "Policy %s was not found.", arn)
}

func notAttachable(arn string) error {
	return awserr.Newf(awserr.NoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

func noSuchVersion(arn, version string) error {
	return awserr.Newf(awserr.NoSuchEntity, "Policy %s version %s does not exist or is not attachable.", arn, version)
}

func noSuchProvider(arn string) error {
	return awserr.Newf(awserr.NoSuchEntity, "OpenIDConnect Provider not found for arn %s", arn)
}

func invalidARN() error {
	// AWS's text, two spaces included.
	return awserr.New(awserr.ValidationError, "Invalid ARN:  Could not be parsed!")
}

// Tag is a key-value pair of a request.
type Tag struct {
	Key   string `query:"Key"`
	Value string `query:"Value"`
}

func toStoreTags(in []Tag) []store.Tag {
	if len(in) == 0 {
		return nil
	}
	out := make([]store.Tag, len(in))
	for i, t := range in {
		out[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

// checkTags validates a Tags member: the list's model constraints into v.
func checkTags(v *violations, tags []Tag) {
	if len(tags) > maxTags {
		v.addHidden("tags", cMaxLen(maxTags))
	}
	for i, t := range tags {
		member := fmt.Sprintf("tags.%d.member", i+1)
		v.str(t.Key, member+".key", 1, 128, reTagKey, patTagKey)
		v.str(t.Value, member+".value", 0, 256, reTagValue, patTagValue)
	}
}

// checkTagKeys validates a TagKeys member.
func checkTagKeys(v *violations, keys []string) {
	if keys == nil {
		v.null("tagKeys")
		return
	}
	if len(keys) > maxTags {
		v.add("["+strings.Join(keys, ", ")+"]", "tagKeys", cMaxLen(maxTags))
	}
	v.strList(keys, "tagKeys", 1, 128, reTagKey, patTagKey)
}

var errDuplicateTags = awserr.New(awserr.InvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")

// duplicateTags refuses two tags whose keys differ only in case.
func duplicateTags(tags []Tag) error {
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return errDuplicateTags
		}
		seen[k] = true
	}
	return nil
}

// mergeTags adds or overwrites tags (keys compared case-insensitively) and
// enforces the per-entity quota, named as AWS names it (TagsPerRole, …).
func mergeTags(have []store.Tag, add []Tag, quota string) ([]store.Tag, error) {
	out := append([]store.Tag(nil), have...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i] = store.Tag{Key: t.Key, Value: t.Value}
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, store.Tag{Key: t.Key, Value: t.Value})
		}
	}
	if len(out) > maxTags {
		return nil, awserr.Newf(awserr.LimitExceeded, "Cannot exceed quota for %s: %d", quota, maxTags)
	}
	return out, nil
}

// removeTags drops the tags with the given keys, compared
// case-insensitively; keys that are not there are ignored, as AWS does.
func removeTags(have []store.Tag, keys []string) []store.Tag {
	var out []store.Tag
	for _, t := range have {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

// Page is the pagination part of a list output.
type Page struct {
	IsTruncated bool
	// Marker is the value to send as Marker for the next page; empty when
	// IsTruncated is false.
	Marker string
}

var errBadMarker = awserr.New(awserr.InvalidInput, "The Marker is not valid.")

// paginate returns the page of items (sorted by key) that starts at marker
// and holds at most maxItems (default 100). Markers are the base64 of the
// key of the first item of the next page.
func paginate[T any](items []T, key func(T) string, marker *string, maxItems *int32) ([]T, Page, error) {
	sort.SliceStable(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := 0
	if marker != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*marker)
		if err != nil {
			return nil, Page{}, errBadMarker
		}
		from := string(raw)
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) >= from })
	}
	limit := defaultMaxItem
	if maxItems != nil {
		limit = int(*maxItems)
	}
	end := start + limit
	if end >= len(items) {
		return items[start:], Page{}, nil
	}
	return items[start:end], Page{IsTruncated: true, Marker: base64.RawURLEncoding.EncodeToString([]byte(key(items[end])))}, nil
}

// nonSpace counts the characters of a document that are not JSON
// whitespace: how IAM measures policy sizes.
func nonSpace(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
