package audit

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendEvent appends e's JSON to dst: exactly the bytes that
// json.Marshal writes for e (see MarshalJSON), without reflection. Encode is on the path of every call, so it matters;
// TestAppendEventMatchesEncodingJSON and FuzzAppendEvent hold the two
// encoders to the same output.
func appendEvent(dst []byte, e *Event) ([]byte, error) {
	var err error
	dst = append(dst, `{"eventVersion":`...)
	dst = appendString(dst, e.EventVersion)
	if e.UserIdentity != nil {
		dst = append(dst, `,"userIdentity":`...)
		dst = appendUserIdentity(dst, e.UserIdentity)
	}
	dst = append(dst, `,"eventTime":"`...)
	dst = e.EventTime.UTC().AppendFormat(dst, TimeFormat)
	dst = append(dst, `","eventSource":`...)
	dst = appendString(dst, e.EventSource)
	dst = append(dst, `,"eventName":`...)
	dst = appendString(dst, e.EventName)
	dst = appendOptString(dst, "awsRegion", e.AWSRegion)
	dst = appendOptString(dst, "sourceIPAddress", e.SourceIPAddress)
	dst = appendOptString(dst, "userAgent", e.UserAgent)
	dst = appendOptString(dst, "errorCode", e.ErrorCode)
	dst = appendOptString(dst, "errorMessage", e.ErrorMessage)
	dst = append(dst, `,"requestParameters":`...)
	if dst, err = appendObject(dst, e.RequestParameters); err != nil {
		return nil, err
	}
	dst = append(dst, `,"responseElements":`...)
	if dst, err = appendObject(dst, e.ResponseElements); err != nil {
		return nil, err
	}
	if len(e.AdditionalEventData) > 0 {
		dst = append(dst, `,"additionalEventData":`...)
		if dst, err = appendObject(dst, e.AdditionalEventData); err != nil {
			return nil, err
		}
	}
	dst = appendOptString(dst, "requestID", e.RequestID)
	dst = append(dst, `,"eventID":`...)
	dst = appendString(dst, e.EventID)
	dst = append(dst, `,"readOnly":`...)
	dst = strconv.AppendBool(dst, e.ReadOnly)
	dst = append(dst, `,"eventType":`...)
	dst = appendString(dst, e.EventType)
	dst = append(dst, `,"managementEvent":`...)
	dst = strconv.AppendBool(dst, e.ManagementEvent)
	dst = appendOptString(dst, "recipientAccountId", e.RecipientAccountID)
	dst = appendOptString(dst, "eventCategory", e.EventCategory)
	if len(e.Explanation) > 0 {
		dst = append(dst, `,"explanation":`...)
		if dst, err = appendReflect(dst, e.Explanation); err != nil {
			return nil, err
		}
	}
	dst = appendOptString(dst, "tokenHash", e.TokenHash)
	return append(dst, '}'), nil
}

