// The analytics page over the server's /api/analytics/* (internal/analytics):
// sketches over up to 10,000 traces with span detail — percentiles per time
// bucket, the heat map, root causes with their filters, exception patterns,
// slow SQL and N+1 queries, and a before/after comparison per service.
import { useEffect, useMemo, useState } from "preact/hooks";
import { getJSON } from "../api.js";
import { href, setParams } from "../router.js";
import { ms, num, time } from "../format.js";
import { Heatmap, Plot } from "../components/chart.jsx";
import { Status } from "../components/controls.jsx";
import { useDeployMarks } from "./deployments.jsx";

// useAnalysis GETs /api/analytics/<name> with the page's range and filter.
export function useAnalysis(name, q) {
  const [st, setSt] = useState({ data: null, error: null, loading: true });
  const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined && v !== "")).toString();
  useEffect(() => {
    const ac = new AbortController();
    setSt({ data: null, error: null, loading: true });
    getJSON(`/api/analytics/${name}?${qs}`, ac.signal)
      .then((data) => setSt({ data, error: null, loading: false }))
      .catch((e) => e.name !== "AbortError" && setSt({ data: null, error: e, loading: false }));
    return () => ac.abort();
  }, [name, qs]);
  return st;
}

const coverage = (t) => (t ? `${num(t.analyzed)} of ${num(t.matched)} traces${t.sampled ? " (evenly sampled)" : ""}` : "");

export function ServerAnalytics({ range, f, marker }) {
  const q = { start: range.start, end: range.end, filter: f };
  const heat = useAnalysis("heatmap", q);
  const rc = useAnalysis("rootcauses", { ...q, top: 10 });
  const ex = useAnalysis("exceptions", { ...q, top: 10 });
  const sql = useAnalysis("sql", { ...q, top: 10 });
  const marks = useDeployMarks(range);
  const cmp = useAnalysis("compare", { start: marker, end: range.end, before_start: range.start, before_end: marker, filter: f, top: 15 });
  return (
    <div class="dash-grid">
      <div class="panel wide"><div class="panelhead"><h2>Latency percentiles over time</h2><span class="muted">{coverage(heat.data?.traces)}</span></div>
        <Status loading={heat.loading} error={heat.error} />{heat.data && <PercentilesSeries h={heat.data} marks={marks} />}</div>
      <div class="panel wide"><div class="panelhead"><h2>Heat map (time × latency)</h2></div>
        {heat.data && <HeatmapOf h={heat.data} />}</div>
      <div class="panel wide"><div class="panelhead"><h2>Root causes by impact</h2><span class="muted">{rc.data ? `slow: ≥ ${ms(rc.data.slowThreshold)}` : ""}</span></div>
        <Status loading={rc.loading} error={rc.error} />{rc.data && <RootCauses rc={rc.data} range={range} />}</div>
      <div class="panel wide"><div class="panelhead"><h2>Exception patterns</h2><span class="muted">{coverage(ex.data?.traces)}</span></div>
        <Status loading={ex.loading} error={ex.error} />{ex.data && <Exceptions ex={ex.data} />}</div>
      <div class="panel wide"><div class="panelhead"><h2>Slow SQL and N+1 queries</h2></div>
        <Status loading={sql.loading} error={sql.error} />{sql.data && <SQL sql={sql.data} />}</div>
      <div class="panel wide"><div class="panelhead"><h2>Before / after {time(marker).slice(0, 16)}</h2>
        <label>Marker <input type="range" min={range.start} max={range.end} value={marker} aria-label="Comparison marker"
          onChange={(e) => setParams({ marker: e.currentTarget.value }, { replace: true })} /></label></div>
        <Status loading={cmp.loading} error={cmp.error} />{cmp.data && <Compare c={cmp.data} />}</div>
    </div>
  );
}

function PercentilesSeries({ h, marks }) {
  const data = useMemo(() => {
    const cols = h.columns || [];
    const v = (k) => cols.map((c) => (c.count ? c[k] * 1000 : null));
    return [cols.map((c) => c.start), v("p50"), v("p90"), v("p99")];
  }, [h]);
  const series = useMemo(() => [{ label: "p50 ms", stroke: "#3b82f6" }, { label: "p90 ms", stroke: "#f59e0b" }, { label: "p99 ms", stroke: "#ef4444" }], []);
  return <Plot data={data} series={series} xTime height={180} label="Latency percentiles over time" marks={marks} />;
}

function HeatmapOf({ h }) {
  const cols = h.columns || [];
  return <Heatmap counts={cols.map((c) => c.counts)} xs={cols.map((c) => c.start)} ys={h.latencyBuckets}
    label="Heat map of latency over time" xFmt={(v) => time(v).slice(11, 16)} yFmt={(v) => ms(v)} />;
}

