package audit

import (
	"bytes"
	"time"
)

// This file reads the few fields the alert rules need from a stored record
// without decoding the whole of it: the Monitor reads every event the
// server writes, and json.Unmarshal of a whole record costs as much as
// writing it. The fast path handles records as irsa and CloudTrail write
// them (exact key spelling, string values where strings belong, no escapes
// in the values read); anything else makes alertEventFast report false,
// and AlertEvent falls back on encoding/json, so both give the same
// result. FuzzAlertEventFast holds them to it.

// members calls fn with the key and the raw value of each member of the
// JSON object data, in order. It reports false when data is not an object
// it can walk, or a key has escapes, or fn returns false.
func members(data []byte, fn func(key, val []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		end := skipString(data, i)
		if end < 0 {
			return false
		}
		key := data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		vend := skipValue(data, i, 0)
		if vend < 0 {
			return false
		}
		if !fn(key, data[i:vend]) {
			return false
		}
		i = skipSpace(data, vend)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at data[i] ('"'),
// or -1.
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// maxDepth bounds the nesting skipValue follows.
const maxDepth = 64

// skipValue returns the index after the value starting at data[i], or -1.
// It checks the structure of objects and arrays, not the grammar of
// numbers and literals (encoding/json does, on the fallback path, when a
// value is used).
func skipValue(data []byte, i, depth int) int {
	if i >= len(data) || depth > maxDepth {
		return -1
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		closing := byte('}')
		if data[i] == '[' {
			closing = ']'
		}
		j := skipSpace(data, i+1)
		if j < len(data) && data[j] == closing {
			return j + 1
		}
		for {
			if closing == '}' {
				if j >= len(data) || data[j] != '"' {
					return -1
				}
				if j = skipString(data, j); j < 0 {
					return -1
				}
				if j = skipSpace(data, j); j >= len(data) || data[j] != ':' {
					return -1
				}
				j = skipSpace(data, j+1)
			}
			if j = skipValue(data, j, depth+1); j < 0 {
				return -1
			}
			j = skipSpace(data, j)
			if j >= len(data) {
				return -1
			}
			if data[j] == closing {
				return j + 1
			}
			if data[j] != ',' {
				return -1
			}
			j = skipSpace(data, j+1)
		}
	}
	j := i
	for j < len(data) && data[j] != ',' && data[j] != '}' && data[j] != ']' && data[j] != ' ' && data[j] != '\t' && data[j] != '\n' && data[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// plainString is the value of a JSON string without escapes, control
// characters or non-ASCII bytes (which encoding/json would rewrite), and
// whether val is one.
func plainString(val []byte) (string, bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return "", false
	}
	s := val[1 : len(val)-1]
	for _, c := range s {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return "", false
		}
	}
	return string(s), true
}

// foldsTo reports whether key matches one of names ignoring case without
// being spelled exactly as it: encoding/json would take such a key for the
// field, the fast path would not.
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if string(key) != n && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// once reports false when the member named by bit was seen before in the
// same object: with a repeated member, encoding/json merges or overwrites
// in ways the fast path does not follow.
func once(seen *uint32, key []byte, names ...string) bool {
	for i, n := range names {
		if string(key) == n {
			if *seen&(1<<i) != 0 {
				return false
			}
			*seen |= 1 << i
		}
	}
	return true
}

// stringField stores val in *dst when it is a plain string, clears *dst
// for null, and reports false otherwise.
func stringField(val []byte, dst *string) bool {
	if string(val) == "null" {
		return true // encoding/json leaves the field as it was
	}
	s, ok := plainString(val)
	if ok {
		*dst = s
	}
	return ok
}

// The members the fast path reads, at the top and in userIdentity.
var (
	topNames      = []string{"eventTime", "eventSource", "eventName", "errorCode", "sourceIPAddress", "tokenHash", "requestParameters", "userIdentity", "additionalEventData"}
	identityNames = []string{"type", "arn", "userName", "webIdFederationData", "sessionContext"}
)

// alertEventFast is AlertEvent's fast path; ok is false when the record
// needs encoding/json.
func alertEventFast(rec []byte, roleARN string) (e Event, ok bool) {
	var eventTime string
	var u *UserIdentity
	var roleParam, federated string
	roleSet := false
	var seen uint32
	ok = members(rec, func(key, val []byte) bool {
		if foldsTo(key, topNames...) || !once(&seen, key, topNames...) {
			return false
		}
		switch string(key) {
		case "eventTime":
			return stringField(val, &eventTime)
		case "eventSource":
			return stringField(val, &e.EventSource)
		case "eventName":
			return stringField(val, &e.EventName)
		case "errorCode":
			return stringField(val, &e.ErrorCode)
		case "sourceIPAddress":
			return stringField(val, &e.SourceIPAddress)
		case "tokenHash":
			return stringField(val, &e.TokenHash)
		case "requestParameters":
			if val[0] != '{' {
				return string(val) == "null"
			}
			return members(val, func(k, v []byte) bool {
				if foldsTo(k, "roleArn") {
					return false
				}
				if string(k) == "roleArn" {
					if roleSet {
						return false
					}
					if s, isStr := plainString(v); isStr {
						roleParam, roleSet = s, true
					} else if v[0] == '"' {
						return false // an escaped string: let encoding/json read it
					}
				}
				return true
			})
		case "additionalEventData":
			if string(val) == "null" {
				return true
			}
			if val[0] != '{' {
				return false
			}
			var dseen uint32
			return members(val, func(k, v []byte) bool {
				if foldsTo(k, "federatedIdentity") || !once(&dseen, k, "federatedIdentity") {
					return false
				}
				if string(k) == "federatedIdentity" {
					return stringField(v, &federated)
				}
				return true
			})
		case "userIdentity":
			if string(val) == "null" {
				u = nil
				return true
			}
			u = &UserIdentity{}
			return readUserIdentity(val, u)
		}
		return true
	})
	if !ok {
		return Event{}, false
	}
	t, err := time.Parse(time.RFC3339, eventTime)
	if err != nil {
		return Event{}, false
	}
	e.EventTime = t.UTC()
	e.RoleARN = roleARN
	if roleSet {
		e.RequestParameters = map[string]any{"roleArn": roleParam}
	}
	if federated != "" {
		e.AdditionalEventData = map[string]any{"federatedIdentity": federated}
	}
	if u != nil && u.SessionContext != nil && u.SessionContext.SessionIssuer == nil {
		// Only a session issuer's ARN is kept of the session context.
		u.SessionContext = nil
	}
	e.UserIdentity = u
	return e, true
}

func readUserIdentity(val []byte, u *UserIdentity) bool {
	var seen uint32
	return members(val, func(key, v []byte) bool {
		if foldsTo(key, identityNames...) || !once(&seen, key, identityNames...) {
			return false
		}
		switch string(key) {
		case "type":
			return stringField(v, &u.Type)
		case "arn":
			return stringField(v, &u.ARN)
		case "userName":
			return stringField(v, &u.UserName)
		case "webIdFederationData":
			if string(v) == "null" {
				u.WebIDFederationData = nil
				return true
			}
			if v[0] != '{' {
				return false
			}
			f := &WebIDFederationData{}
			u.WebIDFederationData = f
			var fseen uint32
			return members(v, func(k, fv []byte) bool {
				if foldsTo(k, "federatedIdentity") || !once(&fseen, k, "federatedIdentity") {
					return false
				}
				if string(k) == "federatedIdentity" {
					return stringField(fv, &f.FederatedIdentity)
				}
				return true
			})
		case "sessionContext":
			if string(v) == "null" {
				u.SessionContext = nil
				return true
			}
			if v[0] != '{' {
				return false
			}
			sc := &SessionContext{}
			u.SessionContext = sc
			var cseen uint32
			return members(v, func(k, sv []byte) bool {
				if foldsTo(k, "sessionIssuer") || !once(&cseen, k, "sessionIssuer") {
					return false
				}
				if string(k) != "sessionIssuer" {
					return true
				}
				if string(sv) == "null" {
					sc.SessionIssuer = nil
					return true
				}
				if sv[0] != '{' {
					return false
				}
				si := &SessionIssuer{}
				sc.SessionIssuer = si
				var iseen uint32
				return members(sv, func(ik, iv []byte) bool {
					if foldsTo(ik, "arn") || !once(&iseen, ik, "arn") {
						return false
					}
					if string(ik) == "arn" {
						return stringField(iv, &si.ARN)
					}
					return true
				})
			})
		}
		return true
	})
}
