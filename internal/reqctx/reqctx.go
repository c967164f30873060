package reqctx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// Caller is an authenticated principal.
type Caller struct {
	// Type is CloudTrail's userIdentity type: Root, IAMUser, AssumedRole,
	// WebIdentityUser.
	Type        string
	AccountID   string
	ARN         string // arn:aws:iam::A:root, arn:aws:sts::A:assumed-role/R/S
	UserID      string // A (root), AROA…:session
	AccessKeyID string
	// RoleName is set for assumed-role sessions.
	RoleName string
	// Session is the open session of an AssumedRole caller (a
	// *session.Session); it is typed any here to keep this package a leaf.
	Session any
}

// Info is what is known about one request.
type Info struct {
	RequestID string
	SourceIP  string
	UserAgent string
	Region    string
	Caller    *Caller
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the request's Info, or an empty one.
func From(ctx context.Context) *Info {
	if info, ok := ctx.Value(key{}).(*Info); ok {
		return info
	}
	return &Info{}
}

// NewRequestID returns a random request ID in AWS's UUID form.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
