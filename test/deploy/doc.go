// Package deploy owns the checks of irsa's deployment files: the Helm chart
// under deploy/helm/irsa passes `helm lint --strict` with each certificate
// mode, renders objects that decode strictly into the Kubernetes API types
// and agree with each other (Services, ports, Secrets, the webhook's CA
// bundle and serving certificate, the STS endpoint injected into pods), and
// deploy/manifests/irsa.yaml is byte for byte what
// scripts/render-manifests.sh renders now.
//
// helm comes from scripts/helm.sh, which builds it once from the Go module
// proxy into ~/.cache/irsa (never into irsa's go.mod). When it cannot be
// had the tests fail; they never skip. `go test ./test/deploy -update`
// rewrites deploy/manifests/irsa.yaml.
package deploy
