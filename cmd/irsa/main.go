package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/irsa-dev/irsa/internal/cli"
)

// version is stamped at build time with
// -ldflags "-X main.version=v1.2.3"; see the Makefile.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{
		Args:    os.Args[1:],
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Version: version,
		Getenv:  os.Getenv,
	})
	stop()
	os.Exit(code)
}
