// Panels computed from trace summaries, shared by analytics and dashboards:
// health figures, the latency histogram, percentiles over time, a time ×
// latency heat map, services, top errors, root causes and the slowest traces.
import { useMemo } from "preact/hooks";
import { href } from "./router.js";
import { latencyHistogram, logX, ms, num, pct, quantile, services, time } from "./format.js";
import { Heatmap, Plot } from "./components/chart.jsx";
import { topErrors } from "./pages/map.jsx";


const rt = (t) => t.ResponseTime ?? t.Duration;

export function Health({ rows, seconds }) {
  const n = rows.length;
  const c = { fault: 0, error: 0, throttle: 0 };
  for (const t of rows) { if (t.HasFault) c.fault++; else if (t.HasThrottle) c.throttle++; else if (t.HasError) c.error++; }
  const ds = rows.map(rt).sort((a, b) => a - b);
  return (
    <dl class="figures" data-testid="health">
      <div><dt>Traces</dt><dd>{num(n)}</dd></div>
      <div><dt>Per minute</dt><dd>{num(n / Math.max(1, seconds / 60))}</dd></div>
      <div><dt>OK</dt><dd>{pct(n - c.fault - c.error - c.throttle, n)}</dd></div>
      <div><dt>Errors</dt><dd>{pct(c.error, n)}</dd></div>
      <div><dt>Faults</dt><dd>{pct(c.fault, n)}</dd></div>
      <div><dt>Throttles</dt><dd>{pct(c.throttle, n)}</dd></div>
      <div><dt>p50</dt><dd>{ms(quantile(ds, 0.5))}</dd></div>
      <div><dt>p99</dt><dd>{ms(quantile(ds, 0.99))}</dd></div>
    </dl>
  );
}

export function Latency({ rows }) {
  const data = useMemo(() => latencyHistogram(rows.map(rt)), [rows]);
  const series = useMemo(() => [{ label: "traces", fill: "var(--accent-soft)", stroke: "var(--accent)" }], []);
  return data ? <Plot data={data} series={series} bars scales={logX} height={150} label="Latency histogram" xFmt={(v) => ms(v)} /> : <p class="muted">No traces.</p>;
}

// buckets splits rows into n time buckets over [start, end].
function buckets(rows, start, end, n) {
  const w = Math.max(1, (end - start) / n);
  const bs = Array.from({ length: n }, () => []);
  for (const t of rows) bs[Math.max(0, Math.min(n - 1, Math.floor((t.StartTime - start) / w)))].push(t);
  return { w, bs };
}

export function Percentiles({ rows, start, end }) {
  const data = useMemo(() => {
    const { w, bs } = buckets(rows, start, end, 60);
    const xs = bs.map((_, i) => start + i * w);
    const q = (p) => bs.map((b) => (b.length ? quantile(b.map(rt).sort((x, y) => x - y), p) * 1000 : null));
    return [xs, q(0.5), q(0.9), q(0.99)];
  }, [rows, start, end]);
  const series = useMemo(() => [
    { label: "p50 ms", stroke: "#3b82f6" }, { label: "p90 ms", stroke: "#f59e0b" }, { label: "p99 ms", stroke: "#ef4444" },
  ], []);
  return <Plot data={data} series={series} xTime height={180} label="Latency percentiles over time" />;
}

export function HeatmapPanel({ rows, start, end }) {
  const h = useMemo(() => {
    const nx = 60, ny = 24;
    const ds = rows.map(rt).filter((d) => d > 0);
    const lo = Math.log10(Math.max(1e-4, Math.min(...ds, 1))), hi = Math.log10(Math.max(...ds, 0.01)) + 0.01;
    const { bs } = buckets(rows, start, end, nx);
    const counts = bs.map((b) => {
      const col = new Array(ny).fill(0);
      for (const t of b) { const d = Math.max(rt(t), 1e-4); col[Math.max(0, Math.min(ny - 1, Math.floor(((Math.log10(d) - lo) / (hi - lo)) * ny)))]++; }
      return col;
    });
    const xs = bs.map((_, i) => start + (i * (end - start)) / nx);
    const ys = Array.from({ length: ny }, (_, j) => 10 ** (lo + ((hi - lo) * j) / ny));
    return { counts, xs, ys };
  }, [rows, start, end]);
  return <Heatmap {...h} label="Heat map of latency over time" xFmt={(v) => time(v).slice(11, 16)} yFmt={(v) => ms(v)} />;
}

