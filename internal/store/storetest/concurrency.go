package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
)

// overlapWait is how long the first updater waits inside fn for the second
// one to arrive. A backend that lets both read the same version must then
// refuse one of the writes; a backend that serializes updaters makes the
// first one give up waiting and commit.
const overlapWait = 150 * time.Millisecond

// maxAttempts bounds the retries of a conflicting update in the suite.
const maxAttempts = 100

// raceUpdates runs two updaters at once. update(i, seen) performs one
// Update attempt for updater i, calling seen from fn with the Version fn was
// given. On its first attempt each updater waits in seen for the other to
// arrive (or for overlapWait), so that both reads happen before either
// write where the backend allows it. ErrConflict is retried.
//
// It fails the test when an updater fails for another reason, or when two
// committed attempts had read the same Version: one of them was then
// written over the other without seeing it, a lost update.
func raceUpdates(t *testing.T, update func(i int, seen func(version int64)) error) {
	t.Helper()
	var (
		arrived   atomic.Int32
		both      = make(chan struct{})
		conflicts atomic.Int32
		mu        sync.Mutex
		committed []int64 // the Version each committed attempt had read
		errs      [2]error
		wg        sync.WaitGroup
	)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := range maxAttempts {
				var read int64
				err := update(i, func(v int64) {
					read = v
					if attempt == 0 {
						if arrived.Add(1) == 2 {
							close(both)
						}
						select {
						case <-both:
						case <-time.After(overlapWait):
						}
					}
				})
				if errors.Is(err, store.ErrConflict) {
					conflicts.Add(1)
					continue
				}
				if err == nil {
					mu.Lock()
					committed = append(committed, read)
					mu.Unlock()
				}
				errs[i] = err
				return
			}
			errs[i] = fmt.Errorf("still ErrConflict after %d attempts", maxAttempts)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("updater %d: %v", i, err)
		}
	}
	slices.Sort(committed)
	if len(slices.Compact(slices.Clone(committed))) != len(committed) {
		t.Errorf("two committed updates read the same version (read versions %v): one update was lost", committed)
	}
	t.Logf("%d conflicts retried", conflicts.Load())
}

func testConflictRole(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := store.Role{AccountID: acctA, Name: "Raced", Path: "/", Description: "start"}
	must(t, "CreateRole", s.CreateRole(ctx, r))

	raceUpdates(t, func(i int, seen func(int64)) error {
		_, err := s.UpdateRole(ctx, acctA, "raced", func(c *store.Role) error {
			seen(c.Version)
			c.Tags = append(c.Tags, store.Tag{Key: "writer-" + strconv.Itoa(i), Value: "x"})
			c.AttachedPolicyARNs = append(c.AttachedPolicyARNs, "arn:aws:iam::aws:policy/P"+strconv.Itoa(i))
			return nil
		})
		return err
	})

	got := getRole(t, s, acctA, "Raced")
	if got.Version != 3 {
		t.Errorf("Version after two updates = %d, want 3", got.Version)
	}
	wantBoth(t, "tags", tagKeys(got.Tags), "writer-0", "writer-1")
	wantBoth(t, "attached policies", got.AttachedPolicyARNs, "arn:aws:iam::aws:policy/P0", "arn:aws:iam::aws:policy/P1")
}

func testConflictOIDCProvider(t *testing.T, s store.Store) {
	ctx := t.Context()
	arn := providerARN(acctA, "raced.example.com")
	must(t, "CreateOIDCProvider", s.CreateOIDCProvider(ctx, store.OIDCProvider{AccountID: acctA, ARN: arn, URL: "https://raced.example.com"}))

	raceUpdates(t, func(i int, seen func(int64)) error {
		_, err := s.UpdateOIDCProvider(ctx, arn, func(c *store.OIDCProvider) error {
			seen(c.Version)
			c.ClientIDs = append(c.ClientIDs, "client-"+strconv.Itoa(i))
			return nil
		})
		return err
	})

	got, err := s.GetOIDCProvider(ctx, arn)
	must(t, "GetOIDCProvider", err)
	if got.Version != 3 {
		t.Errorf("Version after two updates = %d, want 3", got.Version)
	}
	wantBoth(t, "client IDs", got.ClientIDs, "client-0", "client-1")
}

func testConflictPolicy(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := store.ManagedPolicy{AccountID: acctA, Name: "Raced", Path: "/", ARN: policyARN(acctA, "/", "Raced"),
		DefaultVersion: "v1", Versions: []store.PolicyVersion{{ID: "v1", Document: "{}"}}, NextVersion: 2}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, p))

	raceUpdates(t, func(i int, seen func(int64)) error {
		_, err := s.UpdatePolicy(ctx, p.ARN, func(c *store.ManagedPolicy) error {
			seen(c.Version)
			// Two CreatePolicyVersion calls at once: each takes the next
			// number, so a lost update would show as a reused number.
			id := "v" + strconv.Itoa(c.NextVersion)
			c.Versions = append(c.Versions, store.PolicyVersion{ID: id, Document: strconv.Itoa(i)})
			c.NextVersion++
			c.AttachmentCount++
			return nil
		})
		return err
	})

	got := getPolicy(t, s, p.ARN)
	if got.Version != 3 {
		t.Errorf("Version after two updates = %d, want 3", got.Version)
	}
	if got.NextVersion != 4 || got.AttachmentCount != 2 {
		t.Errorf("NextVersion, AttachmentCount = %d, %d after two updates, want 4, 2", got.NextVersion, got.AttachmentCount)
	}
	var docs []string
	for _, v := range got.Versions[1:] {
		docs = append(docs, v.Document)
	}
	wantBoth(t, "version documents", docs, "0", "1")
	if len(got.Versions) == 3 && (got.Versions[1].ID != "v2" || got.Versions[2].ID != "v3") {
		t.Errorf("version IDs = %v, want v1 v2 v3", got.Versions)
	}
}

