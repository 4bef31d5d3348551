package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fluoro-dev/fluoro/internal/deploy"
)

const deployUsage = `Usage:
  fluoro deploy mark --service S --version V [--env E] [--commit C] [--url U] [--description D] [--author A] [--time T] [--id ID]
  fluoro deploy list [--service S] [--env E] [--since 7d] [--limit 50]
  fluoro deploy gate ID [--window 15m] [--wait] [--min-requests N] [--max-fault-rate-increase R] …
  fluoro deploy delete ID

mark records a deployment marker and prints its id. gate compares the
service's traffic in equal windows before and after the marker and prints
the comparison; it exits 0 on pass, 1 on fail and 2 on insufficient data
(any other error exits 1). See docs/deployments.md.
`

func runDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, deployUsage)
		return errors.New("deploy needs a verb: mark, list, gate or delete")
	}
	switch args[0] {
	case "mark":
		return deployMark(ctx, args[1:], stdout, stderr)
	case "list":
		return deployList(ctx, args[1:], stdout, stderr)
	case "gate":
		return deployGate(ctx, args[1:], stdout, stderr)
	case "delete":
		return deployDelete(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, deployUsage)
	return fmt.Errorf("unknown deploy verb %q", args[0])
}

// exitError is an error that sets the process's exit status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// ExitCode is the status main exits with.
func (e *exitError) ExitCode() int { return e.code }

// apiCall calls Fluoro's /api/deployments, whose errors are {"message"}.
func apiCall(ctx context.Context, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("call %s: %w", u, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Message string }
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Message)
		}
		return fmt.Errorf("call %s: %s: %s", u, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return json.Unmarshal(b, out)
}

// idArg takes a leading positional id off args.
func idArg(verb string, args []string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, fmt.Errorf("deploy %s needs a deployment id (see fluoro deploy list)", verb)
	}
	return args[0], args[1:], nil
}

func deployMark(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("deploy mark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	in := map[string]*string{
		"service":     fs.String("service", "", "the deployed service, as its segments name it (required)"),
		"version":     fs.String("version", "", "the version rolled out (required)"),
		"environment": fs.String("env", "", "the environment (production, staging…)"),
		"commit":      fs.String("commit", "", "the commit deployed"),
		"url":         fs.String("url", "", "a link to the pipeline run or release (http or https)"),
		"description": fs.String("description", "", "what changed"),
		"author":      fs.String("author", "", "who deployed"),
		"time":        fs.String("time", "", "when the rollout finished, RFC 3339 (default: now)"),
		"id":          fs.String("id", "", "the marker's id (default: made from service and version)"),
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("deploy mark takes only flags, got %q", fs.Args())
	}
	if *in["service"] == "" || *in["version"] == "" {
		return errors.New("deploy mark needs --service and --version")
	}
	body := map[string]string{}
	for k, v := range in {
		if *v != "" {
			body[k] = *v
		}
	}
	var d deploy.Deployment
	if err := apiCall(ctx, http.MethodPost, *endpoint+deploy.Path, body, &d); err != nil {
		return err
	}
	fmt.Fprintln(stdout, d.ID)
	return nil
}