function CauseTable({ title, rows, slow, range }) {
  if (!rows || !rows.length) return null;
  return (
    <>
      <h3>{title}</h3>
      <table class="grid"><thead><tr><th>Culprit</th><th>Traces</th><th>Share</th>{slow && <th>Time explained</th>}<th /></tr></thead>
        <tbody>{rows.map((r) => (
          <tr><td>{r.entity || r.exception || r.url || r.service?.name}{(r.entity || r.exception || r.url) && r.service?.name && (r.entity || r.exception || r.url) !== r.service.name ? <small class="muted"> ({r.service.name})</small> : ""}</td>
            <td>{r.traces}</td><td>{(100 * r.share).toFixed(1)}%</td>{slow && <td>{ms(r.seconds)}</td>}
            <td>{r.filter && <a href={href("traces", { f: r.filter, range: "custom", from: range.start, to: range.end })}>traces</a>}</td></tr>
        ))}</tbody></table>
    </>
  );
}

function RootCauses({ rc, range }) {
  const [kind, setKind] = useState("faults");
  const r = rc[kind] || {};
  const kinds = [["faults", "Faults"], ["errors", "Errors"], ["slow", "Slow"]];
  return (
    <div data-testid="rootcauses">
      <div role="tablist" class="tabs">
        {kinds.map(([k, l]) => <button type="button" role="tab" aria-selected={kind === k} onClick={() => setKind(k)}>{l} ({rc[k]?.traces ?? 0} traces)</button>)}
      </div>
      <CauseTable title="Services" rows={r.services} slow={kind === "slow"} range={range} />
      <CauseTable title="Entities" rows={r.entities} slow={kind === "slow"} range={range} />
      <CauseTable title="Exceptions" rows={r.exceptions} slow={kind === "slow"} range={range} />
    </div>
  );
}

function Exceptions({ ex }) {
  if (!ex.patterns?.length) return <p class="muted">No exceptions.</p>;
  return (
    <table class="grid"><thead><tr><th>Type</th><th>Message pattern</th><th>Count</th><th>Traces</th><th>Raised in</th><th>Cascades</th></tr></thead>
      <tbody>{ex.patterns.map((p) => (
        <tr><td>{p.type}</td><td class="mono" title={p.example}>{p.template}</td><td>{p.count}</td><td>{p.traces}</td>
          <td>{(p.services || []).map((s) => `${s.service.name} (${s.count})`).join(", ")}</td>
          <td>{(p.cascades || []).slice(0, 2).map((c) => c.path.map((s) => s.name).join(" → ")).join("; ")}</td></tr>
      ))}</tbody></table>
  );
}

function SQL({ sql }) {
  return (
    <>
      <h3>Statements, slowest first</h3>
      {sql.statements?.length ? (
        <table class="grid"><thead><tr><th>Query</th><th>Database</th><th>Traces</th><th>p50</th><th>p99</th><th>Total</th></tr></thead>
          <tbody>{sql.statements.map((s) => (
            <tr><td class="mono">{s.query}</td><td>{s.databaseType} {s.database}</td><td>{s.traces}</td><td>{ms(s.stats?.p50)}</td><td>{ms(s.stats?.p99)}</td><td>{ms(s.seconds)}</td></tr>
          ))}</tbody></table>
      ) : <p class="muted">No SQL.</p>}
      <h3>N+1 patterns</h3>
      {sql.nPlusOne?.length ? (
        <table class="grid"><thead><tr><th>Query</th><th>Service</th><th>Segments</th><th>Max repeats</th><th>Time</th><th>Example</th></tr></thead>
          <tbody>{sql.nPlusOne.map((n) => (
            <tr><td class="mono">{n.query}</td><td>{n.service?.name}</td><td>{n.segments}</td><td>{n.maxRepeats}</td><td>{ms(n.seconds)}</td>
              <td>{n.examples?.[0] && <a class="mono" href={href(["trace", n.examples[0]])}>{n.examples[0]}</a>}</td></tr>
          ))}</tbody></table>
      ) : <p class="muted">No N+1 pattern.</p>}
    </>
  );
}

function Compare({ c }) {
  const pct = (v) => (v == null || isNaN(v) ? "–" : (100 * v).toFixed(1) + "%");
  const ratio = (r) => (r ? `×${r.toFixed(2)}` : "–");
  return (
    <table class="grid" data-testid="compare"><thead><tr><th>Service</th><th>Calls before → after</th><th>p50 before → after</th><th>p99 before → after</th><th>p99 change</th><th>Fault rate</th></tr></thead>
      <tbody>{(c.nodes || []).map((n) => (
        <tr><td>{n.service?.name}</td><td>{n.before.count} → {n.after.count}</td><td>{ms(n.before.p50)} → {ms(n.after.p50)}</td>
          <td>{ms(n.before.p99)} → {ms(n.after.p99)}</td><td class={n.p99Ratio > 1.2 ? "worse" : n.p99Ratio && n.p99Ratio < 0.83 ? "better" : ""}>{ratio(n.p99Ratio)}</td>
          <td>{pct(n.faultRate?.[0])} → {pct(n.faultRate?.[1])}</td></tr>
      ))}</tbody></table>
  );
}
