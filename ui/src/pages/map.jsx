// The service map: GetServiceGraph for the chosen range and group, drawn by
// GraphView; clicking a node or an edge shows its response-time
// distribution, its top errors and a link to its traces.
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { serviceGraph, summaries, xray } from "../api.js";
import { go, href, setParams } from "../router.js";
import { resolve } from "../timerange.js";
import { histQuantile, logX, ms, num, pct, quote } from "../format.js";
import { GraphView, nodeKind, ringData } from "../components/graph.jsx";
import { Plot } from "../components/chart.jsx";
import { Refresh, Status, TimeRange } from "../components/controls.jsx";

// stats reads X-Ray's SummaryStatistics into plain counts.
export function stats(s) {
  if (!s) return { ok: 0, error: 0, fault: 0, throttle: 0, total: 0, time: 0 };
  const throttle = s.ErrorStatistics?.ThrottleCount || 0;
  const error = s.ErrorStatistics?.OtherCount ?? Math.max(0, (s.ErrorStatistics?.TotalCount || 0) - throttle);
  const fault = s.FaultStatistics?.TotalCount || 0;
  return { ok: s.OkCount || 0, error, fault, throttle, total: s.TotalCount || 0, time: s.TotalResponseTime || 0 };
}

// toElements converts GetServiceGraph's Services into graph nodes and edges.
export function toElements(graph) {
  const minutes = Math.max(1 / 60, ((graph.EndTime || 0) - (graph.StartTime || 0)) / 60) || 1;
  const byRef = new Map((graph.Services || []).map((s) => [s.ReferenceId, s]));
  const nodes = [], edges = [];
  for (const s of graph.Services || []) {
    const st = stats(s.SummaryStatistics);
    const p99 = histQuantile(s.ResponseTimeHistogram, 0.99);
    const avg = st.total ? st.time / st.total : NaN;
    const rpm = st.total / minutes;
    const kind = nodeKind(s.Type, s.Name);
    nodes.push({
      id: "n" + s.ReferenceId, ref: s.ReferenceId, name: s.Name, type: s.Type || "", kind, root: !!s.Root,
      label: kind === "client" ? "Clients" : `${s.Name}\n${st.total ? `${num(rpm)}/min · avg ${ms(avg)} · p99 ${ms(p99)}` : ""}`,
      rpm, avg, p99, st, ...ringData(st),
    });
    for (const e of s.Edges || []) {
      const t = byRef.get(e.ReferenceId);
      if (!t) continue;
      const es = stats(e.SummaryStatistics);
      const eavg = es.total ? es.time / es.total : NaN;
      const erpm = es.total / minutes;
      edges.push({
        id: `e${s.ReferenceId}-${e.ReferenceId}`, source: "n" + s.ReferenceId, target: "n" + e.ReferenceId,
        from: s.Name, to: t.Name, fromKind: kind, rpm: erpm, avg: eavg, st: es,
        label: es.total ? `${num(erpm)}/min · ${ms(eavg)}` : "", w: Math.min(6, 1 + Math.log10(1 + erpm)), ...ringData(es),
      });
    }
  }
  return { nodes, edges };
}

function useGroups() {
  const [groups, setGroups] = useState([]);
  useEffect(() => {
    xray("Groups", {}).then((r) => setGroups(r.Groups || [])).catch(() => setGroups([]));
  }, []);
  return groups;
}

