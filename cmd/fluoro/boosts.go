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
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fluoro-dev/fluoro/internal/tailsample"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

const samplingUsage = `Usage:
  fluoro sampling boost --rate R --for DURATION [--service PATTERN] [--reason TEXT] [--endpoint URL]
  fluoro sampling boosts [--endpoint URL]
  fluoro sampling unboost ID [--endpoint URL]

A boost raises the tail sampler's rate for successful traces (optionally only
those through services matching PATTERN, with * and ?) until it expires.
`

func runSampling(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, samplingUsage)
		return errors.New("sampling needs a verb: boost, boosts or unboost")
	}
	switch args[0] {
	case "boost":
		return samplingBoost(ctx, args[1:], stdout, stderr)
	case "boosts":
		return samplingBoosts(ctx, args[1:], stdout, stderr)
	case "unboost":
		return samplingUnboost(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, samplingUsage)
	return fmt.Errorf("unknown sampling verb %q", args[0])
}

func samplingBoost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sampling boost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	rate := fs.Float64("rate", 0, "rate to keep successful traces at, in (0, 1]")
	dur := fs.Duration("for", 0, "how long the boost lasts (at most 168h)")
	service := fs.String("service", "", "only traces through services matching this pattern")
	reason := fs.String("reason", "", "why (shown by boosts)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate == 0 || *dur == 0 {
		return errors.New("sampling boost needs --rate and --for")
	}
	var b tailsample.Boost
	in := tailsample.BoostBody{Rate: *rate, Duration: dur.String(), Service: *service, Reason: *reason}
	if err := rest(ctx, http.MethodPost, *endpoint+tailsample.BoostsPath, in, &b); err != nil {
		return err
	}
	scope := "all services"
	if b.Service != "" {
		scope = "services matching " + b.Service
	}
	fmt.Fprintf(stdout, "boost %s: rate %g for %s until %s\n", b.ID, b.Rate, scope, b.Expires.Local().Format(time.DateTime))
	return nil
}

func samplingBoosts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sampling boosts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var list tailsample.BoostList
	if err := rest(ctx, http.MethodGet, *endpoint+tailsample.BoostsPath, nil, &list); err != nil {
		return err
	}
	if len(list.Boosts) == 0 {
		fmt.Fprintln(stdout, "no boosts in force")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRATE\tSERVICE\tEXPIRES\tLEFT\tREASON")
	for _, b := range list.Boosts {
		left := time.Until(b.Expires).Round(time.Second)
		fmt.Fprintf(tw, "%s\t%g\t%s\t%s\t%s\t%s\n", b.ID, b.Rate, dash(b.Service), b.Expires.Local().Format(time.DateTime), left, dash(b.Reason))
	}
	return tw.Flush()
}

func samplingUnboost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sampling unboost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("sampling unboost needs a boost id (see fluoro sampling boosts)")
	}
	id := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var b tailsample.Boost
	if err := rest(ctx, http.MethodDelete, *endpoint+tailsample.BoostsPath+"/"+id, nil, &b); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "boost %s removed\n", b.ID)
	return nil
}

// rest calls one of Fluoro's JSON endpoints outside the X-Ray API.
func rest(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("call %s: %w", url, err)
	}
	if resp.StatusCode/100 != 2 {
		var e xray.ErrorBody
		if json.Unmarshal(b, &e) == nil && e.Type != "" {
			return fmt.Errorf("%s: %s", e.Type, e.Message)
		}
		return fmt.Errorf("call %s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}
