//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

// quickstartCluster is the EKS Pod Identity cluster examples/quickstart.yaml
// declares: its service-account issuer is irsa's built-in one.
const quickstartCluster = "quickstart"

// builtinIssuer is the built-in issuer's URL of a server.
func builtinIssuer(t *testing.T, srv *server) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(srv.DataDir, "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Present since the first start: this reads it.
	u, err := st.PutSettingIfAbsent(ctx, "issuer.url", "")
	if err != nil || u == "" {
		t.Fatalf("issuer.url = %q, %v", u, err)
	}
	return u
}

// cliAssociation is an association as `aws eks` prints it.
type cliAssociation struct {
	ClusterName, Namespace, ServiceAccount, RoleArn, AssociationArn, AssociationID string
	Tags                                                                           map[string]string
	DisableSessionTags                                                             bool
	// The CLI prints rest-json timestamps as they came: epoch seconds.
	CreatedAt, ModifiedAt float64
}

// TestEKSPodIdentityWithTheAWSCLI drives the EKS association API and EKS
// Auth's AssumeRoleForPodIdentity of the real binary with the AWS CLI
// (`aws eks …`, `aws eks-auth …`), then uses the issued credentials.
func TestEKSPodIdentityWithTheAWSCLI(t *testing.T) {
	requireAWSCLI(t)
	srv := startServer(t, serverOptions{})
	issuerURL := builtinIssuer(t, srv)
	clusterARN := "arn:aws:eks:us-east-1:" + accountID + ":cluster/" + quickstartCluster
	env := rootEnv(t, srv)
	dir := t.TempDir()

	// run runs the AWS CLI and decodes its JSON output into out; a
	// command that fails is fatal.
	run := func(out any, args ...string) {
		t.Helper()
		stdout, stderr, code := runProcess(t, "", env, "aws", append(args, "--output", "json")...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d\n%s%s", shownArgs(args), code, stdout, stderr)
		}
		if out != nil {
			if err := json.Unmarshal([]byte(stdout), out); err != nil {
				t.Fatalf("aws %s printed %q: %v", args[0], stdout, err)
			}
		}
	}
	// fail runs a command that must fail with code.
	fail := func(code string, args ...string) {
		t.Helper()
		stdout, stderr, exit := runProcess(t, "", env, "aws", append(args, "--output", "json")...)
		if exit == 0 || !strings.Contains(stderr, "("+code+")") {
			t.Fatalf("aws %s: exit %d, want a %s failure\n%s%s", shownArgs(args), exit, code, stdout, stderr)
		}
	}

	trust := filepath.Join(dir, "trust.json")
	if err := os.WriteFile(trust, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},`+
		`"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:RequestTag/eks-cluster-name":"quickstart"}}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var role struct{ Role struct{ Arn string } }
	run(&role, "iam", "create-role", "--role-name", "pod-app", "--assume-role-policy-document", "file://"+trust)

	var created struct{ Association cliAssociation }
	run(&created, "eks", "create-pod-identity-association", "--cluster-name", quickstartCluster, "--namespace", "team-a",
		"--service-account", "app", "--role-arn", role.Role.Arn, "--tags", "owner=team-a")
	a := created.Association
	assocARN := "arn:aws:eks:us-east-1:" + accountID + ":podidentityassociation/" + quickstartCluster + "/" + a.AssociationID
	if !strings.HasPrefix(a.AssociationID, "a-") || a.AssociationArn != assocARN || a.ClusterName != quickstartCluster || a.Namespace != "team-a" ||
		a.ServiceAccount != "app" || a.RoleArn != role.Role.Arn || a.Tags["owner"] != "team-a" || a.DisableSessionTags || a.CreatedAt < 1e9 || a.ModifiedAt < a.CreatedAt {
		t.Fatalf("created %+v", a)
	}

	var described struct{ Association cliAssociation }
	run(&described, "eks", "describe-pod-identity-association", "--cluster-name", quickstartCluster, "--association-id", a.AssociationID)
	if diff := cmp.Diff(a, described.Association); diff != "" {
		t.Errorf("described (-created +described):\n%s", diff)
	}

	var listed struct {
		Associations []struct{ Namespace, ServiceAccount, AssociationArn string }
	}
	run(&listed, "eks", "list-pod-identity-associations", "--cluster-name", quickstartCluster, "--namespace", "team-a")
	if len(listed.Associations) != 1 || listed.Associations[0].AssociationArn != assocARN {
		t.Errorf("listed %+v", listed.Associations)
	}

	var updated struct{ Association cliAssociation }
	run(&updated, "eks", "update-pod-identity-association", "--cluster-name", quickstartCluster, "--association-id", a.AssociationID, "--disable-session-tags")
	if !updated.Association.DisableSessionTags {
		t.Errorf("updated %+v", updated.Association)
	}
	run(nil, "eks", "update-pod-identity-association", "--cluster-name", quickstartCluster, "--association-id", a.AssociationID, "--no-disable-session-tags")

	run(nil, "eks", "tag-resource", "--resource-arn", assocARN, "--tags", "env=dev,tier=web")
	run(nil, "eks", "untag-resource", "--resource-arn", assocARN, "--tag-keys", "tier")
	var tags struct{ Tags map[string]string }
	run(&tags, "eks", "list-tags-for-resource", "--resource-arn", assocARN)
	if diff := cmp.Diff(map[string]string{"owner": "team-a", "env": "dev"}, tags.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	var cluster struct {
		Cluster struct {
			Name, Arn, Status string
			Identity          struct{ Oidc struct{ Issuer string } }
		}
	}
	run(&cluster, "eks", "describe-cluster", "--name", quickstartCluster)
	if cluster.Cluster.Name != quickstartCluster || cluster.Cluster.Arn != clusterARN || cluster.Cluster.Status != "ACTIVE" || cluster.Cluster.Identity.Oidc.Issuer != issuerURL {
		t.Errorf("cluster %+v", cluster.Cluster)
	}
	var clusters struct{ Clusters []string }
	run(&clusters, "eks", "list-clusters")
	if diff := cmp.Diff([]string{quickstartCluster}, clusters.Clusters); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}

	fail("ResourceNotFoundException", "eks", "describe-pod-identity-association", "--cluster-name", quickstartCluster, "--association-id", "a-00000000000000000")
	fail("ResourceNotFoundException", "eks", "describe-cluster", "--name", "nope")
	fail("ResourceInUseException", "eks", "create-pod-identity-association", "--cluster-name", quickstartCluster, "--namespace", "team-a",
		"--service-account", "app", "--role-arn", role.Role.Arn)
	fail("InvalidParameterException", "eks", "create-pod-identity-association", "--cluster-name", quickstartCluster, "--namespace", "Not_A_Name",
		"--service-account", "app", "--role-arn", role.Role.Arn)

	// EKS Auth, as the node agent calls it.
	tokenFile := srv.token(t, dir, "pod-token", "--namespace", "team-a", "--service-account", "app",
		"--audience", "pods.eks.amazonaws.com", "--pod", "web-5d8f7-abcde", "--node", "node-1")
	tok := readToken(t, tokenFile)
	var assumed struct {
		Subject                struct{ Namespace, ServiceAccount string }
		Audience               string
		PodIdentityAssociation struct{ AssociationArn, AssociationID string }
		AssumedRoleUser        struct{ Arn, AssumeRoleID string }
		Credentials            struct {
			SessionToken, SecretAccessKey, AccessKeyID string
			Expiration                                 float64
		}
	}
	run(&assumed, "eks-auth", "assume-role-for-pod-identity", "--cluster-name", quickstartCluster, "--token", tok)
	c := assumed.Credentials
	srv.Secrets.Add(c.SecretAccessKey, "pod identity secret access key")
	srv.Secrets.Add(c.SessionToken, "pod identity session token")
	if assumed.Subject.Namespace != "team-a" || assumed.Subject.ServiceAccount != "app" || assumed.Audience != "pods.eks.amazonaws.com" ||
		assumed.PodIdentityAssociation.AssociationArn != assocARN || assumed.PodIdentityAssociation.AssociationID != a.AssociationID ||
		!validPodSession(assumed.AssumedRoleUser.Arn, "pod-app", "eks-quickstart-web-5d8f7-abcde") ||
		!strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SecretAccessKey == "" || c.SessionToken == "" || time.Unix(int64(c.Expiration), 0).Before(time.Now()) {
		// The credentials stay out of the message.
		t.Fatalf("assume-role-for-pod-identity answered subject %+v, audience %q, association %+v, user %+v, key %q, expiration %v",
			assumed.Subject, assumed.Audience, assumed.PodIdentityAssociation, assumed.AssumedRoleUser, c.AccessKeyID, c.Expiration)
	}

	// The pod's credentials work.
	podEnv := clientEnv(t, "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey, "AWS_SESSION_TOKEN="+c.SessionToken,
		"AWS_ENDPOINT_URL="+srv.URL, "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1")
	stdout, stderr, code := runProcess(t, "", podEnv, "aws", "sts", "get-caller-identity", "--output", "json")
	if code != 0 {
		t.Fatalf("aws sts get-caller-identity with the pod's credentials: exit %d\n%s%s", code, stdout, stderr)
	}
	var who struct{ Arn string }
	if err := json.Unmarshal([]byte(stdout), &who); err != nil || who.Arn != assumed.AssumedRoleUser.Arn {
		t.Errorf("get-caller-identity %s, want %s (%v)", stdout, assumed.AssumedRoleUser.Arn, err)
	}

	// The association examples/quickstart.yaml declares.
	declaredFile := srv.token(t, dir, "declared-token", "--namespace", "production", "--service-account", "s3-reader",
		"--audience", "pods.eks.amazonaws.com", "--pod", "reports-0")
	var declared struct {
		AssumedRoleUser struct{ Arn string }
		Credentials     struct{ SecretAccessKey, SessionToken string }
	}
	run(&declared, "eks-auth", "assume-role-for-pod-identity", "--cluster-name", quickstartCluster, "--token", readToken(t, declaredFile))
	srv.Secrets.Add(declared.Credentials.SecretAccessKey, "declared association's secret access key")
	srv.Secrets.Add(declared.Credentials.SessionToken, "declared association's session token")
	if !validPodSession(declared.AssumedRoleUser.Arn, "s3-reader-pod-identity", "eks-quickstart-reports-0") {
		t.Errorf("the declared association's session is %s", declared.AssumedRoleUser.Arn)
	}

	// Refusals of EKS Auth.
	stsTokenFile := srv.token(t, dir, "sts-token", "--namespace", "team-a", "--service-account", "app", "--pod", "web-5d8f7-abcde")
	fail("InvalidTokenException", "eks-auth", "assume-role-for-pod-identity", "--cluster-name", quickstartCluster, "--token", readToken(t, stsTokenFile))
	fail("ResourceNotFoundException", "eks-auth", "assume-role-for-pod-identity", "--cluster-name", "nope", "--token", tok)

	var deleted struct{ Association cliAssociation }
	run(&deleted, "eks", "delete-pod-identity-association", "--cluster-name", quickstartCluster, "--association-id", a.AssociationID)
	if deleted.Association.AssociationID != a.AssociationID {
		t.Errorf("deleted %+v", deleted.Association)
	}
	// No association for the service account any more.
	fail("AccessDeniedException", "eks-auth", "assume-role-for-pod-identity", "--cluster-name", quickstartCluster, "--token", tok)
}

// shownArgs is a command line for a failure message, without the token.
func shownArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if i > 0 && args[i-1] == "--token" {
			out[i] = "<token>"
		}
	}
	return strings.Join(out, " ")
}

// validPodSession reports whether arn is a session of role named as EKS
// names it: eks-CLUSTER-POD-UUID, the eks-CLUSTER-POD part cut so that the
// name fits STS's 64 characters.
func validPodSession(arn, role, prefix string) bool {
	name, ok := strings.CutPrefix(arn, "arn:aws:sts::"+accountID+":assumed-role/"+role+"/")
	if !ok || len(name) > 64 || len(name) < 37 {
		return false
	}
	head, uuid := name[:len(name)-37], name[len(name)-36:]
	return name[len(name)-37] == '-' && strings.HasPrefix(prefix, head) && len(head) >= 4 && strings.Count(uuid, "-") == 4
}
