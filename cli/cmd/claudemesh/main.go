// Command claudemesh is the claudemesh CLI, MCP server and broker.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"claudemesh.dev/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
