package eksapi

import (
	"net/url"
	"strings"

	"github.com/irsa-dev/irsa/internal/awserr"
)

// Services, as named by the SigV4 credential scope.
const (
	ServiceEKS     = "eks"
	ServiceEKSAuth = "eks-auth"
)

// Actions.
const (
	CreatePodIdentityAssociation   = "CreatePodIdentityAssociation"
	DescribePodIdentityAssociation = "DescribePodIdentityAssociation"
	ListPodIdentityAssociations    = "ListPodIdentityAssociations"
	UpdatePodIdentityAssociation   = "UpdatePodIdentityAssociation"
	DeletePodIdentityAssociation   = "DeletePodIdentityAssociation"
	DescribeCluster                = "DescribeCluster"
	ListClusters                   = "ListClusters"
	TagResource                    = "TagResource"
	UntagResource                  = "UntagResource"
	ListTagsForResource            = "ListTagsForResource"
	AssumeRoleForPodIdentity       = "AssumeRoleForPodIdentity"
)

// UnknownOperationException is the answer to a method and path that name
// no action.
const UnknownOperationException = "UnknownOperationException"

// Request is one REST JSON request, matched to its action.
type Request struct {
	Service string // ServiceEKS or ServiceEKSAuth
	Action  string
	// Labels are the path members by their model names (clusterName,
	// name, associationId, resourceArn), unescaped.
	Labels map[string]string
	Query  url.Values
	Body   []byte
}

// route is one row of the routing table: a method and a path template
// whose {label} segments bind members.
type route struct {
	method, path    string
	service, action string
}

// routes are the paths of the service models (eks 2017-11-01, eks-auth
// 2023-11-26). The model's {name} of cluster-scoped association paths is
// the member clusterName.
var routes = []route{
	{"POST", "/clusters/{clusterName}/assume-role-for-pod-identity", ServiceEKSAuth, AssumeRoleForPodIdentity},
	{"POST", "/clusters/{clusterName}/pod-identity-associations", ServiceEKS, CreatePodIdentityAssociation},
	{"GET", "/clusters/{clusterName}/pod-identity-associations", ServiceEKS, ListPodIdentityAssociations},
	{"GET", "/clusters/{clusterName}/pod-identity-associations/{associationId}", ServiceEKS, DescribePodIdentityAssociation},
	{"POST", "/clusters/{clusterName}/pod-identity-associations/{associationId}", ServiceEKS, UpdatePodIdentityAssociation},
	{"DELETE", "/clusters/{clusterName}/pod-identity-associations/{associationId}", ServiceEKS, DeletePodIdentityAssociation},
	{"GET", "/clusters/{name}", ServiceEKS, DescribeCluster},
	{"GET", "/clusters", ServiceEKS, ListClusters},
	{"POST", "/tags/{resourceArn}", ServiceEKS, TagResource},
	{"DELETE", "/tags/{resourceArn}", ServiceEKS, UntagResource},
	{"GET", "/tags/{resourceArn}", ServiceEKS, ListTagsForResource},
}

// Prefixes are the path prefixes this package serves, for the app's mux.
func Prefixes() []string { return []string{"/clusters", "/clusters/", "/tags", "/tags/"} }

// Match finds the action of a method and an escaped path (the URL's
// EscapedPath, so that an ARN's %2F stays inside its segment). The query
// and the body are kept for the action. An unknown method or path is
// UnknownOperationException (404).
func Match(method string, u *url.URL, body []byte) (*Request, error) {
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for _, rt := range routes {
		if rt.method != method {
			continue
		}
		labels, ok := matchPath(rt.path, segs)
		if !ok {
			continue
		}
		return &Request{Service: rt.service, Action: rt.action, Labels: labels, Query: u.Query(), Body: body}, nil
	}
	return nil, awserr.New(UnknownOperationException, "No operation matches "+method+" "+pathForMessage(u)).WithStatus(404)
}

// ServiceOf is the service that owns a path, whatever its method: the one
// whose routes share its shape. It names the audit event's source of a
// request that matched no action.
func ServiceOf(u *url.URL) string {
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	if len(segs) == 3 && segs[0] == "clusters" && segs[2] == "assume-role-for-pod-identity" {
		return ServiceEKSAuth
	}
	return ServiceEKS
}

func matchPath(tmpl string, segs []string) (map[string]string, bool) {
	parts := strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
	if len(parts) != len(segs) {
		return nil, false
	}
	var labels map[string]string
	for i, p := range parts {
		if strings.HasPrefix(p, "{") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			if labels == nil {
				labels = map[string]string{}
			}
			labels[p[1:len(p)-1]] = v
			continue
		}
		if segs[i] != p {
			return nil, false
		}
	}
	return labels, true
}

// pathForMessage bounds what of a path goes back in a message.
func pathForMessage(u *url.URL) string {
	p := u.EscapedPath()
	if len(p) > 200 {
		p = p[:200] + "…"
	}
	return p
}