export function MapPage({ params }) {
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  const range = useMemo(() => resolve(params, Date.now() / 1000, "1h"), [params.range, params.from, params.to, tick]);
  const groups = useGroups();
  const [st, setSt] = useState({ graph: null, loading: true, error: null });
  const [renderMs, setRenderMs] = useState(null);
  useEffect(() => {
    const ac = new AbortController();
    setSt((s) => ({ ...s, loading: true, error: null }));
    serviceGraph({ start: range.start, end: range.end, group: params.group, signal: ac.signal })
      .then((g) => setSt({ graph: g, loading: false, error: null }))
      .catch((e) => e.name !== "AbortError" && setSt({ graph: null, loading: false, error: e }));
    return () => ac.abort();
  }, [range.start, range.end, params.group]);
  const els = useMemo(() => (st.graph ? toElements(st.graph) : { nodes: [], edges: [] }), [st.graph]);
  const selected = params.node ? els.nodes.find((n) => n.id === params.node) : params.edge ? els.edges.find((e) => e.id === params.edge) : null;
  const onSelect = useCallback((sel) => setParams({ node: sel && sel.kind === "node" ? sel.id : "", edge: sel && sel.kind === "edge" ? sel.id : "" }), []);
  return (
    <section aria-labelledby="map-h">
      <header class="pagehead">
        <h1 id="map-h">Service map</h1>
        <TimeRange params={params} />
        <Refresh params={params} onTick={refresh} />
        <label>Group{" "}
          <select aria-label="Group" value={params.group || ""} onChange={(e) => setParams({ group: e.currentTarget.value })}>
            <option value="">All traces</option>
            {groups.map((g) => <option value={g.GroupName}>{g.GroupName}</option>)}
          </select>
        </label>
        <button type="button" onClick={refresh}>Reload</button>
      </header>
      <Status loading={st.loading && !st.graph} error={st.error && (st.error.status === 404 ? new Error("This server does not serve GetServiceGraph (POST /ServiceGraph) yet.") : st.error)}>
        <span class="muted" data-testid="map-count">{els.nodes.length} nodes · {els.edges.length} edges{renderMs != null ? ` · drawn in ${Math.round(renderMs)} ms` : ""}</span>
      </Status>
      <div class="legend" aria-label="Legend">
        <span><i style={{ background: "var(--ok)" }} /> OK</span><span><i style={{ background: "var(--error)" }} /> error (4xx)</span>
        <span><i style={{ background: "var(--throttle)" }} /> throttle (429)</span><span><i style={{ background: "var(--fault)" }} /> fault (5xx)</span>
      </div>
      <div class="map-layout">
        {st.graph && (
          <GraphView nodes={els.nodes} edges={els.edges} onSelect={onSelect} selected={params.node || params.edge} label="Service map"
            onRendered={(ms, built) => { setRenderMs(ms); console.debug(`map: ${els.nodes.length} nodes built+laid out in ${built.toFixed(0)} ms, drawn in ${ms.toFixed(0)} ms`); }}
            height={els.nodes.length <= 30 ? Math.max(420, Math.min(860, 48 * els.nodes.length)) : 820} />
        )}
        {selected && <Details sel={selected} range={range} params={params} isEdge={!!params.edge} graph={st.graph} />}
      </div>
      {els.nodes.length > 0 && <NodeTable nodes={els.nodes} />}
    </section>
  );
}

// NodeTable lists the nodes as text (and keyboard-reachable buttons), the
// accessible twin of the canvas.
function NodeTable({ nodes }) {
  const sorted = nodes.slice().sort((a, b) => b.rpm - a.rpm);
  return (
    <div class="panel">
      <div class="panelhead"><h2>Nodes</h2></div>
      <table class="grid"><thead><tr><th>Node</th><th>Type</th><th>Requests/min</th><th>Avg</th><th>p99</th><th>Errors</th><th>Faults</th><th>Throttles</th></tr></thead>
        <tbody>{sorted.map((n) => (
          <tr><td><button type="button" class="link" onClick={() => setParams({ node: n.id, edge: "" })}>{n.name}</button></td>
            <td>{n.type}</td><td>{num(n.rpm)}</td><td>{ms(n.avg)}</td><td>{ms(n.p99)}</td>
            <td>{pct(n.st.error, n.st.total)}</td><td>{pct(n.st.fault, n.st.total)}</td><td>{pct(n.st.throttle, n.st.total)}</td></tr>
        ))}</tbody></table>
    </div>
  );
}

