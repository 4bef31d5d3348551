// Alerts: rules over a service's or a filter's request rate, error, fault
// and throttle rates and latency, with their state, last value and history,
// stored by the server under /api/alerts (docs/alerts.md). "#/alerts/<name>"
// shows a rule's transitions.
import { useEffect, useRef, useState } from "preact/hooks";
import { getJSON, sendJSON, serviceGraph, xray } from "../api.js";
import { href } from "../router.js";
import { Status } from "../components/controls.jsx";

const METRICS = [
  ["fault_rate", "Fault rate (5xx), fraction"], ["error_rate", "Error rate (4xx), fraction"],
  ["throttle_rate", "Throttle rate (429), fraction"], ["request_rate", "Requests per minute"],
  ["p50", "p50 latency, seconds"], ["p90", "p90 latency, seconds"], ["p99", "p99 latency, seconds"], ["avg", "Average latency, seconds"],
];
const RATES = new Set(["fault_rate", "error_rate", "throttle_rate"]);
const COLOURS = { ok: "var(--ok)", pending: "var(--error)", firing: "var(--fault)", nodata: "var(--fg-muted)", disabled: "var(--fg-muted)" };
const NEW = { name: "", description: "", scope: "service", service: "", type: "", filter: "", group: "", metric: "fault_rate",
  comparator: ">", threshold: "0.05", window: "5m", for: "0s", min_requests: "10", enabled: true, notify: "" };

// value formats a metric's value: rates as percentages, latencies in ms or
// s, the request rate per minute.
export function value(metric, v) {
  if (v === null || v === undefined) return "–";
  if (RATES.has(metric)) return (v * 100).toFixed(2) + "%";
  if (metric === "request_rate") return v.toFixed(1) + "/min";
  return v < 1 ? (v * 1000).toFixed(1) + " ms" : v.toFixed(3) + " s";
}

// dur shortens Go's durations: "1h0m0s" to "1h", "5m0s" to "5m".
const dur = (d) => (d || "").replace(/^(.*?h)0m0s$/, "$1").replace(/^(.*m)0s$/, "$1");
const when = (iso) => (iso && !iso.startsWith("0001") ? new Date(iso).toLocaleString() : "–");

// Badge shows a state with a coloured dot; the text carries the meaning.
function Badge({ state }) {
  return (
    <span class="badge" data-state={state} style={{ display: "inline-flex", alignItems: "center", gap: "5px", padding: "0 8px",
      borderRadius: "10px", border: `1px solid ${COLOURS[state] || "var(--border)"}`, fontWeight: 600, whiteSpace: "nowrap" }}>
      <span aria-hidden="true" style={{ color: COLOURS[state] }}>●</span>{state}
    </span>
  );
}

// FilterError shows a filter's positioned error as the filter box does:
// the line and column, and a caret under the column.
function FilterError({ id, error, text }) {
  const pos = error && error.position ? error.position() : null;
  return (
    <div id={id} class="filter-error" role="alert">
      {error && (pos ? (
        <>
          <div class="err"><strong>Line {pos.line}, column {pos.col}:</strong> {pos.msg}</div>
          <pre class="caret" aria-hidden="true">{(text.split("\n")[pos.line - 1] ?? "") + "\n" + " ".repeat(Math.max(0, pos.col - 1)) + "^"}</pre>
        </>
      ) : <div class="err">{error.message}</div>)}
    </div>
  );
}

