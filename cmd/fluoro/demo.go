package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/fluoro-dev/fluoro/internal/demo"
)

// runDemo sends the demo topology over UDP until interrupted, or for
// --duration or --traces, and prints a one-line summary.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage:\n  fluoro demo [--udp ADDR] [--rate N] [--duration D] [--traces N] [--span-bytes N] [--seed N]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var cfg demo.Config
	fs.StringVar(&cfg.Addr, "udp", demo.DefaultAddr, "X-Ray daemon UDP address to send to")
	fs.Float64Var(&cfg.Rate, "rate", 200, "documents per second (0 = as fast as possible)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (0 = until interrupted)")
	fs.IntVar(&cfg.Traces, "traces", 0, "stop after this many traces (0 = no limit)")
	fs.IntVar(&cfg.SpanBytes, "span-bytes", 0, fmt.Sprintf("pad each span to about this many bytes of JSON (0 = natural, ~300; at most %d)", demo.MaxSpanBytes))
	fs.Int64Var(&cfg.Seed, "seed", 0, "random seed (0 = from the clock)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano()
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	rate := "as fast as possible"
	if cfg.Rate > 0 {
		rate = fmt.Sprintf("at %g documents/s", cfg.Rate)
	}
	fmt.Fprintf(stderr, "sending demo traces to udp://%s %s (seed %d); Ctrl-C to stop\n", cfg.Addr, rate, cfg.Seed)
	st, err := demo.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	perSec := 0.0
	if s := st.Elapsed.Seconds(); s > 0 {
		perSec = float64(st.Documents) / s
	}
	elapsed := st.Elapsed.Round(time.Millisecond)
	if st.Elapsed < time.Second {
		elapsed = st.Elapsed.Round(time.Microsecond)
	}
	fmt.Fprintf(stdout, "sent %d traces, %d documents, %d spans, %d bytes in %v (%.0f documents/s), %d send errors\n",
		st.Traces, st.Documents, st.Spans, st.Bytes, elapsed, perSec, st.SendErrors)
	if st.SendErrors > 0 {
		fmt.Fprintf(stderr, "warning: %d sends failed; is a Fluoro server or X-Ray daemon listening on udp://%s?\n", st.SendErrors, cfg.Addr)
	}
	return nil
}
