// Analytics for the current filter and range: latency percentiles over time,
// a time × latency heat map, root causes ranked by impact, exception
// patterns, and a comparison of two time ranges (before/after a marker).
// Served by /api/analytics/* when the server has it (analytics-server.jsx);
// otherwise computed in the browser from GetTraceSummaries (up to 10,000
// traces, summaries only: no SQL or per-service sketches).

// useServerAnalytics reports whether /api/analytics/ answers (null: asking).
function useServerAnalytics() {
  const [has, setHas] = useState(null);
  useEffect(() => {
    getJSON("/api/analytics/rootcauses?since=1m&limit=1").then(() => setHas(true))
      .catch((e) => setHas(!(e.status === 404 || e.status === 405)));
  }, []);
  return has;
}
import { useEffect, useMemo, useState } from "preact/hooks";
import { getJSON, xray } from "../api.js";
import { ServerAnalytics } from "./analytics-server.jsx";
import { go, href, setParams } from "../router.js";
import { resolve } from "../timerange.js";
import { ms, pct, quantile, quote, time } from "../format.js";
import { HeatmapPanel, Percentiles, RootCauses, Errors, Health } from "../panels.jsx";
import { useSummaries } from "./traces.jsx";
import { Status, TimeRange } from "../components/controls.jsx";

const rt = (t) => t.ResponseTime ?? t.Duration;

export function AnalyticsPage({ params }) {
  const range = useMemo(() => resolve(params), [params.range, params.from, params.to]);
  const f = params.f || "";
  const [text, setText] = useState(f);
  const server = useServerAnalytics();
  const sums = useSummaries(server === false ? `${f}|${range.start}|${range.end}` : null, range.start, range.end, f, 0);
  const marker = params.marker ? +params.marker : Math.round((range.start + range.end) / 2);
  return (
    <section aria-labelledby="an-h">
      <header class="pagehead">
        <h1 id="an-h">Analytics</h1>
        <TimeRange params={params} />
      </header>
      <form role="search" class="inline" onSubmit={(e) => { e.preventDefault(); go("analytics", { ...params, f: text.trim() }); }}>
        <input class="mono grow" aria-label="Filter expression" value={text} placeholder="filter expression (all traces)" onInput={(e) => setText(e.currentTarget.value)} />
        <button type="submit">Analyse</button>
      </form>
      <div class="panel"><div class="panelhead"><h2>Insights</h2><span class="muted">fault-rate anomalies detected by the server</span></div><Insights range={range} /></div>
      {server === true && <ServerAnalytics range={range} f={f} marker={marker} />}
      {server === false && <BrowserAnalytics sums={sums} range={range} marker={marker} />}
    </section>
  );
}

function BrowserAnalytics({ sums, range, marker }) {
  return (
    <>
      <Status loading={sums.loading} error={sums.error}><span class="muted">{sums.rows.length} traces analysed in the browser (this server has no /api/analytics)</span></Status>
      <div class="dash-grid">
        <div class="panel wide"><div class="panelhead"><h2>Latency percentiles over time</h2></div><Percentiles rows={sums.rows} start={range.start} end={range.end} /></div>
        <div class="panel wide"><div class="panelhead"><h2>Heat map (time × latency)</h2></div><HeatmapPanel rows={sums.rows} start={range.start} end={range.end} /></div>
        <div class="panel"><div class="panelhead"><h2>Root causes by impact</h2></div><RootCauses rows={sums.rows} /></div>
        <div class="panel"><div class="panelhead"><h2>Exception patterns</h2></div><Errors rows={sums.rows} /></div>
        <div class="panel wide"><div class="panelhead"><h2>Before / after</h2>
          <label>Marker <input type="range" min={range.start} max={range.end} value={marker} aria-label="Comparison marker"
            onChange={(e) => setParams({ marker: e.currentTarget.value }, { replace: true })} /></label>
          <span class="muted">{new Date(marker * 1000).toLocaleString()}</span></div>
          <Compare rows={sums.rows} marker={marker} range={range} />
        </div>
      </div>
    </>
  );
}

