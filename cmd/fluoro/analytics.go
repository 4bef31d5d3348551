package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fluoro-dev/fluoro/internal/analytics"
)

const analyticsUsage = `Usage:
  fluoro analytics VERB [--since 1h] [--filter EXPR] [--limit N] [--top N] [--json] [--endpoint URL] [NAME=VALUE…]

VERB is one of latency, heatmap, compare, rootcauses, exceptions, sql, coldstarts, annotations
(see docs/analytics.md). NAME=VALUE pairs pass an endpoint's own parameters, e.g.
  fluoro analytics annotations key=memory_used_mb step=5m
  fluoro analytics heatmap node=orders
latency prints a table; the others print the JSON answer (as does --json).
`

func runAnalytics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, analyticsUsage)
		return errors.New("analytics needs a verb: latency, heatmap, compare, rootcauses, exceptions, sql, coldstarts or annotations")
	}
	verb := args[0]
	fs := flag.NewFlagSet("analytics "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	since := fs.Duration("since", time.Hour, "how far back to look")
	filter := fs.String("filter", "", "X-Ray filter expression")
	limit := fs.Int("limit", 0, "most traces analysed (0: the server's default, 10000)")
	top := fs.Int("top", 20, "rows per list (0: all)")
	raw := fs.Bool("json", false, "print the JSON answer")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	q := url.Values{"since": {since.String()}, "top": {strconv.Itoa(*top)}}
	if *filter != "" {
		q.Set("filter", *filter)
	}
	if *limit > 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	for _, kv := range fs.Args() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("argument %q is not NAME=VALUE", kv)
		}
		q.Set(k, v)
	}
	u := strings.TrimRight(*endpoint, "/") + analytics.Prefix + url.PathEscape(verb) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", analytics.Prefix+verb, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("call %s: %w", analytics.Prefix+verb, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e analytics.ErrorBody
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("call %s: %s", analytics.Prefix+verb, resp.Status)
	}
	if verb != "latency" || *raw {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		out, _ := json.MarshalIndent(v, "", "  ")
		_, err := fmt.Fprintf(stdout, "%s\n", out)
		return err
	}
	var r analytics.LatencyResult
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	return printLatency(stdout, r)
}

func printLatency(w io.Writer, r analytics.LatencyResult) error {
	cov := fmt.Sprintf("%d traces", r.Traces.Analyzed)
	if r.Traces.Sampled {
		cov = fmt.Sprintf("%d of %d traces, sampled evenly", r.Traces.Analyzed, r.Traces.Matched)
	}
	fmt.Fprintf(w, "Response times over %s (p50 p90 p99 p99.9; faults, errors, throttles)\n\n", cov)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(name string, s analytics.Stats) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", name, s.Count, fmtSeconds(s.P50), fmtSeconds(s.P90),
			fmtSeconds(s.P99), fmtSeconds(s.P999), s.Faults, s.Errors, s.Throttles)
	}
	svc := func(s analytics.Service) string {
		if s.Type == "" {
			return s.Name
		}
		return s.Name + " (" + s.Type + ")"
	}
	fmt.Fprintln(tw, "NODE\tCOUNT\tP50\tP90\tP99\tP99.9\tFAULTS\tERRORS\tTHROTTLES")
	for _, n := range r.Nodes {
		row(svc(n.Service), n.Stats)
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t")
	fmt.Fprintln(tw, "EDGE\tCOUNT\tP50\tP90\tP99\tP99.9\tFAULTS\tERRORS\tTHROTTLES")
	for _, e := range r.Edges {
		row(e.From.Name+" → "+e.To.Name, e.Stats)
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t")
	fmt.Fprintln(tw, "URL\tCOUNT\tP50\tP90\tP99\tP99.9\tFAULTS\tERRORS\tTHROTTLES")
	for _, u := range r.URLs {
		row(strings.TrimSpace(u.Method+" "+u.URL), u.Stats)
	}
	return tw.Flush()
}
