// The trace timeline: a virtualised waterfall of segments and subsegments
// (nesting, service colours, fault/error/throttle marks, critical path), the
// trace's own map, a side panel with the selected span's details and raw
// document, a link to copy, and a side-by-side comparison with a second trace.
import { useEffect, useMemo, useState } from "preact/hooks";
import { traces } from "../api.js";
import { go, href, setParams } from "../router.js";
import { colour, ms, time } from "../format.js";
import { build, criticalPath, exceptions, graph, rows as flatRows } from "../tracemodel.js";
import { VList } from "../components/vlist.jsx";
import { Status } from "../components/controls.jsx";
import { GraphView, nodeKind, ringData } from "../components/graph.jsx";

function useTrace(id) {
  const [st, setSt] = useState({ model: null, loading: !!id, error: null });
  useEffect(() => {
    if (!id) return setSt({ model: null, loading: false, error: null });
    const ac = new AbortController();
    setSt({ model: null, loading: true, error: null });
    traces([id], ac.signal)
      .then((ts) => setSt(ts.length ? { model: build(ts[0]), loading: false, error: null } : { model: null, loading: false, error: new Error(`trace ${id} was not found`) }))
      .catch((e) => e.name !== "AbortError" && setSt({ model: null, loading: false, error: e }));
    return () => ac.abort();
  }, [id]);
  return st;
}

export function TimelinePage({ id, params }) {
  const a = useTrace(id);
  const b = useTrace(params.compare || "");
  const [other, setOther] = useState(params.compare || "");
  const [copied, setCopied] = useState("");
  const copy = async () => {
    try { await navigator.clipboard.writeText(location.href); setCopied("Link copied"); }
    catch { setCopied("Copy this link: " + location.href); }
  };
  return (
    <section aria-labelledby="trace-h">
      <header class="pagehead">
        <h1 id="trace-h">Trace <span class="mono">{id}</span></h1>
        <button type="button" onClick={copy}>Copy link</button>
        <span role="status" class="muted">{copied}</span>
        <form class="compare" onSubmit={(e) => { e.preventDefault(); setParams({ compare: other.trim(), span: "" }); }}>
          <label>Compare with <input value={other} size={38} placeholder="another trace id" aria-label="Trace id to compare with"
            onInput={(e) => setOther(e.currentTarget.value)} /></label>
          <button type="submit">Compare</button>
          {params.compare && <button type="button" onClick={() => setParams({ compare: "" })}>Close comparison</button>}
        </form>
      </header>
      <Status loading={a.loading} error={a.error} />
      {a.model && !params.compare && <TraceView model={a.model} params={params} />}
      {a.model && params.compare && (
        <div class="compare-grid">
          <div><Summary model={a.model} other={b.model} /><Waterfall model={a.model} height={520} selectedId={params.span} /></div>
          <div>
            <Status loading={b.loading} error={b.error} />
            {b.model && <><Summary model={b.model} other={a.model} /><Waterfall model={b.model} height={520} /></>}
          </div>
        </div>
      )}
    </section>
  );
}

function Summary({ model, other }) {
  const svc = new Set(model.spans.filter((s) => s.kind === "segment").map((s) => s.name));
  const faults = model.spans.filter((s) => s.fault).length;
  const d = other ? model.duration - other.duration : 0;
  return (
    <dl class="summary">
      <div><dt>Trace</dt><dd class="mono"><a href={href(["trace", model.id])}>{model.id}</a></dd></div>
      <div><dt>Duration</dt><dd>{ms(model.duration)}{other && <span class={d > 0 ? "worse" : "better"}> ({d > 0 ? "+" : ""}{ms(d)})</span>}</dd></div>
      <div><dt>Spans</dt><dd>{model.spans.length}</dd></div>
      <div><dt>Services</dt><dd>{[...svc].join(", ")}</dd></div>
      <div><dt>Faults</dt><dd>{faults}</dd></div>
    </dl>
  );
}

