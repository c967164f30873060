// Package kube proves irsa end to end against a real Kubernetes control
// plane: etcd and kube-apiserver started by the tests, the real `irsa up`
// and `irsa webhook` binaries, a MutatingWebhookConfiguration the API
// server calls over TLS, tokens the cluster signs exchanged through
// aws-sdk-go-v2, the Helm chart's manifests accepted by the API server, and
// every command of docs/kubernetes.md.
//
// The control plane binaries come from scripts/kube-control-plane.sh (built
// once into ~/.cache/irsa); kubectl is the google-cloud-cli one. The
// package has only tests; they fail, never skip, when something they need
// is missing.
package kube
