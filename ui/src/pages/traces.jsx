// The traces page: filter expression, response-time histogram (drag a band
// to narrow the list with responsetime >= a AND responsetime <= b), and the
// virtualised trace list, loaded page by page through NextToken.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { summaries } from "../api.js";
import { go, href, setParams } from "../router.js";
import { resolve } from "../timerange.js";
import { latencyHistogram, logX, ms, services, time, quantile } from "../format.js";
import { FilterBox } from "../components/filterbox.jsx";
import { Plot } from "../components/chart.jsx";
import { VList } from "../components/vlist.jsx";
import { Refresh, Status, TimeRange } from "../components/controls.jsx";

const LIMIT = 10000;

// narrow composes the base filter with a latency band.
export function narrow(filter, lo, hi) {
  if (lo === undefined || lo === "" || hi === undefined || hi === "") return filter;
  const band = `responsetime >= ${+lo} AND responsetime <= ${+hi}`;
  return filter ? `(${filter}) AND ${band}` : band;
}

// useSummaries loads every summary of a query (up to LIMIT), re-running
// when the key changes; tick forces a reload.
export function useSummaries(key, start, end, filter, tick, limit = LIMIT) {
  const [state, setState] = useState({ rows: [], loading: true, error: null, more: false });
  useEffect(() => {
    if (key === null) return setState({ rows: [], loading: false, error: null, more: false });
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    summaries({ start, end, filter, limit, signal: ac.signal,
      onPage: (all, more) => setState({ rows: all.slice(), loading: more, error: null, more }) })
      .then(({ summaries: rows, next }) => setState({ rows, loading: false, error: null, more: !!next }))
      .catch((e) => { if (e.name !== "AbortError") setState({ rows: [], loading: false, error: e, more: false }); });
    return () => ac.abort();
  }, [key, tick]);
  return state;
}

const COLS = [
  ["start", "Time", (t) => t.StartTime],
  ["id", "Trace id", (t) => t.Id],
  ["method", "Method", (t) => t.Http?.HttpMethod || ""],
  ["url", "URL", (t) => t.Http?.HttpURL || ""],
  ["status", "Status", (t) => t.Http?.HttpStatus || 0],
  ["duration", "Duration", (t) => t.Duration],
  ["services", "Services", (t) => services(t.ServiceIds).join(", ")],
];

function histogram(rows) {
  const ds = rows.map((t) => t.ResponseTime ?? t.Duration).sort((a, b) => a - b);
  if (!ds.length) return null;
  return { data: latencyHistogram(ds), p50: quantile(ds, 0.5), p90: quantile(ds, 0.9), p99: quantile(ds, 0.99) };
}