func deployList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("deploy list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	service := fs.String("service", "", "only this service's markers")
	env := fs.String("env", "", "only this environment's markers")
	since := fs.Duration("since", 7*24*time.Hour, "how far back to look")
	limit := fs.Int("limit", 50, "most markers shown (up to 1000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *since <= 0 {
		return errors.New("--since must be positive")
	}
	q := url.Values{"from": {time.Now().Add(-*since).UTC().Format(time.RFC3339)}, "limit": {fmt.Sprint(*limit)}}
	if *service != "" {
		q.Set("service", *service)
	}
	if *env != "" {
		q.Set("environment", *env)
	}
	var out struct {
		Deployments []deploy.Deployment
		More        bool
	}
	if err := apiCall(ctx, http.MethodGet, *endpoint+deploy.Path+"?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if len(out.Deployments) == 0 {
		fmt.Fprintf(stdout, "no deployments in the last %v\n", *since)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tSERVICE\tVERSION\tENV\tCOMMIT\tDESCRIPTION")
	for _, d := range out.Deployments {
		desc, _, _ := strings.Cut(d.Description, "\n")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Time.Local().Format(time.DateTime), d.Service, d.Version,
			dash(d.Environment), dash(short(d.Commit, 12)), dash(short(desc, 60)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if out.More {
		fmt.Fprintf(stdout, "(more than %d; narrow with --service, --since or raise --limit)\n", len(out.Deployments))
	}
	return nil
}

func short(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func deployDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	id, rest, err := idArg("delete", args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("deploy delete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if err := apiCall(ctx, http.MethodDelete, *endpoint+deploy.Path+"/"+url.PathEscape(id), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deployment %s deleted\n", id)
	return nil
}

// gatePoll is how often `deploy gate --wait` asks again once the server
// says the after window should be complete.
const gatePoll = 2 * time.Second

func deployGate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	id, rest, err := idArg("gate", args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("deploy gate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	def := deploy.DefaultThresholds()
	fs.Duration("window", def.Window, "length of each window, before and after the marker (1m to 24h)")
	fs.Int64("min-requests", def.MinRequests, "fewest requests each window needs for a verdict")
	fs.Float64("max-fault-rate-increase", def.MaxFaultRateIncrease, "how much the fault rate may rise (absolute: 0.01 is one point)")
	fs.Float64("max-error-rate-increase", def.MaxErrorRateIncrease, "how much the error rate may rise (absolute)")
	fs.Float64("max-p50-increase", def.MaxP50Increase, "how much p50 may rise (relative: 0.5 is 50%)")
	fs.Float64("max-p99-increase", def.MaxP99Increase, "how much p99 may rise (relative)")
	fs.Duration("latency-slack", def.LatencySlack, "a rise of p50 or p99 always tolerated")
	wait := fs.Bool("wait", false, "wait until the after window has ended (and its traces arrived), then judge")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("deploy gate takes one id, got also %q", fs.Args())
	}
	// Only the thresholds given are sent: the server applies its defaults.
	q := url.Values{}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "wait" && f.Name != "endpoint" {
			q.Set(strings.ReplaceAll(f.Name, "-", "_"), f.Value.String())
		}
	})
	u := *endpoint + deploy.Path + "/" + url.PathEscape(id) + "/gate?" + q.Encode()
	var r deploy.Result
	told := false
	for {
		r = deploy.Result{}
		if err := apiCall(ctx, http.MethodGet, u, nil, &r); err != nil {
			return err
		}
		if r.Complete || !*wait {
			break
		}
		pause := min(max(time.Duration(r.ReadyIn*float64(time.Second)), gatePoll), time.Minute)
		if !told {
			fmt.Fprintf(stderr, "waiting for the after window to end at %s (%v)…\n", r.ReadyAt.Local().Format(time.TimeOnly),
				time.Duration(r.ReadyIn*float64(time.Second)))
			told = true
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	printGate(stdout, &r)
	switch r.Verdict {
	case deploy.Pass:
		return nil
	case deploy.Fail:
		return &exitError{code: 1, msg: "gate failed: " + strings.Join(r.Failed, ", ")}
	case deploy.InsufficientData:
		return &exitError{code: 2, msg: "gate: insufficient data"}
	}
	return fmt.Errorf("gate: unknown verdict %q", r.Verdict)
}

// printGate prints a gate's comparison table and verdict.
func printGate(w io.Writer, r *deploy.Result) {
	d := r.Deployment
	env := ""
	if d.Environment != "" {
		env = " (" + d.Environment + ")"
	}
	hm := func(t time.Time) string { return t.Local().Format("15:04") }
	fmt.Fprintf(w, "deployment %s: %s %s%s at %s\n", d.ID, d.Service, d.Version, env, d.Time.Local().Format(time.DateTime))
	fmt.Fprintf(w, "before %s–%s, after %s–%s (window %v)\n\n", hm(r.Before.Start), hm(r.Before.End), hm(r.After.Start),
		hm(r.After.End), r.Thresholds.Window)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tBEFORE\tAFTER\tLIMIT\tRESULT")
	for _, c := range r.Checks {
		var b, a, l string
		switch c.Name {
		case "requests":
			b, a, l = fmt.Sprint(int64(c.Before)), fmt.Sprint(int64(c.After)), fmt.Sprintf("≥ %d", int64(c.Limit))
		case "fault_rate", "error_rate":
			p := func(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }
			b, a, l = p(c.Before), p(c.After), "≤ "+p(c.Limit)
		default:
			s := func(v float64) string {
				return time.Duration(v * float64(time.Second)).Round(100 * time.Microsecond).String()
			}
			b, a, l = s(c.Before), s(c.After), "≤ "+s(c.Limit)
		}
		res := c.Status
		if res == deploy.CheckFail {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.ReplaceAll(c.Name, "_", " "), b, a, l, res)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nverdict: %s\n", r.Summary)
}
