package storetest

import (
	"errors"
	"strconv"
	"testing"

	"github.com/irsa-dev/irsa/internal/store"
)

func clusterARN(account, name string) string {
	return "arn:aws:eks:us-east-1:" + account + ":cluster/" + name
}

func sampleCluster(account, name string) store.Cluster {
	return store.Cluster{
		AccountID: account, Name: name, ARN: clusterARN(account, name),
		Issuer:    "https://oidc.example.com/" + name,
		Tags:      []store.Tag{{Key: "team", Value: "é"}, {Key: "a", Value: ""}},
		CreatedAt: at(3), Version: 1,
	}
}

func sampleAssociation(account, cluster, id, ns, sa string) store.PodIdentityAssociation {
	return store.PodIdentityAssociation{
		AccountID: account, ClusterName: cluster, ID: id,
		ARN:       "arn:aws:eks:us-east-1:" + account + ":podidentityassociation/" + cluster + "/" + id,
		Namespace: ns, ServiceAccount: sa,
		RoleARN:            "arn:aws:iam::" + account + ":role/app",
		TargetRoleARN:      "arn:aws:iam::" + acctB + ":role/target",
		ExternalID:         "ext-" + id,
		DisableSessionTags: true,
		Policy:             `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
		Tags:               []store.Tag{{Key: "k", Value: "v"}},
		OwnerARN:           "arn:aws:iam::" + account + ":root",
		ClientRequestToken: "token-" + id,
		CreatedAt:          at(4), ModifiedAt: at(5), Version: 1,
	}
}

func testClusters(t *testing.T, s store.Store) {
	ctx := t.Context()

	_, err := s.GetCluster(ctx, acctA, "prod")
	wantErr(t, "GetCluster before put", err, store.ErrNotFound)
	none, err := s.ListClusters(ctx, acctA)
	must(t, "ListClusters empty", err)
	if len(none) != 0 {
		t.Fatalf("ListClusters on an empty store = %v, want none", none)
	}

	prod := sampleCluster(acctA, "prod")
	// Names are case-sensitive, as in EKS: "Prod" is another cluster.
	upper := sampleCluster(acctA, "Prod")
	upper.Tags = nil
	dev := sampleCluster(acctA, "dev")
	other := sampleCluster(acctB, "prod")
	for _, c := range []store.Cluster{prod, upper, dev, other} {
		must(t, "PutCluster "+c.AccountID+"/"+c.Name, s.PutCluster(ctx, c))
	}
	for _, c := range []store.Cluster{prod, upper, dev, other} {
		got, err := s.GetCluster(ctx, c.AccountID, c.Name)
		must(t, "GetCluster "+c.Name, err)
		diff(t, "GetCluster "+c.AccountID+"/"+c.Name, got, c)
	}
	got, err := s.ListClusters(ctx, acctA)
	must(t, "ListClusters A", err)
	diff(t, "ListClusters A (by name, bytewise)", got, []store.Cluster{upper, dev, prod})

	// A second put replaces Issuer and Tags and keeps ARN and CreatedAt.
	again := prod
	again.Issuer = "https://oidc.example.com/rotated"
	again.Tags = []store.Tag{{Key: "only", Value: "one"}}
	again.ARN = "arn:aws:eks:eu-west-1:" + acctA + ":cluster/prod"
	again.CreatedAt = at(100)
	must(t, "PutCluster again", s.PutCluster(ctx, again))
	want := prod
	want.Issuer, want.Tags, want.Version = again.Issuer, again.Tags, 2
	gotProd, err := s.GetCluster(ctx, acctA, "prod")
	must(t, "GetCluster after the second put", err)
	diff(t, "GetCluster after the second put", gotProd, want)
	gotOther, err := s.GetCluster(ctx, acctB, "prod")
	must(t, "GetCluster B", err)
	diff(t, "GetCluster of the other account's cluster of the same name", gotOther, other)

	must(t, "DeleteCluster", s.DeleteCluster(ctx, acctA, "dev"))
	_, err = s.GetCluster(ctx, acctA, "dev")
	wantErr(t, "GetCluster after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteCluster twice", s.DeleteCluster(ctx, acctA, "dev"), store.ErrNotFound)
	wantErr(t, "DeleteCluster of another account", s.DeleteCluster(ctx, "333333333333", "prod"), store.ErrNotFound)
	got, err = s.ListClusters(ctx, acctA)
	must(t, "ListClusters A after delete", err)
	diff(t, "ListClusters A after delete", got, []store.Cluster{upper, want})
}

func testPodIdentityAssociations(t *testing.T, s store.Store) {
	ctx := t.Context()

	a1 := sampleAssociation(acctA, "prod", "a-aaaaaaaaaaaaaaaa1", "ns", "sa")
	wantErr(t, "CreatePodIdentityAssociation without the cluster", s.CreatePodIdentityAssociation(ctx, a1), store.ErrNotFound)

	for _, c := range []store.Cluster{sampleCluster(acctA, "prod"), sampleCluster(acctA, "dev"), sampleCluster(acctB, "prod")} {
		must(t, "PutCluster "+c.Name, s.PutCluster(ctx, c))
	}
	// An ID that sorts first, in a namespace that sorts last: the list is by
	// namespace, then service account, then ID.
	a2 := sampleAssociation(acctA, "prod", "a-0000000000000000z", "zz", "sa")
	// Empty optional fields come back empty.
	a3 := store.PodIdentityAssociation{AccountID: acctA, ClusterName: "prod", ID: "a-bbbbbbbbbbbbbbbb2",
		ARN:       "arn:aws:eks:us-east-1:" + acctA + ":podidentityassociation/prod/a-bbbbbbbbbbbbbbbb2",
		Namespace: "ns", ServiceAccount: "another", RoleARN: "arn:aws:iam::" + acctA + ":role/app", Version: 1}
	sameSAOtherCluster := sampleAssociation(acctA, "dev", "a-cccccccccccccccc3", "ns", "sa")
	otherAccount := sampleAssociation(acctB, "prod", "a-aaaaaaaaaaaaaaaa1", "ns", "sa")
	for _, a := range []store.PodIdentityAssociation{a1, a2, a3, sameSAOtherCluster, otherAccount} {
		must(t, "CreatePodIdentityAssociation "+a.ID, s.CreatePodIdentityAssociation(ctx, a))
	}

	dupID := sampleAssociation(acctA, "prod", a1.ID, "ns2", "sa2")
	wantErr(t, "CreatePodIdentityAssociation duplicate ID", s.CreatePodIdentityAssociation(ctx, dupID), store.ErrAlreadyExists)
	dupSA := sampleAssociation(acctA, "prod", "a-dddddddddddddddd4", "ns", "sa")
	wantErr(t, "CreatePodIdentityAssociation second for one ServiceAccount", s.CreatePodIdentityAssociation(ctx, dupSA), store.ErrAlreadyExists)

	for _, a := range []store.PodIdentityAssociation{a1, a2, a3, sameSAOtherCluster, otherAccount} {
		got, err := s.GetPodIdentityAssociation(ctx, a.AccountID, a.ClusterName, a.ID)
		must(t, "GetPodIdentityAssociation "+a.ID, err)
		diff(t, "GetPodIdentityAssociation "+a.AccountID+"/"+a.ClusterName+"/"+a.ID, got, a)
		found, err := s.FindPodIdentityAssociation(ctx, a.AccountID, a.ClusterName, a.Namespace, a.ServiceAccount)
		must(t, "FindPodIdentityAssociation "+a.ID, err)
		diff(t, "FindPodIdentityAssociation "+a.ID, found, a)
	}
	_, err := s.GetPodIdentityAssociation(ctx, acctA, "dev", a1.ID)
	wantErr(t, "GetPodIdentityAssociation in the wrong cluster", err, store.ErrNotFound)
	_, err = s.FindPodIdentityAssociation(ctx, acctA, "prod", "ns", "nobody")
	wantErr(t, "FindPodIdentityAssociation unknown service account", err, store.ErrNotFound)
	_, err = s.FindPodIdentityAssociation(ctx, acctA, "prod", "NS", "sa")
	wantErr(t, "FindPodIdentityAssociation is case-sensitive", err, store.ErrNotFound)

	got, err := s.ListPodIdentityAssociations(ctx, acctA, "prod")
	must(t, "ListPodIdentityAssociations", err)
	diff(t, "ListPodIdentityAssociations A/prod", got, []store.PodIdentityAssociation{a3, a1, a2})
	got, err = s.ListPodIdentityAssociations(ctx, acctB, "prod")
	must(t, "ListPodIdentityAssociations B", err)
	diff(t, "ListPodIdentityAssociations B/prod", got, []store.PodIdentityAssociation{otherAccount})
	got, err = s.ListPodIdentityAssociations(ctx, acctA, "nonexistent")
	must(t, "ListPodIdentityAssociations unknown cluster", err)
	if len(got) != 0 {
		t.Errorf("ListPodIdentityAssociations of an unknown cluster = %v, want none", got)
	}

	// Update.
	upd, err := s.UpdatePodIdentityAssociation(ctx, acctA, "prod", a1.ID, func(a *store.PodIdentityAssociation) error {
		a.RoleARN = "arn:aws:iam::" + acctA + ":role/other"
		a.TargetRoleARN, a.ExternalID, a.Policy = "", "", ""
		a.DisableSessionTags = false
		a.Tags = []store.Tag{}
		a.ModifiedAt = at(50)
		return nil
	})
	must(t, "UpdatePodIdentityAssociation", err)
	want := a1
	want.RoleARN = "arn:aws:iam::" + acctA + ":role/other"
	want.TargetRoleARN, want.ExternalID, want.Policy = "", "", ""
	want.DisableSessionTags = false
	want.Tags = nil
	want.ModifiedAt = at(50)
	want.Version = 2
	diff(t, "UpdatePodIdentityAssociation result", upd, want)
	got1, err := s.GetPodIdentityAssociation(ctx, acctA, "prod", a1.ID)
	must(t, "GetPodIdentityAssociation after update", err)
	diff(t, "GetPodIdentityAssociation after update", got1, want)

	// An fn that fails leaves the record alone and its error comes back.
	abort := errors.New("abort")
	_, err = s.UpdatePodIdentityAssociation(ctx, acctA, "prod", a1.ID, func(a *store.PodIdentityAssociation) error {
		a.RoleARN = "changed"
		return abort
	})
	if !errors.Is(err, abort) {
		t.Fatalf("UpdatePodIdentityAssociation with a failing fn: error %v, want %v", err, abort)
	}
	// The key, the ARN and the ServiceAccount cannot change.
	for name, change := range map[string]func(*store.PodIdentityAssociation){
		"AccountID":      func(a *store.PodIdentityAssociation) { a.AccountID = acctB },
		"ClusterName":    func(a *store.PodIdentityAssociation) { a.ClusterName = "dev" },
		"ID":             func(a *store.PodIdentityAssociation) { a.ID = "a-eeeeeeeeeeeeeeee5" },
		"ARN":            func(a *store.PodIdentityAssociation) { a.ARN += "x" },
		"Namespace":      func(a *store.PodIdentityAssociation) { a.Namespace = "elsewhere" },
		"ServiceAccount": func(a *store.PodIdentityAssociation) { a.ServiceAccount = "else" },
	} {
		_, err := s.UpdatePodIdentityAssociation(ctx, acctA, "prod", a1.ID, func(a *store.PodIdentityAssociation) error {
			change(a)
			return nil
		})
		wantPlainErr(t, "UpdatePodIdentityAssociation changing "+name, err)
	}
	got1, err = s.GetPodIdentityAssociation(ctx, acctA, "prod", a1.ID)
	must(t, "GetPodIdentityAssociation after refused updates", err)
	diff(t, "GetPodIdentityAssociation after refused updates", got1, want)
	_, err = s.UpdatePodIdentityAssociation(ctx, acctA, "prod", "a-ffffffffffffffff6", func(*store.PodIdentityAssociation) error { return nil })
	wantErr(t, "UpdatePodIdentityAssociation unknown", err, store.ErrNotFound)

	// Delete.
	must(t, "DeletePodIdentityAssociation", s.DeletePodIdentityAssociation(ctx, acctA, "prod", a2.ID))
	_, err = s.GetPodIdentityAssociation(ctx, acctA, "prod", a2.ID)
	wantErr(t, "GetPodIdentityAssociation after delete", err, store.ErrNotFound)
	wantErr(t, "DeletePodIdentityAssociation twice", s.DeletePodIdentityAssociation(ctx, acctA, "prod", a2.ID), store.ErrNotFound)
	// The ServiceAccount is free again.
	a2again := sampleAssociation(acctA, "prod", "a-gggggggggggggggg7", "zz", "sa")
	must(t, "CreatePodIdentityAssociation after delete", s.CreatePodIdentityAssociation(ctx, a2again))

	// Deleting a cluster deletes its associations, and only its own.
	must(t, "DeleteCluster prod", s.DeleteCluster(ctx, acctA, "prod"))
	_, err = s.GetPodIdentityAssociation(ctx, acctA, "prod", a1.ID)
	wantErr(t, "GetPodIdentityAssociation after its cluster was deleted", err, store.ErrNotFound)
	must(t, "PutCluster prod again", s.PutCluster(ctx, sampleCluster(acctA, "prod")))
	got, err = s.ListPodIdentityAssociations(ctx, acctA, "prod")
	must(t, "ListPodIdentityAssociations of the re-created cluster", err)
	if len(got) != 0 {
		t.Errorf("associations of a deleted cluster came back with its new namesake: %v", got)
	}
	kept, err := s.GetPodIdentityAssociation(ctx, acctA, "dev", sameSAOtherCluster.ID)
	must(t, "GetPodIdentityAssociation of another cluster", err)
	diff(t, "association of another cluster after a delete", kept, sameSAOtherCluster)
	kept, err = s.GetPodIdentityAssociation(ctx, acctB, "prod", otherAccount.ID)
	must(t, "GetPodIdentityAssociation of another account", err)
	diff(t, "association of another account after a delete", kept, otherAccount)
}

func testPodIdentityNoAliasing(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := sampleCluster(acctA, "alias")
	want := c
	want.Tags = []store.Tag{{Key: "team", Value: "é"}, {Key: "a", Value: ""}}
	must(t, "PutCluster", s.PutCluster(ctx, c))
	c.Tags[0].Value = "scribbled"
	gotC, err := s.GetCluster(ctx, acctA, "alias")
	must(t, "GetCluster", err)
	diff(t, "GetCluster after scribbling on the input", gotC, want)

	a := sampleAssociation(acctA, "alias", "a-aaaaaaaaaaaaaaaa1", "ns", "sa")
	wantA := sampleAssociation(acctA, "alias", "a-aaaaaaaaaaaaaaaa1", "ns", "sa")
	must(t, "CreatePodIdentityAssociation", s.CreatePodIdentityAssociation(ctx, a))
	a.Tags[0].Value = "scribbled"
	var kept *store.PodIdentityAssociation
	upd, err := s.UpdatePodIdentityAssociation(ctx, acctA, "alias", a.ID, func(p *store.PodIdentityAssociation) error {
		kept = p
		p.OwnerARN = "updated"
		return nil
	})
	must(t, "UpdatePodIdentityAssociation", err)
	wantA.OwnerARN, wantA.Version = "updated", 2
	kept.Tags[0].Value = "scribbled"
	diff(t, "UpdatePodIdentityAssociation result after scribbling on fn's record", upd, wantA)
	upd.Tags[0].Value = "scribbled"
	got, err := s.GetPodIdentityAssociation(ctx, acctA, "alias", a.ID)
	must(t, "GetPodIdentityAssociation", err)
	diff(t, "GetPodIdentityAssociation after scribbling", got, wantA)
}

func testConflictPodIdentityAssociation(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "PutCluster", s.PutCluster(ctx, sampleCluster(acctA, "raced")))
	a := sampleAssociation(acctA, "raced", "a-aaaaaaaaaaaaaaaa1", "ns", "sa")
	a.Tags = nil
	must(t, "CreatePodIdentityAssociation", s.CreatePodIdentityAssociation(ctx, a))

	raceUpdates(t, func(i int, seen func(int64)) error {
		_, err := s.UpdatePodIdentityAssociation(ctx, acctA, "raced", a.ID, func(p *store.PodIdentityAssociation) error {
			seen(p.Version)
			p.Tags = append(p.Tags, store.Tag{Key: "k" + strconv.Itoa(i), Value: "v"})
			return nil
		})
		return err
	})
	got, err := s.GetPodIdentityAssociation(ctx, acctA, "raced", a.ID)
	must(t, "GetPodIdentityAssociation", err)
	if got.Version != 3 {
		t.Errorf("Version after two updates = %d, want 3", got.Version)
	}
	keys := make([]string, 0, len(got.Tags))
	for _, tg := range got.Tags {
		keys = append(keys, tg.Key)
	}
	wantBoth(t, "tag keys", keys, "k0", "k1")
}

// testConcurrentPutCluster: replicas applying the same clusters at once
// all succeed, and every put counts.
func testConcurrentPutCluster(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() { errs <- s.PutCluster(ctx, sampleCluster(acctA, "shared")) }()
	}
	for range n {
		must(t, "concurrent PutCluster", <-errs)
	}
	got, err := s.GetCluster(ctx, acctA, "shared")
	must(t, "GetCluster", err)
	if got.Version != n {
		t.Errorf("Version after %d puts = %d, want %d", n, got.Version, n)
	}
}