export function TracesPage({ params }) {
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  const range = useMemo(() => resolve(params), [params.range, params.from, params.to, tick]);
  const f = params.f || "";
  const base = useSummaries(`${f}|${range.start}|${range.end}`, range.start, range.end, f, tick);
  const narrowed = narrow(f, params.lo, params.hi);
  const banded = narrowed !== f;
  const band = useSummaries(banded ? `${narrowed}|${range.start}|${range.end}` : null, range.start, range.end, narrowed, tick);
  const list = banded ? band : base;

  const [sortKey, sortDir] = (params.sort || "start:desc").split(":");
  const rows = useMemo(() => {
    const col = COLS.find((c) => c[0] === sortKey) || COLS[0];
    const get = col[2], dir = sortDir === "asc" ? 1 : -1;
    return list.rows.slice().sort((a, b) => { const x = get(a), y = get(b); return x < y ? -dir : x > y ? dir : 0; });
  }, [list.rows, sortKey, sortDir]);
  const hist = useMemo(() => histogram(base.rows), [base.rows]);
  const svcNames = useMemo(() => [...new Set(base.rows.flatMap((t) => services(t.ServiceIds)))].sort(), [base.rows]);
  const annKeys = useMemo(() => [...new Set(base.rows.flatMap((t) => Object.keys(t.Annotations || {})))].sort(), [base.rows]);
  const onSelect = useCallback((a, b) => setParams({ lo: String(+Math.max(0, a).toFixed(4)), hi: String(+b.toFixed(4)) }), []);
  const series = useMemo(() => [{ label: "traces", fill: "var(--accent-soft)", stroke: "var(--accent)" }], []);
  const error = base.error || (banded && band.error);

  return (
    <section aria-labelledby="traces-h">
      <header class="pagehead">
        <h1 id="traces-h">Traces</h1>
        <TimeRange params={params} />
        <Refresh params={params} onTick={refresh} />
        <form class="compare" onSubmit={(e) => { e.preventDefault(); const id = e.currentTarget.elements.traceid.value.trim(); if (id) go(["trace", id]); }}>
          <input name="traceid" size={38} class="mono" placeholder="1-5759e988-bd862e3fe1be46a994272793" aria-label="Trace id to open" />
          <button type="submit">Open trace</button>
        </form>
      </header>
      <FilterBox value={f} error={base.error && base.error.position ? base.error : null}
        services={svcNames} annotations={annKeys}
        onSubmit={(v) => go("traces", { ...params, f: v, lo: "", hi: "" })} />
      <div class="panel">
        <div class="panelhead">
          <h2>Response time distribution</h2>
          {hist && <span class="muted">p50 {ms(hist.p50)} · p90 {ms(hist.p90)} · p99 {ms(hist.p99)} · drag to select a band</span>}
          {banded && (
            <span class="band">Band {ms(+params.lo)} – {ms(+params.hi)}{" "}
              <button type="button" onClick={() => setParams({ lo: "", hi: "" })}>Clear band</button></span>
          )}
        </div>
        {hist ? <Plot data={hist.data} series={series} bars scales={logX} onSelect={onSelect} label="Response time histogram" xFmt={(v) => ms(v)} height={160} />
          : <p class="muted">{base.loading ? "Loading…" : "No traces match."}</p>}
      </div>
      <div class="panel">
        <div class="panelhead">
          <h2>Trace list</h2>
          <Status loading={list.loading} error={error && !(error.position && error.position()) ? error : null}>
            <span class="muted" data-testid="trace-count">{rows.length} traces{list.more ? " (more: narrow the filter or range)" : ""}</span>
          </Status>
          {banded && <code class="muted">{narrowed}</code>}
        </div>
        <TraceTable rows={rows} sortKey={sortKey} sortDir={sortDir} />
      </div>
    </section>
  );
}

function TraceTable({ rows, sortKey, sortDir }) {
  const sortBy = (k) => setParams({ sort: `${k}:${k === sortKey && sortDir === "desc" ? "asc" : "desc"}` }, { replace: true });
  return (
    <div class="table traces" role="table" aria-label="Traces" aria-rowcount={rows.length}>
      <div class="tr th" role="row">
        {COLS.map(([k, label]) => (
          <span role="columnheader" class={"c-" + k} aria-sort={k === sortKey ? (sortDir === "asc" ? "ascending" : "descending") : "none"}>
            <button type="button" class="link" onClick={() => sortBy(k)}>{label}{k === sortKey ? (sortDir === "asc" ? " ▲" : " ▼") : ""}</button>
          </span>
        ))}
      </div>
      <VList count={rows.length} rowHeight={30} height={Math.min(560, Math.max(120, rows.length * 30 + 4))} label="Trace rows"
        render={(i, style) => {
          const t = rows[i];
          const cls = t.HasFault ? "fault" : t.HasError ? "error" : t.HasThrottle ? "throttle" : "";
          return (
            <a class={"tr " + cls} role="row" style={style} href={href(["trace", t.Id])} aria-rowindex={i + 1} key={t.Id}>
              <span class="c-start">{time(t.StartTime)}</span>
              <span class="c-id mono">{t.Id}</span>
              <span class="c-method">{t.Http?.HttpMethod || ""}</span>
              <span class="c-url" title={t.Http?.HttpURL}>{t.Http?.HttpURL || ""}</span>
              <span class={"c-status s" + String(t.Http?.HttpStatus || "").charAt(0)}>{t.Http?.HttpStatus || ""}</span>
              <span class="c-duration">{ms(t.Duration)}</span>
              <span class="c-services">{services(t.ServiceIds).join(", ")}</span>
            </a>
          );
        }} />
    </div>
  );
}
