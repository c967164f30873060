package session

import (
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Access key ID prefixes.
const (
	PrefixLongTerm  = "AKIA"
	PrefixTemporary = "ASIA"
	PrefixRole      = "AROA"
	PrefixPolicy    = "ANPA"
	PrefixUser      = "AIDA"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewAccessKeyID returns a 20-character access key ID with the given prefix
// whose next 16 characters encode the account the way AWS's do: the first
// 48 bits of their base32 value hold the account ID shifted left by seven
// bits, so tools that read the account from a key ID (as STS
// GetAccessKeyInfo does) find it.
func NewAccessKeyID(prefix, accountID string, rnd io.Reader) (string, error) {
	acct, err := strconv.ParseUint(accountID, 10, 64)
	if err != nil || len(accountID) != 12 {
		return "", fmt.Errorf("session: account ID %q is not 12 digits", accountID)
	}
	var b [10]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", err
	}
	v := acct<<7 | uint64(b[5]&0x7f)
	for i := 5; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return prefix + b32.EncodeToString(b[:]), nil
}

// AccountFromAccessKeyID reads the account encoded in an access key ID.
func AccountFromAccessKeyID(id string) (string, error) {
	if len(id) != 20 {
		return "", errors.New("session: access key ID is not 20 characters")
	}
	b, err := b32.DecodeString(id[4:])
	if err != nil || len(b) != 10 {
		return "", errors.New("session: access key ID is not base32")
	}
	var v uint64
	for i := 0; i < 6; i++ {
		v = v<<8 | uint64(b[i])
	}
	return fmt.Sprintf("%012d", (v&0x7fffffffff80)>>7), nil
}

// NewSecretAccessKey returns a 40-character secret access key.
func NewSecretAccessKey(rnd io.Reader) (string, error) {
	var b [30]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// NewUniqueID returns an IAM unique ID: the prefix and 17 characters of
// upper-case letters and digits, 21 in all, as IAM gives roles and
// policies.
func NewUniqueID(prefix string, rnd io.Reader) (string, error) {
	var b [11]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", err
	}
	return prefix + b32.EncodeToString(b[:])[:17], nil
}
