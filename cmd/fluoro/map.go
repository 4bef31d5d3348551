package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"
)

const mapUsage = `Usage:
  fluoro map [--since 1h] [--group NAME] [--endpoint URL]
`

// The members of GetServiceGraph's answer `fluoro map` prints.
type mapStats struct {
	OkCount         int64
	ErrorStatistics struct{ ThrottleCount, OtherCount, TotalCount int64 }
	FaultStatistics struct{ OtherCount, TotalCount int64 }
	TotalCount      int64
}

type mapHist []struct {
	Value float64
	Count int64
}

type mapService struct {
	ReferenceId int
	Name        string
	Type        string
	Root        bool
	State       string
	Edges       []struct {
		ReferenceId           int
		SummaryStatistics     mapStats
		ResponseTimeHistogram mapHist
	}
	SummaryStatistics     *mapStats
	ResponseTimeHistogram mapHist
}

// runMap prints the service map of the last --since: every node and every
// edge with its request rate, the share of errors, throttles and faults, and
// the 99th percentile of its response time.
func runMap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("map", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, mapUsage); fs.PrintDefaults() }
	endpoint := endpointFlag(fs)
	since := fs.Duration("since", time.Hour, "how far back to look")
	group := fs.String("group", "", "the group whose map to print (default: every trace)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("map takes no arguments, got %q", fs.Args())
	}
	if *since <= 0 {
		return fmt.Errorf("--since must be positive")
	}
	end := float64(time.Now().UnixNano()) / 1e9
	start := end - since.Seconds()
	in := map[string]any{"StartTime": start, "EndTime": end}
	if *group != "" {
		in["GroupName"] = *group
	}
	var out struct{ Services []mapService }
	if err := (client{endpoint: *endpoint}).call(ctx, "/ServiceGraph", in, &out); err != nil {
		return err
	}
	if len(out.Services) == 0 {
		fmt.Fprintf(stdout, "no traces in the last %v\n", *since)
		return nil
	}
	minutes := since.Minutes()
	seen := map[string]int{}
	for _, s := range out.Services {
		seen[nodeLabel(s)]++
	}
	name := map[int]string{}
	for _, s := range out.Services {
		name[s.ReferenceId] = nodeLabel(s)
		if seen[nodeLabel(s)] > 1 && s.Type != "" { // two nodes of one name: say which
			name[s.ReferenceId] += " (" + s.Type + ")"
		}
	}
	sort.Slice(out.Services, func(i, j int) bool { return name[out.Services[i].ReferenceId] < name[out.Services[j].ReferenceId] })
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tTYPE\tREQUESTS\tPER MIN\tERROR%\tTHROTTLE%\tFAULT%\tP99")
	for _, s := range out.Services {
		if s.SummaryStatistics == nil {
			continue // client nodes: their edges carry the requests
		}
		typ := s.Type
		if typ == "" {
			typ = "-"
		}
		if s.Root {
			typ += " (root)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, typ, statsRow(*s.SummaryStatistics, s.ResponseTimeHistogram, minutes))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "EDGE\t\tREQUESTS\tPER MIN\tERROR%\tTHROTTLE%\tFAULT%\tP99")
	for _, s := range out.Services {
		for _, e := range s.Edges {
			fmt.Fprintf(tw, "%s -> %s\t\t%s\n", name[s.ReferenceId], name[e.ReferenceId],
				statsRow(e.SummaryStatistics, e.ResponseTimeHistogram, minutes))
		}
	}
	return tw.Flush()
}

func nodeLabel(s mapService) string {
	if s.Type == "client" {
		return "(client)"
	}
	return s.Name
}

func statsRow(st mapStats, h mapHist, minutes float64) string {
	pct := func(n int64) string {
		if st.TotalCount == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", 100*float64(n)/float64(st.TotalCount))
	}
	return fmt.Sprintf("%d\t%.1f\t%s\t%s\t%s\t%s", st.TotalCount, float64(st.TotalCount)/minutes,
		pct(st.ErrorStatistics.OtherCount), pct(st.ErrorStatistics.ThrottleCount), pct(st.FaultStatistics.TotalCount),
		p99(h))
}

// p99 is the 99th percentile of an X-Ray histogram (value, count pairs).
func p99(h mapHist) string {
	var total int64
	for _, e := range h {
		total += e.Count
	}
	if total == 0 {
		return "-"
	}
	sorted := append(mapHist(nil), h...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Value < sorted[j].Value })
	rank := int64(float64(total)*0.99 + 0.999999) // the smallest value with 99% at or below it
	var seen int64
	for _, e := range sorted {
		seen += e.Count
		if seen >= rank {
			return (time.Duration(e.Value * float64(time.Second))).Round(100 * time.Microsecond).String()
		}
	}
	return "-"
}