function TraceView({ model, params }) {
  const sel = params.span && model.byId.get(params.span);
  const g = useMemo(() => {
    const { nodes, edges } = graph(model);
    return {
      nodes: nodes.map((n) => ({ id: n.id, name: n.name, kind: nodeKind(n.type, n.name), label: `${n.name}\n${n.count ? ms(n.time / n.count) : ""}`, ...ringData(n) })),
      edges: edges.map((e) => ({ id: e.id, source: e.source, target: e.target, w: 1.5, label: `${e.count}× ${ms(e.time / e.count)}`, health: "var(--fg-muted)" })),
    };
  }, [model]);
  return (
    <>
      <Summary model={model} />
      <div class="trace-layout">
        <div class="panel">
          <div class="panelhead"><h2>Timeline</h2><span class="muted">critical path outlined · Enter opens a span · ←/→ collapse/expand</span></div>
          <Waterfall model={model} selectedId={params.span} height={Math.min(640, model.spans.length * 24 + 40)} />
        </div>
        <aside class="panel side" aria-label="Span details">
          {sel ? <SpanDetails span={sel} /> : <p class="muted">Select a span to see its details.</p>}
        </aside>
      </div>
      <div class="panel">
        <div class="panelhead"><h2>Trace map</h2></div>
        <GraphView nodes={g.nodes} edges={g.edges.map((e) => ({ ...e, health: getComputedStyle(document.documentElement).getPropertyValue("--fg-muted").trim() }))} height={300} label="The trace's service map" />
      </div>
    </>
  );
}

const ROW = 24;

export function Waterfall({ model, selectedId, height = 600 }) {
  const [collapsed, setCollapsed] = useState(() => new Set());
  const rows = useMemo(() => flatRows(model, collapsed), [model, collapsed]);
  const crit = useMemo(() => criticalPath(model), [model]);
  const span = model.duration || 1e-6;
  const toggle = (id, open) => {
    const c = new Set(collapsed);
    if (open === undefined ? c.has(id) : open) c.delete(id); else c.add(id);
    setCollapsed(c);
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div class="waterfall" role="tree" aria-label="Trace timeline">
      <div class="wf-axis" aria-hidden="true">
        <span class="wf-name">Name</span>
        <span class="wf-bars">{ticks.map((t) => <span style={{ left: t * 100 + "%" }}>{ms(t * span)}</span>)}</span>
      </div>
      <VList count={rows.length} rowHeight={ROW} height={height} label="Spans"
        render={(i, style) => {
          const { span: s, depth } = rows[i];
          const left = ((s.start - model.start) / span) * 100;
          const width = Math.max(0.2, ((s.end - s.start) / span) * 100);
          const mark = s.fault ? "fault" : s.throttle ? "throttle" : s.error ? "error" : "";
          const hasKids = s.children.length > 0;
          return (
            <a key={s.id} style={style} role="treeitem" aria-level={depth + 1} aria-expanded={hasKids ? !collapsed.has(s.id) : undefined}
              aria-selected={s.id === selectedId}
              class={"wf-row " + (s.id === selectedId ? "selected " : "") + (crit.has(s.id) ? "crit " : "") + mark}
              href={href(["trace", model.id], { span: s.id })}
              onKeyDown={(e) => {
                if (e.key === "ArrowLeft" && hasKids) { e.preventDefault(); toggle(s.id, false); }
                if (e.key === "ArrowRight" && hasKids) { e.preventDefault(); toggle(s.id, true); }
                if (e.key === "ArrowDown") { e.preventDefault(); e.currentTarget.nextElementSibling?.focus(); }
                if (e.key === "ArrowUp") { e.preventDefault(); e.currentTarget.previousElementSibling?.focus(); }
              }}>
              <span class="wf-name" style={{ paddingLeft: 4 + depth * 12 + "px" }}>
                {hasKids ? <button type="button" tabindex={-1} class="twisty" aria-label={collapsed.has(s.id) ? "Expand" : "Collapse"}
                  onClick={(e) => { e.preventDefault(); e.stopPropagation(); toggle(s.id); }}>{collapsed.has(s.id) ? "▸" : "▾"}</button> : <span class="twisty" />}
                <span class="swatch" style={{ background: colour(s.service) }} />
                <span class={s.kind === "segment" ? "segname" : ""}>{s.name}</span>
                {mark && <span class={"mark " + mark} title={mark}>{mark === "fault" ? "⚠ fault" : mark === "throttle" ? "⏸ throttle" : "! error"}</span>}
              </span>
              <span class="wf-bars">
                <span class="bar" style={{ left: left + "%", width: width + "%", background: colour(s.service) }} />
                <span class="dur" style={{ left: Math.min(left + width, 88) + "%" }}>{ms(s.end - s.start)}</span>
              </span>
            </a>
          );
        }} />
    </div>
  );
}