// topErrors ranks the root-cause exceptions of matching traces.
export function topErrors(rows, service) {
  const count = new Map();
  for (const t of rows)
    for (const rc of [...(t.FaultRootCauses || []), ...(t.ErrorRootCauses || [])])
      for (const s of rc.Services || []) {
        if (service && s.Name !== service) continue;
        for (const ent of s.EntityPath || [])
          for (const ex of ent.Exceptions || []) {
            const k = `${s.Name}: ${ex.Name || "error"}${ex.Message ? " — " + ex.Message : ""}`;
            count.set(k, (count.get(k) || 0) + 1);
          }
      }
  return [...count.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
}

function Details({ sel, range, params, isEdge, graph }) {
  const filter = isEdge
    ? (sel.fromKind === "client" ? `service(${quote(sel.to)})` : `edge(${quote(sel.from)}, ${quote(sel.to)})`)
    : sel.kind === "client" ? "" : `service(${quote(sel.name)})`;
  const hist = useMemo(() => {
    const svc = (graph.Services || []).find((s) => "n" + s.ReferenceId === (isEdge ? sel.source : sel.id));
    const h = isEdge ? (svc?.Edges || []).find((e) => "n" + e.ReferenceId === sel.target)?.ResponseTimeHistogram : svc?.ResponseTimeHistogram;
    if (!h || !h.length) return null;
    const s = [...h].sort((a, b) => a.Value - b.Value);
    return [s.map((b) => b.Value), s.map((b) => b.Count)];
  }, [sel, graph]);
  const [errs, setErrs] = useState(null);
  useEffect(() => {
    const ac = new AbortController();
    setErrs(null);
    const f = filter ? `${filter} { fault OR error OR throttle }` : "fault OR error OR throttle";
    summaries({ start: range.start, end: range.end, filter: f, limit: 500, signal: ac.signal })
      .then(({ summaries: rows }) => setErrs(topErrors(rows, isEdge ? sel.to : sel.name)))
      .catch((e) => e.name !== "AbortError" && setErrs([["could not load: " + e.message, 0]]));
    return () => ac.abort();
  }, [filter, range.start, range.end]);
  const series = useMemo(() => [{ label: "requests", fill: "var(--accent-soft)", stroke: "var(--accent)" }], []);
  const traceParams = { f: filter, range: params.range, from: params.from, to: params.to };
  return (
    <aside class="panel side" aria-label="Selection details" data-testid="map-details">
      <h2>{isEdge ? `${sel.from} → ${sel.to}` : sel.name}</h2>
      <dl class="summary">
        <div><dt>Requests/min</dt><dd>{num(sel.rpm)}</dd></div>
        <div><dt>Average</dt><dd>{ms(sel.avg)}</dd></div>
        {!isEdge && <div><dt>p99</dt><dd>{ms(sel.p99)}</dd></div>}
        <div><dt>OK</dt><dd>{pct(sel.st.ok, sel.st.total)}</dd></div>
        <div><dt>Errors</dt><dd>{pct(sel.st.error, sel.st.total)}</dd></div>
        <div><dt>Faults</dt><dd>{pct(sel.st.fault, sel.st.total)}</dd></div>
        <div><dt>Throttles</dt><dd>{pct(sel.st.throttle, sel.st.total)}</dd></div>
      </dl>
      <h3>Response time distribution</h3>
      {hist ? <Plot data={hist} series={series} bars scales={hist[0][0] > 0 ? logX : undefined} height={140} label="Response time distribution" xFmt={(v) => ms(v)} /> : <p class="muted">No histogram.</p>}
      <h3>Over time</h3>
      <Series selector={filter} range={range} group={params.group} />
      <h3>Top errors</h3>
      {errs === null ? <p class="muted">Loading…</p> : errs.length === 0 ? <p class="muted">No errors in this range.</p> : (
        <ol class="errors">{errs.map(([k, n]) => <li><span>{k}</span> <b>{n}</b></li>)}</ol>
      )}
      <p><a class="button" href={href("traces", traceParams)}>View traces{filter ? ` (${filter})` : ""}</a></p>
    </aside>
  );
}

// Series charts a node's or edge's requests and faults/errors per period,
// from GetTimeSeriesServiceStatistics.
function Series({ selector, range, group }) {
  const [st, setSt] = useState(null);
  useEffect(() => {
    if (!selector) return setSt(null);
    const ac = new AbortController();
    const period = Math.max(60, Math.ceil(range.seconds / 60 / 60) * 60);
    const body = { StartTime: range.start, EndTime: range.end, EntitySelectorExpression: selector, Period: period };
    if (group) body.GroupName = group;
    xray("TimeSeriesServiceStatistics", body, ac.signal)
      .then((r) => {
        const pts = (r.TimeSeriesServiceStatistics || []).slice().sort((a, b) => a.Timestamp - b.Timestamp);
        const per = period / 60;
        const get = (p) => stats(p.ServiceSummaryStatistics || p.EdgeSummaryStatistics);
        setSt({ data: [pts.map((p) => p.Timestamp), pts.map((p) => get(p).total / per), pts.map((p) => (get(p).fault + get(p).error + get(p).throttle) / per)] });
      })
      .catch((e) => e.name !== "AbortError" && setSt({ error: e }));
    return () => ac.abort();
  }, [selector, range.start, range.end, group]);
  const series = useMemo(() => [{ label: "requests/min", stroke: "var(--accent)" }, { label: "errors+faults/min", stroke: "var(--fault)" }], []);
  if (!st) return <p class="muted">{selector ? "Loading…" : "—"}</p>;
  if (st.error) return <p class="muted">{st.error.status === 404 ? "No time series on this server." : st.error.message}</p>;
  if (!st.data[0].length) return <p class="muted">No data in this range.</p>;
  return <Plot data={st.data} series={series} xTime height={130} label="Requests and errors over time" />;
}

// MapPanel is the map without controls, for dashboards.
export function MapPanel({ range }) {
  const [st, setSt] = useState({ graph: null, error: null });
  useEffect(() => {
    const ac = new AbortController();
    serviceGraph({ start: range.start, end: range.end, signal: ac.signal })
      .then((g) => setSt({ graph: g, error: null }))
      .catch((e) => e.name !== "AbortError" && setSt({ graph: null, error: e }));
    return () => ac.abort();
  }, [range.start, range.end]);
  const els = useMemo(() => (st.graph ? toElements(st.graph) : null), [st.graph]);
  if (st.error) return <p class="err">{st.error.status === 404 ? "This server does not serve GetServiceGraph yet." : st.error.message}</p>;
  if (!els) return <p class="muted">Loading…</p>;
  return <GraphView nodes={els.nodes} edges={els.edges} height={360} label="Service map"
    onSelect={(sel) => sel && sel.kind === "node" && go("map", { node: sel.id })} />;
}
