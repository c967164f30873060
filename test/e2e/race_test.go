//go:build unix && race

package e2e

// Under the race detector the server is built with it too: the clients'
// concurrent requests then check irsa for data races, which server.stop
// reports.
func init() { irsaBuildFlags = append(irsaBuildFlags, "-race") }