function Section({ title, children }) {
  return <section class="detail"><h3>{title}</h3>{children}</section>;
}

function KV({ obj }) {
  if (!obj || typeof obj !== "object") return null;
  return (
    <table class="kv"><tbody>
      {Object.entries(obj).map(([k, v]) => (
        <tr><th scope="row">{k}</th><td>{typeof v === "object" ? <pre>{JSON.stringify(v, null, 2)}</pre> : String(v)}</td></tr>
      ))}
    </tbody></table>
  );
}

function SpanDetails({ span: s }) {
  const [tab, setTab] = useState("overview");
  const raw = useMemo(() => {
    const { subsegments, ...rest } = s.doc;
    return JSON.stringify(subsegments ? { ...rest, subsegments: `[${subsegments.length} shown as their own rows]` } : rest, null, 2);
  }, [s]);
  const ex = exceptions(s);
  const tabs = [["overview", "Overview"], ["annotations", "Annotations"], ["metadata", "Metadata"], ["exceptions", `Exceptions (${ex.length})`], ["raw", "Raw"]];
  return (
    <div class="span-details">
      <h2>{s.name} <small class="muted">{s.kind}</small></h2>
      <div role="tablist" class="tabs" onKeyDown={(e) => {
        const i = tabs.findIndex(([k]) => k === tab);
        if (e.key === "ArrowRight") setTab(tabs[(i + 1) % tabs.length][0]);
        if (e.key === "ArrowLeft") setTab(tabs[(i + tabs.length - 1) % tabs.length][0]);
      }}>
        {tabs.map(([k, l]) => <button type="button" role="tab" aria-selected={tab === k} tabindex={tab === k ? 0 : -1} onClick={() => setTab(k)}>{l}</button>)}
      </div>
      <div role="tabpanel">
        {tab === "overview" && (
          <>
            <KV obj={{ id: s.id, service: s.service, origin: s.origin, namespace: s.namespace, start: time(s.start), duration: ms(s.end - s.start),
              fault: s.fault, error: s.error, throttle: s.throttle, inferred: s.inferred || undefined, "in progress": s.inProgress || undefined }} />
            {s.http && <Section title="HTTP"><KV obj={{ ...(s.http.request || {}), ...(s.http.response || {}) }} /></Section>}
            {s.sql && <Section title="SQL">{s.sql.sanitized_query && <pre class="sql">{s.sql.sanitized_query}</pre>}<KV obj={s.sql} /></Section>}
            {s.aws && <Section title="AWS"><KV obj={s.aws} /></Section>}
          </>
        )}
        {tab === "annotations" && (s.annotations ? <KV obj={s.annotations} /> : <p class="muted">No annotations.</p>)}
        {tab === "metadata" && (s.metadata ? <pre>{JSON.stringify(s.metadata, null, 2)}</pre> : <p class="muted">No metadata.</p>)}
        {tab === "exceptions" && (ex.length ? ex.map((e) => (
          <div class="exception">
            <strong>{e.type || "Exception"}</strong>: {e.message}{e.remote ? " (remote)" : ""}
            {e.stack && <pre class="stack">{e.stack.map((f) => `  at ${f.label || "?"} (${f.path || "?"}:${f.line ?? "?"})`).join("\n")}</pre>}
          </div>
        )) : <p class="muted">No exceptions.</p>)}
        {tab === "raw" && <pre class="raw" aria-label="Raw document">{raw}</pre>}
      </div>
    </div>
  );
}
