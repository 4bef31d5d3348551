package servicegraph

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/trace"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenCase is a testdata/<name>.json input: several traces, each the
// documents of one trace in arrival order. The trace package's single-trace
// cases (../trace/testdata, {"documents": […]}) are read too.
type goldenCase struct {
	Comment   string            `json:"comment"`
	Documents []json.RawMessage `json:"documents"`
	Traces    []struct {
		Documents []json.RawMessage `json:"documents"`
	} `json:"traces"`
}

func decodeDocs(t testing.TB, path string, docs []json.RawMessage) []*model.Span {
	t.Helper()
	var spans []*model.Span
	for i, raw := range docs {
		var doc bytes.Buffer
		if err := json.Compact(&doc, raw); err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		got, err := xray.Decode(doc.Bytes())
		if err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		for j := range got {
			spans = append(spans, &got[j])
		}
	}
	return trace.Dedupe(spans)
}

// loadBucket reads a case and aggregates its traces as ingest does.
func loadBucket(t testing.TB, path string) *Bucket {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	traces := [][]json.RawMessage{}
	if len(c.Documents) > 0 {
		traces = append(traces, c.Documents)
	}
	for _, tr := range c.Traces {
		traces = append(traces, tr.Documents)
	}
	bucket := NewBucket()
	for _, docs := range traces {
		spans := decodeDocs(t, path, docs)
		sum := trace.Summarize(spans)
		bucket.AddTrace(trace.BuildGraph(spans), sum.Duration())
	}
	return bucket
}

// render prints a graph for people: nodes in order, each with its kind,
// statistics and histograms, then its outgoing edges.
func render(b *Bucket) string {
	var w strings.Builder
	nodes, edges := b.Sorted()
	kinds := map[Kind]string{KindService: "service", KindInferred: "inferred", KindClient: "client"}
	for _, n := range nodes {
		typ := n.Key.Type
		if typ == "" {
			typ = "(no type)"
		}
		fmt.Fprintf(&w, "node %q %s", n.Key.Name, typ)
		if n.Key.AccountID != "" {
			fmt.Fprintf(&w, " account %s", n.Key.AccountID)
		}
		fmt.Fprintf(&w, " [%s", kinds[n.Kind])
		if n.Root {
			w.WriteString(" root")
		}
		w.WriteString("]\n")
		if n.Kind != KindClient {
			fmt.Fprintf(&w, "  stats %s\n", renderStats(&n.Stats))
			fmt.Fprintf(&w, "  durations %s\n", renderHist(&n.Stats.Durations))
		}
		for _, e := range edges[n.Key] {
			fmt.Fprintf(&w, "  -> %q %s\n", e.Key.To.Name, e.Key.To.Type)
			fmt.Fprintf(&w, "     stats %s\n", renderStats(&e.Stats))
		}
	}
	return w.String()
}

func renderStats(s *Stats) string {
	return fmt.Sprintf("total=%d ok=%d errors=%d (throttle=%d other=%d) faults=%d responsetime=%.3f span=[%.3f,%.3f] rt=%s",
		s.Total, s.OK, s.ErrorTotal(), s.Throttle, s.ErrorOther, s.FaultTotal(), s.ResponseTime,
		s.Start-epochBase(s.Start), s.End-epochBase(s.Start), renderHist(&s.ResponseTimes))
}

// epochBase makes printed times relative to the start of their day, so
// golden files read as offsets.
func epochBase(t float64) float64 {
	if t <= 0 {
		return 0
	}
	return float64(int64(t) / 86400 * 86400)
}

func renderHist(h *Histogram) string {
	var parts []string
	for _, e := range h.Entries() {
		parts = append(parts, fmt.Sprintf("%gx%d", e.Value, e.Count))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// TestGolden aggregates each case's traces and compares the rendered graph
// with testdata/<case>.golden; the graph must also survive an
// encode/decode round trip unchanged.
func TestGolden(t *testing.T) {
	own, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	others, _ := filepath.Glob(filepath.Join("..", "trace", "testdata", "*.json"))
	if len(own) == 0 || len(others) == 0 {
		t.Fatal("no golden cases")
	}
	for _, path := range append(own, others...) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		if !strings.HasPrefix(path, "testdata") {
			name = "trace_" + name
		}
		t.Run(name, func(t *testing.T) {
			b := loadBucket(t, path)
			got := render(b)
			rt := NewBucket()
			if err := rt.DecodeMerge(b.Encode(nil)); err != nil {
				t.Fatalf("decode encoded bucket: %v", err)
			}
			if again := render(rt); again != got {
				t.Errorf("encode/decode changed the graph:\n%s\nwant\n%s", again, got)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("graph of %s differs from %s:\n--- got\n%s--- want\n%s", path, golden, got, want)
			}
		})
	}
}
