// Deployment markers (/api/deployments, internal/deploy): the list, newest
// first, each with its gate verdict (the service before vs after the marker)
// and a link into the analytics before/after comparison; a form to create
// and edit one; delete with confirmation. useDeployMarks feeds the markers
// drawn on the analytics page's latency chart.
import { useEffect, useMemo, useState } from "preact/hooks";
import { getJSON, sendJSON, xray } from "../api.js";
import { href, setParams } from "../router.js";
import { ms } from "../format.js";
import { Status } from "../components/controls.jsx";
import "./deployments.css";

const WINDOWS = ["5m", "15m", "30m", "1h", "3h"];
const EMPTY = { service: "", version: "", environment: "", time: "", commit: "", url: "", author: "", description: "" };
const enc = encodeURIComponent;

// The datetime-local form of a time, in the browser's zone, to the second.
const toLocal = (iso) => {
  const d = iso ? new Date(iso) : new Date();
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
};
const when = (iso) => toLocal(iso).replace("T", " ");
const epoch = (iso) => Math.floor(new Date(iso).getTime() / 1000);
const rate = (v) => (v == null ? "–" : (100 * v).toFixed(2) + "%");

// compareHref opens the analytics before/after comparison of a marker's
// service over the gate's windows (analytics.jsx: range=custom, from, to,
// and the marker splitting them).
export function compareHref(d, g) {
  const t = epoch(d.time);
  const w = g ? epoch(g.after.end) - epoch(g.after.start) : 900;
  return href("analytics", { range: "custom", from: g ? epoch(g.before.start) : t - w, to: g ? epoch(g.after.end) : t + w,
    marker: t, f: `service("${d.service.replace(/["\\]/g, "\\$&")}")` });
}

// useDeployMarks lists the markers in [range.start, range.end) as
// {x (epoch seconds), label} for a chart; [] when there are none or the
// server has no deployments API.
export function useDeployMarks(range) {
  const [marks, setMarks] = useState([]);
  useEffect(() => {
    const ac = new AbortController();
    getJSON(`/api/deployments?from=${Math.floor(range.start)}&to=${Math.ceil(range.end)}&limit=200`, ac.signal)
      .then((r) => setMarks(r.deployments.map((d) => ({
        x: epoch(d.time), label: `${d.service} ${d.version}${d.environment ? " (" + d.environment + ")" : ""} deployed ${when(d.time)}`,
      }))))
      .catch(() => setMarks([]));
    return () => ac.abort();
  }, [range.start, range.end]);
  return marks;
}

export function DeploymentsPage({ params }) {
  const gw = WINDOWS.includes(params.window) ? params.window : "15m";
  const [st, setSt] = useState({ list: null, more: false, error: null });
  const [edit, setEdit] = useState(null);
  const [err, setErr] = useState(null);
  const [gen, setGen] = useState(0);
  const service = params.service || "";
  const [text, setText] = useState(service);
  useEffect(() => {
    const ac = new AbortController();
    const q = new URLSearchParams({ limit: "50" });
    if (service) q.set("service", service);
    getJSON("/api/deployments?" + q, ac.signal).then((r) => setSt({ list: r.deployments, more: r.more, error: null }))
      .catch((e) => e.name !== "AbortError" && setSt({ list: null, more: false, error: e.status === 404 ? new Error("This server has no deployments API.") : e }));
    return () => ac.abort();
  }, [service, gen]);
  const services = useServices();
  const editing = !!edit;
  useEffect(() => { if (editing) document.querySelector("#dep-form input")?.focus(); }, [editing]);
  async function save(e) {
    e.preventDefault(); setErr(null);
    const body = {};
    for (const k of Object.keys(EMPTY)) if (edit[k]) body[k] = edit[k].trim ? edit[k].trim() : edit[k];
    if (edit.time) body.time = new Date(edit.time).toISOString();
    try {
      if (edit.id) await sendJSON("PUT", "/api/deployments/" + enc(edit.id), body);
      else await sendJSON("POST", "/api/deployments", body);
      setEdit(null); setGen(gen + 1);
    } catch (x) { setErr(x); }
  }
  async function del(d) {
    if (!confirm(`Delete the marker of ${d.service} ${d.version} (${d.id})?`)) return;
    setErr(null);
    try { await sendJSON("DELETE", "/api/deployments/" + enc(d.id)); setGen(gen + 1); } catch (x) { setErr(x); }
  }
  const f = (k, label, extra = {}) => (
    <label>{label} <input value={edit[k]} {...extra} onInput={(e) => setEdit({ ...edit, [k]: e.currentTarget.value })} /></label>
  );
  return (
    <section aria-labelledby="dep-h">
      <header class="pagehead">
        <h1 id="dep-h">Deployments</h1>
        <button type="button" onClick={() => { setErr(null); setEdit({ ...EMPTY, time: toLocal() }); }}>New deployment</button>
        <form role="search" class="inline" onSubmit={(e) => { e.preventDefault(); setParams({ service: text.trim() }); }}>
          <input aria-label="Service" placeholder="all services" list="dep-services" value={text} onInput={(e) => setText(e.currentTarget.value)} />
          <button type="submit">Filter</button>
        </form>
        <label>Gate window{" "}
          <select aria-label="Gate window" value={gw} onChange={(e) => setParams({ window: e.currentTarget.value }, { replace: true })}>
            {WINDOWS.map((w) => <option value={w}>{w} before / after</option>)}
          </select>
        </label>
      </header>
      <datalist id="dep-services">{services.map((s) => <option value={s} />)}</datalist>
      {err && <p class="err" role="alert">{err.message}</p>}
      {edit && (
        <form id="dep-form" class="panel form" aria-label={edit.id ? `Edit deployment ${edit.id}` : "New deployment"} onSubmit={save}
          onKeyDown={(e) => e.key === "Escape" && setEdit(null)}>
          <div class="dep-form-row">
            {f("service", "Service", { required: true, maxLength: 200, list: "dep-services" })}
            {f("version", "Version", { required: true, maxLength: 128 })}
            {f("environment", "Environment", { maxLength: 64, placeholder: "production" })}
          </div>
          <div class="dep-form-row">
            {f("time", "Deployed at", { type: "datetime-local", step: 1, required: true })}
            {f("commit", "Commit", { maxLength: 128, class: "mono" })}
            {f("author", "Author", { maxLength: 200 })}
          </div>
          {f("url", "Link", { type: "url", maxLength: 2048, placeholder: "https://… (the pipeline run or release)" })}
          <label>Description <textarea rows={3} maxLength={2000} value={edit.description} onInput={(e) => setEdit({ ...edit, description: e.currentTarget.value })} /></label>
          <div class="actions"><button type="submit">Save</button><button type="button" onClick={() => setEdit(null)}>Cancel</button></div>
        </form>
      )}
      <Status loading={!st.list && !st.error} error={st.error}>
        {st.list && !st.list.length && <span class="muted">No deployments{service ? ` of ${service}` : ""} yet. Record one here, with <code>fluoro deploy mark</code>, or <code>POST /api/deployments</code>.</span>}
      </Status>
      {st.list && st.list.length > 0 && (
        <table class="grid" data-testid="deployments"><thead><tr><th>Deployed</th><th>Service</th><th>Version</th><th>Environment</th><th>Gate ({gw} before / after)</th><th>Details</th><th /></tr></thead>
          <tbody>{st.list.map((d) => <Row key={d.id + gen} d={d} gw={gw}
            onEdit={() => { setErr(null); setEdit({ ...EMPTY, ...d, time: toLocal(d.time) }); }} onDelete={() => del(d)} />)}</tbody></table>
      )}
      {st.more && <p class="muted">Showing the newest 50; filter by service to see older ones.</p>}
    </section>
  );
}

