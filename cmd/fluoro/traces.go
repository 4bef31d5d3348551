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
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fluoro-dev/fluoro/internal/timeline"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

const tracesUsage = `Usage:
  fluoro traces list [--since 15m] [--filter EXPR] [--limit N] [--endpoint URL]
  fluoro traces get ID [--endpoint URL] [--color]
`

func runTraces(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tracesUsage)
		return errors.New("traces needs a verb: list or get")
	}
	switch args[0] {
	case "list":
		return tracesList(ctx, args[1:], stdout, stderr)
	case "get":
		return tracesGet(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, tracesUsage)
	return fmt.Errorf("unknown traces verb %q", args[0])
}

func endpointFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("FLUORO_ENDPOINT")
	if def == "" {
		def = "http://127.0.0.1:2000"
	}
	return fs.String("endpoint", def, "Fluoro's HTTP API (or $FLUORO_ENDPOINT)")
}

func tracesList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("traces list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	since := fs.Duration("since", 15*time.Minute, "how far back to look")
	filter := fs.String("filter", "", "X-Ray filter expression")
	limit := fs.Int("limit", 50, "most traces to list (0 for all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := client{endpoint: *endpoint}
	end := float64(time.Now().UnixNano()) / 1e9
	start := end - since.Seconds()
	in := xray.GetTraceSummariesInput{StartTime: &start, EndTime: &end}
	if *filter != "" {
		in.FilterExpression = filter
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tTRACE ID\tMETHOD\tURL\tSTATUS\tDURATION\tFLAGS\tSERVICES")
	n := 0
	for {
		var out xray.GetTraceSummariesOutput
		if err := c.call(ctx, "/TraceSummaries", in, &out); err != nil {
			return err
		}
		for _, s := range out.TraceSummaries {
			if *limit > 0 && n == *limit {
				return tw.Flush()
			}
			n++
			var names []string
			for _, id := range s.ServiceIds {
				names = append(names, id.Name)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				time.Unix(0, int64(s.StartTime*1e9)).Format("15:04:05.000"), s.Id, dash(s.Http.HttpMethod),
				dash(s.Http.HttpURL), status(s.Http.HttpStatus), fmtSeconds(s.Duration), flags(s), strings.Join(names, ","))
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintf(stderr, "no traces in the last %v\n", *since)
	}
	return nil
}

func tracesGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("traces get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	color := fs.Bool("color", false, "colour the bars by status")
	width := fs.Int("width", 120, "line width")
	raw := fs.Bool("json", false, "print the trace's documents as JSON instead of the timeline")
	// Accept the id before or after the flags.
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	}
	if id == "" {
		fmt.Fprint(stderr, tracesUsage)
		return errors.New("traces get needs a trace id")
	}
	c := client{endpoint: *endpoint}
	var out xray.BatchGetTracesOutput
	if err := c.call(ctx, "/Traces", xray.BatchGetTracesInput{TraceIds: []string{id}}, &out); err != nil {
		return err
	}
	if len(out.Traces) == 0 {
		return fmt.Errorf("trace %s not found", id)
	}
	t := out.Traces[0]
	docs := make([]string, len(t.Segments))
	for i, s := range t.Segments {
		docs[i] = s.Document
	}
	if *raw {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	}
	return timeline.Render(stdout, t.Id, docs, timeline.Options{Width: *width, Color: *color})
}

// client calls the X-Ray API of a Fluoro server.
type client struct{ endpoint string }

func (c client) call(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.endpoint, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("call %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e xray.ErrorBody
		if json.Unmarshal(b, &e) == nil && e.Type != "" {
			return fmt.Errorf("%s: %s", e.Type, e.Message)
		}
		return fmt.Errorf("call %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func status(code int) string {
	if code == 0 {
		return "-"
	}
	return fmt.Sprint(code)
}

func fmtSeconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.1fms", s*1000)
	}
	return fmt.Sprintf("%.2fs", s)
}

func flags(s xray.TraceSummary) string {
	var f []string
	if s.HasFault {
		f = append(f, "fault")
	}
	if s.HasError {
		f = append(f, "error")
	}
	if s.HasThrottle {
		f = append(f, "throttle")
	}
	if s.IsPartial {
		f = append(f, "partial")
	}
	if len(f) == 0 {
		return "ok"
	}
	return strings.Join(f, ",")
}
