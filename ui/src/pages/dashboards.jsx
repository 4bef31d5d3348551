// Dashboards: saved views (a filter, a time range, a set of panels) stored
// by the server under /api/dashboards; each has its own URL, and an edit
// form at "?edit=1".
import { useEffect, useMemo, useState } from "preact/hooks";
import { getJSON, sendJSON } from "../api.js";
import { go, href, setParams } from "../router.js";
import { PRESETS, resolve } from "../timerange.js";
import { PANELS } from "../panels.jsx";
import { useSummaries } from "./traces.jsx";
import { Status, TimeRange } from "../components/controls.jsx";
import { MapPanel } from "./map.jsx";

const ALL_PANELS = { ...Object.fromEntries(Object.entries(PANELS).map(([k, [t]]) => [k, t])), map: "Service map" };

export function DashboardsPage({ id, params }) {
  if (id === "new") return <Editor dashboard={{ name: "", description: "", filter: "", range: "1h", panels: [{ type: "health" }, { type: "latency" }] }} isNew />;
  if (id) return <Dashboard id={id} params={params} />;
  return <List />;
}

function List() {
  const [st, setSt] = useState({ list: null, error: null });
  useEffect(() => { getJSON("/api/dashboards").then((r) => setSt({ list: r.dashboards, error: null })).catch((e) => setSt({ list: null, error: e })); }, []);
  return (
    <section aria-labelledby="dash-h">
      <header class="pagehead"><h1 id="dash-h">Dashboards</h1><a class="button" href={href(["dashboards", "new"])}>New dashboard</a></header>
      <Status loading={!st.list && !st.error} error={st.error} />
      {st.list && (
        <ul class="cards">
          {st.list.map((d) => (
            <li class="panel"><h2><a href={href(["dashboards", d.id])}>{d.name}</a></h2>
              <p class="muted">{d.description}</p>
              <p><small>{d.panels.length} panels · last {d.range}{d.filter ? <> · <code>{d.filter}</code></> : ""}</small></p></li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Dashboard({ id, params }) {
  const [st, setSt] = useState({ d: null, error: null });
  useEffect(() => {
    setSt({ d: null, error: null });
    getJSON("/api/dashboards/" + encodeURIComponent(id)).then((d) => setSt({ d, error: null })).catch((e) => setSt({ d: null, error: e }));
  }, [id, params.saved]);
  if (!st.d) return <Status loading={!st.error} error={st.error} />;
  if (params.edit) return <Editor dashboard={st.d} />;
  return <View d={st.d} params={params} />;
}

function View({ d, params }) {
  const p = { ...params, range: params.range || d.range };
  const range = useMemo(() => resolve(p), [p.range, p.from, p.to]);
  const sums = useSummaries(`${d.filter}|${range.start}|${range.end}`, range.start, range.end, d.filter, 0, 5000);
  return (
    <section aria-labelledby="dash-h">
      <header class="pagehead">
        <h1 id="dash-h">{d.name}</h1>
        <TimeRange params={p} />
        <a class="button" href={href(["dashboards", d.id], { edit: 1 })}>Edit</a>
        <a class="button" href={href("traces", { f: d.filter, range: p.range, from: p.from, to: p.to })}>Open in traces</a>
      </header>
      {d.description && <p class="muted">{d.description}</p>}
      {d.filter && <p>Filter: <code data-testid="dash-filter">{d.filter}</code></p>}
      <Status loading={sums.loading} error={sums.error}><span class="muted">{sums.rows.length} traces</span></Status>
      <div class="dash-grid">
        {d.panels.map((panel) => {
          const [title, Comp] = panel.type === "map" ? ["Service map", null] : PANELS[panel.type] || ["Unknown panel " + panel.type, null];
          return (
            <div class={"panel dash-panel p-" + panel.type}>
              <div class="panelhead"><h2>{panel.title || title}</h2></div>
              {panel.type === "map" ? <MapPanel range={range} /> : Comp && <Comp rows={sums.rows} start={range.start} end={range.end} seconds={range.seconds} />}
            </div>
          );
        })}
      </div>
    </section>
  );
}

function Editor({ dashboard, isNew }) {
  const [d, setD] = useState(dashboard);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const has = (t) => d.panels.some((p) => p.type === t);
  const togglePanel = (t) => setD({ ...d, panels: has(t) ? d.panels.filter((p) => p.type !== t) : [...d.panels, { type: t }] });
  const move = (i, by) => {
    const ps = d.panels.slice();
    const j = i + by;
    if (j < 0 || j >= ps.length) return;
    [ps[i], ps[j]] = [ps[j], ps[i]];
    setD({ ...d, panels: ps });
  };
  async function save(e) {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const body = { name: d.name, description: d.description, filter: d.filter, range: d.range, panels: d.panels };
      const out = isNew ? await sendJSON("POST", "/api/dashboards", body) : await sendJSON("PUT", "/api/dashboards/" + encodeURIComponent(d.id), body);
      go(["dashboards", out.id], { saved: Date.now() });
    } catch (err) { setError(err); } finally { setBusy(false); }
  }
  async function remove() {
    if (!confirm(`Delete the dashboard "${d.name}"?`)) return;
    try { await sendJSON("DELETE", "/api/dashboards/" + encodeURIComponent(d.id)); go("dashboards"); } catch (err) { setError(err); }
  }
  return (
    <section aria-labelledby="edit-h">
      <header class="pagehead"><h1 id="edit-h">{isNew ? "New dashboard" : `Edit ${dashboard.name}`}</h1></header>
      <form class="panel form" onSubmit={save}>
        <label>Name <input required maxLength={200} value={d.name} onInput={(e) => setD({ ...d, name: e.currentTarget.value })} /></label>
        <label>Description <input maxLength={1000} value={d.description} onInput={(e) => setD({ ...d, description: e.currentTarget.value })} /></label>
        <label>Filter expression <input class="mono" value={d.filter} placeholder="(all traces)" onInput={(e) => setD({ ...d, filter: e.currentTarget.value })} /></label>
        <label>Default range{" "}
          <select value={d.range} onChange={(e) => setD({ ...d, range: e.currentTarget.value })}>
            {PRESETS.map(([k]) => <option value={k}>last {k}</option>)}
          </select>
        </label>
        <fieldset><legend>Panels</legend>
          {Object.entries(ALL_PANELS).map(([k, title]) => (
            <label class="check"><input type="checkbox" checked={has(k)} onChange={() => togglePanel(k)} /> {title}</label>
          ))}
        </fieldset>
        <fieldset><legend>Order</legend>
          <ol>{d.panels.map((p, i) => (
            <li>{ALL_PANELS[p.type] || p.type}{" "}
              <button type="button" aria-label={`Move ${p.type} up`} onClick={() => move(i, -1)}>↑</button>
              <button type="button" aria-label={`Move ${p.type} down`} onClick={() => move(i, 1)}>↓</button></li>
          ))}</ol>
        </fieldset>
        {error && <p class="err" role="alert">{error.message}</p>}
        <div class="actions">
          <button type="submit" disabled={busy}>Save</button>
          <a class="button" href={isNew ? href("dashboards") : href(["dashboards", d.id])}>Cancel</a>
          {!isNew && <button type="button" class="danger" onClick={remove}>Delete</button>}
        </div>
      </form>
    </section>
  );
}