func tagKeys(tags []store.Tag) []string {
	var keys []string
	for _, t := range tags {
		keys = append(keys, t.Key)
	}
	return keys
}

// wantBoth fails unless got holds exactly a and b, in either order.
func wantBoth(t *testing.T, what string, got []string, a, b string) {
	t.Helper()
	sorted := slices.Sorted(slices.Values(got))
	if !slices.Equal(sorted, []string{a, b}) {
		t.Errorf("%s = %q, want both %q and %q once each: an update was lost", what, got, a, b)
	}
}

func testConcurrentCreate(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 24
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		errs    = make([]error, n)
		contest = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := sampleRole(acctA, fmt.Sprintf("role-%02d", i), "/")
			r.Version = 0
			errs[i] = s.CreateRole(ctx, r)
			// Everyone also wants the same name, spelled differently.
			name := "Contended"
			if i%2 == 1 {
				name = "CONTENDED"
			}
			c := sampleRole(acctA, name, "/")
			c.Description = strconv.Itoa(i)
			contest[i] = s.CreateRole(ctx, c)
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i := range n {
		must(t, fmt.Sprintf("CreateRole role-%02d", i), errs[i])
		switch {
		case contest[i] == nil && winner >= 0:
			t.Errorf("creators %d and %d both created the contended role", winner, i)
		case contest[i] == nil:
			winner = i
		default:
			wantErr(t, fmt.Sprintf("CreateRole contended by %d", i), contest[i], store.ErrAlreadyExists)
		}
	}
	if winner < 0 {
		t.Fatal("no creator of the contended role succeeded")
	}

	list, err := s.ListRoles(ctx, acctA, "")
	must(t, "ListRoles", err)
	if len(list) != n+1 {
		t.Fatalf("ListRoles returned %d roles, want %d", len(list), n+1)
	}
	for i := range n {
		diff(t, "role created concurrently", list[i+1], sampleRole(acctA, fmt.Sprintf("role-%02d", i), "/"))
	}
	if list[0].Description != strconv.Itoa(winner) {
		t.Errorf("contended role has the description %q of another creator than the winner %d", list[0].Description, winner)
	}
}

// testConcurrentReadWrite updates one role from several writers while
// readers read it: every update lands, and no reader ever sees a role whose
// table rows come from different updates.
func testConcurrentReadWrite(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, updates, readers = 3, 8, 3
	must(t, "CreateRole", s.CreateRole(ctx, stamped(store.Role{AccountID: acctA, Name: "Busy", Path: "/"}, "0")))

	var (
		wg      sync.WaitGroup
		done    = make(chan struct{})
		counter atomic.Int64
		errs    = make(chan error, writers+readers)
	)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range updates {
				stamp := strconv.FormatInt(counter.Add(1), 10)
				var err error
				for range maxAttempts {
					_, err = s.UpdateRole(ctx, acctA, "busy", func(r *store.Role) error {
						*r = stamped(*r, stamp)
						return nil
					})
					if !errors.Is(err, store.ErrConflict) {
						break
					}
				}
				if err != nil {
					errs <- fmt.Errorf("UpdateRole: %w", err)
					return
				}
			}
		}()
	}
	var rg sync.WaitGroup
	for range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				r, err := s.GetRole(ctx, acctA, "Busy")
				if err == nil {
					err = consistent(r)
				}
				if err == nil {
					var list []store.Role
					list, err = s.ListRoles(ctx, acctA, "/")
					if err == nil && len(list) != 1 {
						err = fmt.Errorf("ListRoles returned %d roles, want 1", len(list))
					}
					if err == nil {
						err = consistent(list[0])
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	got := getRole(t, s, acctA, "Busy")
	if want := int64(1 + writers*updates); got.Version != want {
		t.Errorf("Version = %d after %d updates, want %d", got.Version, writers*updates, want)
	}
	if err := consistent(got); err != nil {
		t.Error(err)
	}
}

// stamped writes stamp into a scalar, a tag, an inline policy and an
// attachment of r, which the backend may keep in different places.
func stamped(r store.Role, stamp string) store.Role {
	r.Description = stamp
	r.Tags = []store.Tag{{Key: "stamp", Value: stamp}}
	r.InlinePolicies = []store.InlinePolicy{{Name: "stamp", Document: stamp}}
	r.AttachedPolicyARNs = []string{"arn:aws:iam::aws:policy/" + stamp}
	return r
}

// consistent reports a role whose parts carry different stamps.
func consistent(r store.Role) error {
	s := r.Description
	if len(r.Tags) != 1 || r.Tags[0].Value != s ||
		len(r.InlinePolicies) != 1 || r.InlinePolicies[0].Document != s ||
		len(r.AttachedPolicyARNs) != 1 || r.AttachedPolicyARNs[0] != "arn:aws:iam::aws:policy/"+s {
		return fmt.Errorf("torn read: description %q, tags %v, inline policies %v, attachments %v",
			s, r.Tags, r.InlinePolicies, r.AttachedPolicyARNs)
	}
	return nil
}