function stats(rows) {
  const ds = rows.map(rt).sort((a, b) => a - b);
  return {
    n: rows.length, p50: quantile(ds, 0.5), p90: quantile(ds, 0.9), p99: quantile(ds, 0.99),
    fault: rows.filter((t) => t.HasFault).length, error: rows.filter((t) => t.HasError).length,
  };
}

function Compare({ rows, marker, range }) {
  const [a, b] = useMemo(() => [stats(rows.filter((t) => t.StartTime < marker)), stats(rows.filter((t) => t.StartTime >= marker))], [rows, marker]);
  const line = (label, f, fmt) => {
    const x = f(a), y = f(b);
    const d = y - x;
    return <tr><th scope="row">{label}</th><td>{fmt(x)}</td><td>{fmt(y)}</td><td class={d > 0 ? "worse" : d < 0 ? "better" : ""}>{isNaN(d) ? "–" : (d > 0 ? "+" : "") + fmt(d)}</td></tr>;
  };
  const rate = (k) => (s) => (s.n ? s[k] / s.n : NaN);
  const pf = (v) => (isNaN(v) ? "–" : (100 * v).toFixed(1) + "%");
  return (
    <table class="grid" data-testid="compare"><thead><tr><th></th><th>Before</th><th>After</th><th>Change</th></tr></thead>
      <tbody>
        <tr><th scope="row">Traces</th><td>{a.n}</td><td>{b.n}</td><td /></tr>
        {line("p50", (s) => s.p50, ms)}{line("p90", (s) => s.p90, ms)}{line("p99", (s) => s.p99, ms)}
        {line("Fault rate", rate("fault"), pf)}{line("Error rate", rate("error"), pf)}
      </tbody></table>
  );
}

// Insights lists X-Ray insights (GetInsightSummaries) overlapping the range:
// fault-rate anomalies the server opened and closed by itself.
function Insights({ range }) {
  const [st, setSt] = useState(null);
  useEffect(() => {
    const ac = new AbortController();
    xray("InsightSummaries", { StartTime: range.start, EndTime: range.end, MaxResults: 100 }, ac.signal)
      .then((r) => setSt({ list: r.InsightSummaries || [] }))
      .catch((e) => e.name !== "AbortError" && setSt({ error: e }));
    return () => ac.abort();
  }, [range.start, range.end]);
  if (!st) return <p class="muted">Loading…</p>;
  if (st.error) return <p class="muted">{st.error.status === 404 ? "This server does not serve insights." : st.error.message}</p>;
  if (!st.list.length) return <p class="muted" data-testid="insights">No insights in this range.</p>;
  const impact = (s) => (s && s.TotalCount ? `${s.FaultCount} faults of ${s.TotalCount}` : "–");
  return (
    <table class="grid" data-testid="insights"><thead><tr><th>State</th><th>Summary</th><th>Root cause</th><th>From</th><th>To</th><th>Client impact</th><th /></tr></thead>
      <tbody>{st.list.map((i) => {
        const root = i.RootCauseServiceId?.Name;
        const to = i.EndTime || range.end;
        return (
          <tr class={i.State === "ACTIVE" ? "fault" : ""}><td>{i.State}</td><td>{i.Summary}</td><td>{root}</td>
            <td>{time(i.StartTime).slice(0, 19)}</td><td>{i.EndTime ? time(i.EndTime).slice(0, 19) : "ongoing"}</td>
            <td>{impact(i.ClientRequestImpactStatistics)}</td>
            <td>{root && <a href={href("traces", { f: `service(${quote(root)}) { fault }`, range: "custom", from: Math.floor(i.StartTime), to: Math.ceil(to) })}>traces</a>}</td></tr>
        );
      })}</tbody></table>
  );
}
