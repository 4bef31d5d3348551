package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/fluoro-dev/fluoro/internal/alert"
)

const alertsUsage = `Usage:
  fluoro alerts list [--endpoint URL]

Lists the alert rules with their state (ok, pending, firing, nodata,
disabled) and last value. Rules are created in the console's Alerts page or
with the API: see docs/alerts.md.
`

func runAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprint(stderr, alertsUsage)
		if len(args) == 0 {
			return errors.New("alerts needs a verb: list")
		}
		return fmt.Errorf("unknown alerts verb %q", args[0])
	}
	fs := flag.NewFlagSet("alerts list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := endpointFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var list struct {
		Alerts []alert.RuleStatus `json:"alerts"`
	}
	if err := rest(ctx, http.MethodGet, *endpoint+alert.Path, nil, &list); err != nil {
		return err
	}
	if len(list.Alerts) == 0 {
		fmt.Fprintln(stdout, "no alert rules")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tSINCE\tVALUE\tCONDITION\tWINDOW\tSCOPE")
	for _, a := range list.Alerts {
		state, since, value := a.Status.State, "-", "-"
		if !a.Enabled {
			state = "disabled"
		}
		if !a.Status.Since.IsZero() {
			since = a.Status.Since.Local().Format(time.DateTime)
		}
		if a.Status.Value != nil {
			value = formatValue(a.Metric, *a.Status.Value)
		}
		scope := "filter " + a.Filter
		if a.Service != nil {
			scope = "service " + a.Service.Name
			if a.Service.Type != "" {
				scope += " (" + a.Service.Type + ")"
			}
		}
		if a.Group != "" {
			scope += " in group " + a.Group
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s %s\t%s\t%s\n", a.Name, state, since, value, a.Metric, a.Comparator,
			formatValue(a.Metric, a.Threshold), time.Duration(a.Window), scope)
	}
	return tw.Flush()
}

// formatValue writes rates as percentages, latencies in ms or s, and the
// request rate per minute.
func formatValue(metric string, v float64) string {
	switch metric {
	case alert.RequestRate:
		return strconv.FormatFloat(v, 'f', 1, 64) + "/min"
	case alert.ErrorRate, alert.FaultRate, alert.ThrottleRate:
		return strconv.FormatFloat(v*100, 'f', 2, 64) + "%"
	}
	if v < 1 {
		return strconv.FormatFloat(v*1000, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(v, 'f', 3, 64) + "s"
}
