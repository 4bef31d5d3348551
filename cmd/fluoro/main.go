// Command fluoro is Fluoro's single binary: the server, the demo load
// generator and the command-line client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is the release; builds may override it with
// -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `fluoro — a self-hosted distributed tracing system, compatible with AWS X-Ray.

Usage:
  fluoro server [flags]          run the server on the embedded store
  fluoro daemon [flags]          relay X-Ray SDK segments to a server (a drop-in for the X-Ray daemon)
  fluoro demo [flags]            send a realistic demo topology over UDP (also the load generator)
  fluoro traces list [flags]     list trace summaries (GetTraceSummaries)
  fluoro traces get ID [flags]   draw a trace's timeline (BatchGetTraces)
  fluoro analytics VERB [flags]  latency percentiles, root causes, exceptions, SQL… (docs/analytics.md)
  fluoro map [--since 1h]        print the service map: nodes, edges, rates, errors, p99 (GetServiceGraph)
  fluoro sampling boost|boosts|unboost   temporary tail-sampling rate boosts
  fluoro deploy mark|list|gate|delete    deployment markers and their CI/CD gate (docs/deployments.md)
  fluoro alerts list             alert rules with their state and last value (docs/alerts.md)
  fluoro version                 print the version
  fluoro help                    print this help

Run "fluoro COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	var coded *exitError // a gate's verdict: 1 fail, 2 insufficient data
	if errors.As(err, &coded) {
		fmt.Fprintln(os.Stderr, "fluoro:", err)
		os.Exit(coded.ExitCode())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fluoro:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "server":
		return runServer(ctx, rest, stdout, stderr)
	case "daemon":
		return runDaemon(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "traces":
		return runTraces(ctx, rest, stdout, stderr)
	case "analytics":
		return runAnalytics(ctx, rest, stdout, stderr)
	case "map":
		return runMap(ctx, rest, stdout, stderr)
	case "sampling":
		return runSampling(ctx, rest, stdout, stderr)
	case "deploy":
		return runDeploy(ctx, rest, stdout, stderr)
	case "alerts":
		return runAlerts(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "fluoro", version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