export function AlertsPage({ name }) {
  const [st, setSt] = useState({ list: null, error: null });
  const [edit, setEdit] = useState(null);
  const load = () => getJSON("/api/alerts").then((r) => setSt({ list: r.alerts, error: null })).catch((e) => setSt({ list: null, error: e }));
  useEffect(() => {
    load();
    const t = setInterval(load, 10000);
    return () => clearInterval(t);
  }, []);
  async function del(n) {
    if (!confirm(`Delete alert rule ${n}?`)) return;
    try { await sendJSON("DELETE", "/api/alerts/" + encodeURIComponent(n)); load(); } catch (e) { setSt({ ...st, error: e }); }
  }
  const open = (r) => setEdit(r ? toForm(r) : { ...NEW, isNew: true });
  return (
    <section aria-labelledby="al-h">
      <header class="pagehead"><h1 id="al-h">Alerts</h1><button type="button" id="al-new" onClick={() => open(null)}>New rule</button></header>
      <Status loading={!st.list && !st.error} error={st.error}>
        {st.list && <span class="muted">{st.list.length} {st.list.length === 1 ? "rule" : "rules"} · {st.list.filter((r) => r.enabled && r.status.state === "firing").length} firing</span>}
      </Status>
      {edit && <Editor key={edit.isNew ? "new" : edit.name} initial={edit} onDone={(saved) => {
        setEdit(null);
        if (saved) load();
        requestAnimationFrame(() => document.getElementById("al-new")?.focus()); // focus leaves the closed form for a known place
      }} />}
      {st.list && st.list.length === 0 && !edit && <p class="muted">No alert rules yet. A rule watches a service's or a filter's fault, error or throttle rate, request rate or latency, and POSTs to webhooks when it fires and resolves.</p>}
      {st.list && st.list.length > 0 && (
        <table class="grid" data-testid="alerts">
          <thead><tr><th>Name</th><th>State</th><th>Last value</th><th>Condition</th><th>Window</th><th>Scope</th><th>Since</th><th /></tr></thead>
          <tbody>{st.list.map((r) => {
            const state = r.enabled ? r.status.state : "disabled";
            return (
              <tr class={state === "firing" ? "fault" : ""}>
                <td><a href={href(["alerts", r.name])}>{r.name}</a>{r.description && <div class="muted">{r.description}</div>}</td>
                <td><Badge state={state} />{r.status.error && <div class="err" title={r.status.error}>evaluation failed</div>}</td>
                <td>{value(r.metric, r.status.value)}{r.status.evaluated ? <div class="muted">{r.status.requests} requests{r.status.truncated ? ` (newest ${r.status.scanned} traces)` : ""}</div> : <div class="muted">not evaluated yet</div>}</td>
                <td class="mono">{r.metric} {r.comparator} {value(r.metric, r.threshold)}</td>
                <td>{dur(r.window)}{r.for !== "0s" ? ` for ${dur(r.for)}` : ""}</td>
                <td class="mono">{r.service ? `service ${r.service.name}${r.service.type ? ` (${r.service.type})` : ""}` : r.filter}{r.group ? ` · group ${r.group}` : ""}</td>
                <td>{when(r.status.since)}</td>
                <td style={{ whiteSpace: "nowrap" }}>
                  <button type="button" aria-label={`Edit ${r.name}`} onClick={() => open(r)}>Edit</button>{" "}
                  <button type="button" class="danger" aria-label={`Delete ${r.name}`} onClick={() => del(r.name)}>Delete</button>
                </td>
              </tr>
            );
          })}</tbody>
        </table>
      )}
      {name && <History name={name} metric={st.list?.find((r) => r.name === name)?.metric} />}
    </section>
  );
}

// toForm turns a stored rule into the editor's strings.
function toForm(r) {
  return { name: r.name, description: r.description || "", scope: r.service ? "service" : "filter", service: r.service?.name || "",
    type: r.service?.type || "", filter: r.filter || "", group: r.group || "", metric: r.metric, comparator: r.comparator,
    threshold: String(r.threshold), window: dur(r.window), for: dur(r.for), min_requests: String(r.min_requests), enabled: r.enabled,
    notify: (r.notify || []).join("\n") };
}

// toRule turns the editor's strings into the API's rule.
function toRule(f) {
  const r = { name: f.name.trim(), description: f.description, metric: f.metric, comparator: f.comparator, threshold: Number(f.threshold),
    window: f.window.trim(), for: f.for.trim() || "0s", min_requests: Number(f.min_requests || 0), enabled: f.enabled,
    notify: f.notify.split("\n").map((s) => s.trim()).filter(Boolean) };
  if (f.group) r.group = f.group;
  if (f.scope === "service") r.service = { name: f.service.trim(), ...(f.type.trim() ? { type: f.type.trim() } : {}) };
  else r.filter = f.filter;
  return r;
}

