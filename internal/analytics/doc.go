// Package analytics answers questions over a set of traces that the X-Ray API
// does not: response-time distributions per node, edge and URL (percentiles
// from mergeable DDSketches, heat maps, before/after comparisons), root
// causes ranked by impact, exception patterns, SQL statements and N+1
// patterns, caching candidates, Lambda cold starts, and numeric annotations
// over time.
//
// Every analysis runs over the traces a filter expression selects in a time
// range, as GetTraceSummaries selects them (see Select). The work is bounded:
// at most Request.Limit traces are analysed; when more match, an evenly
// spaced subset of the matching traces (every k-th in trace-id order, which
// is start-time order) is analysed instead, and the response says so in its
// Coverage, as X-Ray's analytics console reports "N of M traces".
//
// An analysis is an accumulator: it takes one trace at a time (Add) and
// renders its result at the end, so the same code serves the HTTP endpoints,
// the CLI and the benchmarks, which feed it traces from memory.
package analytics
