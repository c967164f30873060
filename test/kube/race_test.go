//go:build linux && race

package kube

// Under the race detector irsa is built with it too: the API server's
// concurrent admission calls then check `irsa webhook` and `irsa up` for
// data races, which proc.stop reports.
func init() { irsaBuildFlags = append(irsaBuildFlags, "-race") }