function useOptions() {
  const [opts, setOpts] = useState({ services: [], groups: [] });
  useEffect(() => {
    const end = Date.now() / 1000;
    Promise.allSettled([serviceGraph({ start: end - 3600, end }), xray("Groups", {})]).then(([g, gr]) => setOpts({
      services: g.status === "fulfilled" ? [...new Set((g.value.Services || []).filter((s) => s.Type !== "client").map((s) => s.Name))].sort() : [],
      groups: gr.status === "fulfilled" ? (gr.value.Groups || []).map((x) => x.GroupName).filter((n) => n !== "Default") : [],
    }));
  }, []);
  return opts;
}

function Editor({ initial, onDone }) {
  const [f, setF] = useState(initial);
  const [error, setError] = useState(null);
  const [test, setTest] = useState(null);
  const [busy, setBusy] = useState(false);
  const form = useRef(null);
  const opts = useOptions();
  useEffect(() => { form.current?.querySelector("input:not([disabled])")?.focus(); }, []);
  const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.type === "checkbox" ? e.currentTarget.checked : e.currentTarget.value });
  // A filter's syntax error shows under the filter; anything else above the buttons.
  const filterErr = error && f.scope === "filter" && /^filter: /.test(error.message) ? error : null;
  async function save(e) {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const r = toRule(f);
      if (f.isNew) await sendJSON("POST", "/api/alerts", r);
      else await sendJSON("PUT", "/api/alerts/" + encodeURIComponent(f.name), r);
      onDone(true);
    } catch (x) { setError(x); } finally { setBusy(false); }
  }
  async function run() {
    setBusy(true); setError(null); setTest(null);
    try {
      const r = toRule(f);
      const name = r.name || "draft";
      delete r.name;
      setTest(await sendJSON("POST", `/api/alerts/${encodeURIComponent(name)}/test`, r));
    } catch (x) { setError(x); } finally { setBusy(false); }
  }
  return (
    <form ref={form} class="panel form" aria-label={f.isNew ? "New alert rule" : `Edit alert rule ${f.name}`} onSubmit={save}
      onKeyDown={(e) => e.key === "Escape" && onDone(false)}>
      <h2 style={{ margin: 0, fontSize: "16px" }}>{f.isNew ? "New alert rule" : `Edit ${f.name}`}</h2>
      <label>Name <input required maxLength={64} pattern="[a-z0-9][a-z0-9\-]*" value={f.name} disabled={!f.isNew}
        placeholder="checkout-faults" onInput={set("name")} /></label>
      <label>Description <input maxLength={1000} value={f.description} onInput={set("description")} /></label>
      <fieldset><legend>Scope</legend>
        <label class="check"><input type="radio" name="scope" checked={f.scope === "service"} onChange={() => setF({ ...f, scope: "service" })} /> A service</label>
        <label class="check"><input type="radio" name="scope" checked={f.scope === "filter"} onChange={() => setF({ ...f, scope: "filter" })} /> Traces matching a filter</label>
        {f.scope === "service" ? (
          <div style={{ display: "grid", gridTemplateColumns: "2fr 1fr", gap: "8px", marginTop: "6px" }}>
            <label>Service name <input required list="alert-services" value={f.service} onInput={set("service")} /></label>
            <datalist id="alert-services">{opts.services.map((s) => <option value={s} />)}</datalist>
            <label>Service type (optional) <input value={f.type} placeholder="any" onInput={set("type")} /></label>
          </div>
        ) : (
          <div style={{ marginTop: "6px" }}>
            <label>Filter expression <input class="mono" required value={f.filter} spellcheck={false} placeholder='service("checkout") { fault }'
              aria-invalid={filterErr ? "true" : "false"} aria-describedby="alert-filter-error" onInput={set("filter")} /></label>
            <FilterError id="alert-filter-error" error={filterErr} text={f.filter} />
          </div>
        )}
        <label style={{ marginTop: "6px" }}>Group{" "}
          <select value={f.group} onChange={set("group")}>
            <option value="">Default (every trace)</option>
            {[...new Set([...opts.groups, ...(f.group ? [f.group] : [])])].map((g) => <option value={g}>{g}</option>)}
          </select>
        </label>
      </fieldset>
      <fieldset><legend>Condition</legend>
        <div style={{ display: "grid", gridTemplateColumns: "2fr 1fr 1fr", gap: "8px" }}>
          <label>Metric <select value={f.metric} onChange={set("metric")}>{METRICS.map(([k, l]) => <option value={k}>{l}</option>)}</select></label>
          <label>Comparator <select value={f.comparator} onChange={set("comparator")}>{[">", ">=", "<", "<="].map((c) => <option value={c}>{c}</option>)}</select></label>
          <label>Threshold <input type="number" required min="0" max={RATES.has(f.metric) ? 1 : undefined} step="any" value={f.threshold} onInput={set("threshold")} /></label>
          <label>Window <input required value={f.window} placeholder="5m" onInput={set("window")} /></label>
          <label>For <input value={f.for} placeholder="0s" onInput={set("for")} /></label>
          <label>Min requests <input type="number" min="0" step="1" value={f.min_requests} onInput={set("min_requests")} /></label>
        </div>
        <p class="muted" style={{ margin: "6px 0 0" }}>{RATES.has(f.metric) ? "Rates are fractions: 0.05 is 5%. " : ""}
          Fires when the condition has held for "For" (1m…24h windows; below "Min requests" the rule has no data and never fires).</p>
      </fieldset>
      <label>Webhooks, one URL per line (http or https) <textarea rows={3} class="mono" value={f.notify} onInput={set("notify")}
        style={{ font: "inherit", color: "var(--fg)", background: "var(--bg-2)", border: "1px solid var(--border)", borderRadius: "4px", padding: "4px 8px" }} /></label>
      <label class="check"><input type="checkbox" checked={f.enabled} onChange={set("enabled")} /> Enabled</label>
      {error && !filterErr && <p class="err" role="alert">{error.message}</p>}
      {test && (
        <p role="status" data-testid="alert-test">Now: <strong>{test.nodata ? "no data" : value(f.metric, test.value)}</strong> over {test.requests} requests
          {test.truncated ? ` (the newest ${test.scanned} traces)` : ""} → would be <Badge state={test.state} /></p>
      )}
      <div class="actions">
        <button type="submit" disabled={busy}>Save</button>
        <button type="button" disabled={busy} onClick={run}>Test now</button>
        <button type="button" onClick={() => onDone(false)}>Cancel</button>
      </div>
    </form>
  );
}