func appendUserIdentity(dst []byte, u *UserIdentity) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, u.Type)
	dst = appendOptString(dst, "principalId", u.PrincipalID)
	dst = appendOptString(dst, "arn", u.ARN)
	dst = appendOptString(dst, "accountId", u.AccountID)
	dst = appendOptString(dst, "accessKeyId", u.AccessKeyID)
	dst = appendOptString(dst, "userName", u.UserName)
	dst = appendOptString(dst, "identityProvider", u.IdentityProvider)
	dst = appendOptString(dst, "invokedBy", u.InvokedBy)
	if sc := u.SessionContext; sc != nil {
		dst = append(dst, `,"sessionContext":`...)
		first := true
		dst = append(dst, '{')
		if si := sc.SessionIssuer; si != nil {
			dst = append(dst, `"sessionIssuer":{"type":`...)
			dst = appendString(dst, si.Type)
			dst = appendOptString(dst, "principalId", si.PrincipalID)
			dst = appendOptString(dst, "arn", si.ARN)
			dst = appendOptString(dst, "accountId", si.AccountID)
			dst = appendOptString(dst, "userName", si.UserName)
			dst = append(dst, '}')
			first = false
		}
		if w := sc.WebIDFederationData; w != nil {
			if !first {
				dst = append(dst, ',')
			}
			dst = append(dst, `"webIdFederationData":`...)
			dst = appendWebID(dst, w)
			first = false
		}
		if at := sc.Attributes; at != nil {
			if !first {
				dst = append(dst, ',')
			}
			dst = append(dst, `"attributes":{`...)
			if at.CreationDate != "" {
				dst = append(dst, `"creationDate":`...)
				dst = appendString(dst, at.CreationDate)
				dst = append(dst, ',')
			}
			dst = append(dst, `"mfaAuthenticated":`...)
			dst = appendString(dst, at.MFAAuthenticated)
			dst = append(dst, '}')
			first = false
		}
		if sc.SourceIdentity != "" {
			if !first {
				dst = append(dst, ',')
			}
			dst = append(dst, `"sourceIdentity":`...)
			dst = appendString(dst, sc.SourceIdentity)
		}
		dst = append(dst, '}')
	}
	if w := u.WebIDFederationData; w != nil {
		dst = append(dst, `,"webIdFederationData":`...)
		dst = appendWebID(dst, w)
	}
	return append(dst, '}')
}

func appendWebID(dst []byte, w *WebIDFederationData) []byte {
	dst = append(dst, '{')
	n := len(dst)
	if w.FederatedProvider != "" {
		dst = append(dst, `"federatedProvider":`...)
		dst = appendString(dst, w.FederatedProvider)
	}
	if w.FederatedIdentity != "" {
		if len(dst) > n {
			dst = append(dst, ',')
		}
		dst = append(dst, `"federatedIdentity":`...)
		dst = appendString(dst, w.FederatedIdentity)
	}
	if len(w.Attributes) > 0 {
		if len(dst) > n {
			dst = append(dst, ',')
		}
		dst = append(dst, `"attributes":`...)
		dst = appendStringMap(dst, w.Attributes)
	}
	return append(dst, '}')
}

// appendOptString appends ,"name":"value" unless value is empty (the
// omitempty of a string field that is never first).
func appendOptString(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendString(dst, value)
}

// appendObject appends a map as encoding/json does: null when nil, keys
// sorted.
func appendObject(dst []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	var kb [16]string
	keys := kb[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		if dst, err = appendValue(dst, m[k]); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

func appendStringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	var kb [16]string
	keys := kb[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendString(dst, m[k])
	}
	return append(dst, '}')
}

// appendValue appends the JSON of the values parameters and response
// elements hold; anything else goes through encoding/json.
func appendValue(dst []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case map[string]any:
		return appendObject(dst, x)
	case map[string]string:
		return appendStringMap(dst, x), nil
	case Credentials:
		return x.appendJSON(dst), nil
	case []string:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		return append(dst, ']'), nil
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, el := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValue(dst, el); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
	return appendReflect(dst, v)
}

// appendReflect is the general case: json.Marshal.
func appendReflect(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

const hexDigits = "0123456789abcdef"

// plain8 reports whether the eight bytes of x are all written as they
// are in a JSON string: ASCII, not a control character, not ", \, <, >
// or &.
func plain8(x uint64) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	// x - n*ones sets the high bit of some byte when a byte of x is below
	// n ("Bit Twiddling Hacks"), exactly when no byte has its high bit set,
	// which the final |x checks; a byte equal to c is a zero byte of
	// x^(c*ones), one below 1.
	bad := (x - 0x20*ones) | // < 0x20
		((x ^ '"'*ones) - ones) |
		((x ^ '\\'*ones) - ones) |
		((x ^ '<'*ones) - ones) |
		((x ^ '>'*ones) - ones) |
		((x ^ '&'*ones) - ones)
	return (bad|x)&high == 0
}

// appendString appends s as a JSON string the way json.Marshal does:
// invalid UTF-8 becomes U+FFFD; U+2028, U+2029, <, > and & are escaped,
// and so is every control character.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time: most strings are all plain.
		for i+8 <= len(s) && plain8(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