export function Services({ rows }) {
  const list = useMemo(() => {
    const m = new Map();
    for (const t of rows) {
      const faulty = new Set((t.FaultRootCauses || []).flatMap((rc) => (rc.Services || []).filter((s) => s.EntityPath?.length).map((s) => s.Name)));
      const erring = new Set((t.ErrorRootCauses || []).flatMap((rc) => (rc.Services || []).filter((s) => s.EntityPath?.length).map((s) => s.Name)));
      for (const name of services(t.ServiceIds)) {
        const e = m.get(name) || { name, n: 0, fault: 0, error: 0, d: [] };
        e.n++; if (faulty.has(name)) e.fault++; if (erring.has(name)) e.error++;
        e.d.push(rt(t));
        m.set(name, e);
      }
    }
    return [...m.values()].map((e) => ({ ...e, p99: quantile(e.d.sort((a, b) => a - b), 0.99) })).sort((a, b) => b.fault - a.fault || b.n - a.n);
  }, [rows]);
  return (
    <table class="grid"><thead><tr><th>Service</th><th>Traces</th><th>Fault root cause</th><th>Error root cause</th><th>Trace p99</th></tr></thead>
      <tbody>{list.map((s) => (
        <tr class={s.fault ? "fault" : ""}><td><a href={href("traces", { f: `service("${s.name}")` })}>{s.name}</a></td><td>{s.n}</td>
          <td>{pct(s.fault, s.n)}</td><td>{pct(s.error, s.n)}</td><td>{ms(s.p99)}</td></tr>
      ))}</tbody></table>
  );
}

export function Errors({ rows }) {
  const errs = useMemo(() => topErrors(rows), [rows]);
  return errs.length ? <ol class="errors">{errs.map(([k, n]) => <li><span>{k}</span> <b>{n}</b></li>)}</ol> : <p class="muted">No errors.</p>;
}

// RootCauses ranks root-cause entities by impact: for response time, the
// summed trace time they are blamed for; for faults and errors, the count.
export function RootCauses({ rows }) {
  const ranked = useMemo(() => {
    const m = new Map();
    const add = (kind, rc, weight) => {
      for (const s of rc.Services || []) {
        const path = (s.EntityPath || []).map((e) => e.Name).join(" › ");
        if (!path) continue;
        const k = `${kind}|${s.Name}|${path}`;
        const e = m.get(k) || { kind, service: s.Name, path, traces: 0, impact: 0 };
        e.traces++; e.impact += weight;
        m.set(k, e);
      }
    };
    for (const t of rows) {
      for (const rc of t.FaultRootCauses || []) add("fault", rc, 1);
      for (const rc of t.ErrorRootCauses || []) add("error", rc, 1);
      for (const rc of t.ResponseTimeRootCauses || []) add("responsetime", rc, rt(t));
    }
    return [...m.values()].sort((a, b) => b.traces - a.traces).slice(0, 12);
  }, [rows]);
  return ranked.length ? (
    <table class="grid"><thead><tr><th>Kind</th><th>Service</th><th>Entity path</th><th>Traces</th><th>Share</th></tr></thead>
      <tbody>{ranked.map((r) => (
        <tr><td>{r.kind}</td><td>{r.service}</td><td class="mono">{r.path}</td><td>{r.traces}</td><td>{pct(r.traces, rows.length)}</td></tr>
      ))}</tbody></table>
  ) : <p class="muted">No root causes.</p>;
}

export function Slowest({ rows }) {
  const top = useMemo(() => rows.slice().sort((a, b) => rt(b) - rt(a)).slice(0, 10), [rows]);
  return (
    <table class="grid"><thead><tr><th>Trace</th><th>URL</th><th>Duration</th></tr></thead>
      <tbody>{top.map((t) => (
        <tr><td class="mono"><a href={href(["trace", t.Id])}>{t.Id}</a></td><td>{t.Http?.HttpMethod} {t.Http?.HttpURL}</td><td>{ms(rt(t))}</td></tr>
      ))}</tbody></table>
  );
}

export const PANELS = {
  health: ["Health", Health],
  percentiles: ["Latency percentiles", Percentiles],
  latency: ["Latency distribution", Latency],
  heatmap: ["Latency heat map", HeatmapPanel],
  services: ["Services", Services],
  errors: ["Top errors", Errors],
  rootcauses: ["Root causes", RootCauses],
  slowest: ["Slowest traces", Slowest],
};
