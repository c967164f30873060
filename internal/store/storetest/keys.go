package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/irsa-dev/irsa/internal/store"
)

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()

	got, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys empty", err)
	if len(got) != 0 {
		t.Fatalf("ListSigningKeys on an empty store = %v, want none", got)
	}

	// Binary key material, with a zero byte and bytes that are not UTF-8.
	der := []byte{0x30, 0x82, 0x00, 0xff, 0xfe, 0x00, 0x01}
	old := store.SigningKey{ID: "kid-z", Algorithm: "RS256", PrivateKey: der,
		PublishAt: at(0), ActiveAt: at(1), RetireAt: at(2), ExpireAt: at(3), CreatedAt: at(0)}
	cur := store.SigningKey{ID: "kid-b", Algorithm: "ES256", PrivateKey: []byte("ec key"),
		PublishAt: at(1), ActiveAt: at(2), CreatedAt: at(1)}
	next := store.SigningKey{ID: "kid-a", Algorithm: "RS256", PrivateKey: []byte("next key"),
		PublishAt: at(2), ActiveAt: at(9), CreatedAt: at(1)}
	for _, k := range []store.SigningKey{next, old, cur} {
		must(t, "PutSigningKey "+k.ID, s.PutSigningKey(ctx, k))
	}
	got, err = s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	diff(t, "ListSigningKeys (by CreatedAt, then ID)", got, []store.SigningKey{old, next, cur})

	// Put replaces by ID, every field.
	retired := cur
	retired.Algorithm, retired.PrivateKey = "ES384", []byte("replaced")
	retired.RetireAt, retired.ExpireAt = at(50), at(60)
	must(t, "PutSigningKey replacing", s.PutSigningKey(ctx, retired))
	got, err = s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys after replace", err)
	diff(t, "ListSigningKeys after replace", got, []store.SigningKey{old, next, retired})

	must(t, "DeleteSigningKey", s.DeleteSigningKey(ctx, old.ID))
	wantErr(t, "DeleteSigningKey twice", s.DeleteSigningKey(ctx, old.ID), store.ErrNotFound)
	wantErr(t, "DeleteSigningKey unknown", s.DeleteSigningKey(ctx, "kid-unknown"), store.ErrNotFound)
	got, err = s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys after delete", err)
	diff(t, "ListSigningKeys after delete", got, []store.SigningKey{next, retired})

	// An empty key comes back nil.
	must(t, "PutSigningKey empty", s.PutSigningKey(ctx, store.SigningKey{ID: "kid-empty", PrivateKey: []byte{}, CreatedAt: at(99)}))
	got, err = s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys with empty key", err)
	diff(t, "ListSigningKeys with empty key", got, []store.SigningKey{next, retired, {ID: "kid-empty", CreatedAt: at(99)}})
}

func testSealingKeys(t *testing.T, s store.Store) {
	ctx := t.Context()

	got, err := s.ListSealingKeys(ctx)
	must(t, "ListSealingKeys empty", err)
	if len(got) != 0 {
		t.Fatalf("ListSealingKeys on an empty store = %v, want none", got)
	}

	key := func(b byte) []byte {
		k := make([]byte, 32)
		for i := range k {
			k[i] = b + byte(i)
		}
		return k
	}
	k1 := store.SealingKey{ID: "seal-2", Key: key(0), CreatedAt: at(1), RetireAt: at(5)}
	k2 := store.SealingKey{ID: "seal-1", Key: key(200), CreatedAt: at(2)}
	k3 := store.SealingKey{ID: "seal-0", Key: key(100), CreatedAt: at(2)}
	for _, k := range []store.SealingKey{k2, k1, k3} {
		must(t, "PutSealingKey "+k.ID, s.PutSealingKey(ctx, k))
	}
	got, err = s.ListSealingKeys(ctx)
	must(t, "ListSealingKeys", err)
	diff(t, "ListSealingKeys (by CreatedAt, then ID)", got, []store.SealingKey{k1, k3, k2})

	k2.RetireAt = at(7)
	must(t, "PutSealingKey replacing", s.PutSealingKey(ctx, k2))
	got, err = s.ListSealingKeys(ctx)
	must(t, "ListSealingKeys after replace", err)
	diff(t, "ListSealingKeys after replace", got, []store.SealingKey{k1, k3, k2})
}

func testSettings(t *testing.T, s store.Store) {
	ctx := t.Context()

	_, err := s.GetSetting(ctx, "issuer.url")
	wantErr(t, "GetSetting unset", err, store.ErrNotFound)

	v, err := s.PutSettingIfAbsent(ctx, "issuer.url", "https://first")
	must(t, "PutSettingIfAbsent first", err)
	diff(t, "PutSettingIfAbsent first", v, "https://first")

	v, err = s.PutSettingIfAbsent(ctx, "issuer.url", "https://second")
	must(t, "PutSettingIfAbsent second", err)
	diff(t, "PutSettingIfAbsent second returns the first value", v, "https://first")

	v, err = s.GetSetting(ctx, "issuer.url")
	must(t, "GetSetting", err)
	diff(t, "GetSetting keeps the first value", v, "https://first")

	// An empty value is a value: it is set, and it wins.
	v, err = s.PutSettingIfAbsent(ctx, "empty", "")
	must(t, "PutSettingIfAbsent empty", err)
	diff(t, "PutSettingIfAbsent empty", v, "")
	v, err = s.PutSettingIfAbsent(ctx, "empty", "later")
	must(t, "PutSettingIfAbsent over empty", err)
	diff(t, "PutSettingIfAbsent over an empty value", v, "")

	// Names are exact.
	_, err = s.GetSetting(ctx, "ISSUER.URL")
	wantErr(t, "GetSetting in another case", err, store.ErrNotFound)
}

func testSettingsConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 16
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = s.PutSettingIfAbsent(ctx, "issuer.id", fmt.Sprintf("value-%02d", i))
		}()
	}
	close(start)
	wg.Wait()

	for i, err := range errs {
		must(t, fmt.Sprintf("PutSettingIfAbsent %d", i), err)
	}
	stored, err := s.GetSetting(ctx, "issuer.id")
	must(t, "GetSetting", err)
	winners := 0
	for i, v := range got {
		if v != stored {
			t.Errorf("caller %d got %q, the store holds %q: concurrent callers must agree", i, v, stored)
		}
		if v == fmt.Sprintf("value-%02d", i) {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d callers saw their own value win, want exactly 1", winners)
	}
}