// useServices names the services of the last day's service map, for the
// form's suggestions.
function useServices() {
  const [names, setNames] = useState([]);
  useEffect(() => {
    const now = Date.now() / 1000;
    xray("ServiceGraph", { StartTime: now - 86400, EndTime: now })
      .then((g) => setNames([...new Set((g.Services || []).filter((s) => s.SummaryStatistics && s.Type !== "client").map((s) => s.Name))].sort()))
      .catch(() => setNames([]));
  }, []);
  return names;
}

function Row({ d, gw, onEdit, onDelete }) {
  const [g, setG] = useState({ r: null, error: null });
  useEffect(() => {
    const ac = new AbortController();
    setG({ r: null, error: null });
    getJSON(`/api/deployments/${enc(d.id)}/gate?window=${gw}`, ac.signal).then((r) => setG({ r, error: null }))
      .catch((e) => e.name !== "AbortError" && setG({ r: null, error: e }));
    return () => ac.abort();
  }, [d.id, gw]);
  return (
    <tr class={g.r?.verdict === "fail" ? "fault" : ""}>
      <td><time datetime={d.time}>{when(d.time)}</time></td>
      <td>{d.service}</td>
      <td class="mono">{d.version}{d.commit && <small class="muted"> {d.commit.slice(0, 12)}</small>}</td>
      <td>{d.environment || "–"}</td>
      <td><Verdict g={g} /> <a href={compareHref(d, g.r)}>compare before/after</a></td>
      <td class="dep-details">
        {d.description && <div>{d.description}</div>}
        {(d.author || d.url) && <div class="muted">{d.author}{d.author && d.url ? " · " : ""}{d.url && <a href={d.url} rel="noreferrer noopener" target="_blank">pipeline</a>}</div>}
        {g.r && <Checks r={g.r} />}
      </td>
      <td class="dep-actions"><button type="button" onClick={onEdit} aria-label={`Edit ${d.id}`}>Edit</button>
        <button type="button" class="danger" onClick={onDelete} aria-label={`Delete ${d.id}`}>Delete</button></td>
    </tr>
  );
}

const LABEL = { pass: "pass", fail: "fail", "insufficient-data": "insufficient data" };

function Verdict({ g }) {
  if (g.error) return <span class="err">{g.error.message}</span>;
  if (!g.r) return <span class="muted">…</span>;
  const r = g.r;
  return (
    <span class={"dep-verdict " + r.verdict} data-testid="verdict" title={r.summary}>
      {LABEL[r.verdict] || r.verdict}{r.verdict === "fail" && `: ${r.failed.join(", ").replace(/_/g, " ")}`}{!r.complete && " (so far)"}
    </span>
  );
}

function Checks({ r }) {
  const fmt = (c, v) => (c.name === "requests" ? String(v) : c.name.endsWith("_rate") ? rate(v) : ms(v));
  const rows = useMemo(() => r.checks, [r]);
  return (
    <details>
      <summary>Checks</summary>
      <table class="grid dep-checks"><thead><tr><th>Check</th><th>Before</th><th>After</th><th>Limit</th><th>Result</th></tr></thead>
        <tbody>{rows.map((c) => (
          <tr class={c.status === "fail" ? "fault" : ""} title={c.message}><th scope="row">{c.name.replace(/_/g, " ")}</th><td>{fmt(c, c.before)}</td><td>{fmt(c, c.after)}</td>
            <td>{c.name === "requests" ? "≥ " : "≤ "}{fmt(c, c.limit)}</td><td>{c.status}</td></tr>
        ))}</tbody></table>
    </details>
  );
}