function History({ name, metric }) {
  const [st, setSt] = useState({ events: null, error: null });
  useEffect(() => {
    setSt({ events: null, error: null });
    getJSON(`/api/alerts/${encodeURIComponent(name)}/events`).then((r) => setSt({ events: r.events, error: null })).catch((e) => setSt({ events: null, error: e }));
  }, [name]);
  return (
    <section class="panel" aria-labelledby="al-hist">
      <div class="panelhead"><h2 id="al-hist">History of {name}</h2><a href={href("alerts")}>Close</a></div>
      <Status loading={!st.events && !st.error} error={st.error} />
      {st.events && st.events.length === 0 && <p class="muted">No transitions yet.</p>}
      {st.events && st.events.length > 0 && (
        <table class="grid" data-testid="alert-events">
          <thead><tr><th>Time</th><th>Transition</th><th>Value</th><th>Requests</th><th>Threshold</th><th>Reason</th></tr></thead>
          <tbody>{st.events.map((e) => (
            <tr><td>{when(e.time)}</td><td><Badge state={e.from} /> → <Badge state={e.to} /></td><td>{metric ? value(metric, e.value) : e.value === null ? "–" : +e.value.toFixed(4)}</td>
              <td>{e.requests}</td><td>{metric ? value(metric, e.threshold) : e.threshold}</td><td>{e.reason || ""}</td></tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}
