package webidentity

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

// BenchmarkVerify measures a whole verification; BenchmarkRSAVerify the
// RSA-2048 signature check alone, its floor.
func BenchmarkVerify(b *testing.B) {
	k := testKeys()
	for _, tc := range []struct {
		alg, kid string
		key      any
	}{{"RS256", "k1", k.rsa}, {"ES256", "e256", k.ec256}} {
		b.Run(tc.alg, func(b *testing.B) {
			v, _ := fixture(b)
			token := signRaw(b, tc.key, tc.alg, header(tc.alg, tc.kid, `"typ":"JWT"`), payload(map[string]string{
				"kubernetes.io": `{"namespace":"prod","serviceaccount":{"name":"app","uid":"u"},"pod":{"name":"p","uid":"u"},"node":{"name":"n","uid":"u"}}`,
				"jti":           `"d2e12799-1747-4af3-93e9-ae92e8713249"`,
			}))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), testAccount, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRSAVerify(b *testing.B) {
	k := testKeys().rsa
	d := sha256.Sum256([]byte("header.payload"))
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, d[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
