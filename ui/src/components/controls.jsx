// Shared controls: time range picker and auto-refresh.
import { useEffect, useState } from "preact/hooks";
import { PRESETS } from "../timerange.js";
import { setParams } from "../router.js";

const toLocal = (s) => {
  const d = new Date(s * 1000 - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
};
const fromLocal = (v) => Math.floor(new Date(v).getTime() / 1000);

// TimeRange edits the route's range/from/to parameters.
export function TimeRange({ params, fallback = "1h" }) {
  const range = params.range || fallback;
  const now = Math.floor(Date.now() / 1000);
  const [from, setFrom] = useState(params.from ? toLocal(+params.from) : toLocal(now - 3600));
  const [to, setTo] = useState(params.to ? toLocal(+params.to) : toLocal(now));
  return (
    <span class="timerange">
      <label>Range{" "}
        <select aria-label="Time range" value={range}
          onChange={(e) => {
            const v = e.currentTarget.value;
            if (v === "custom") setParams({ range: v, from: fromLocal(from), to: fromLocal(to) });
            else setParams({ range: v, from: "", to: "" });
          }}>
          {PRESETS.map(([k]) => <option value={k}>last {k}</option>)}
          <option value="custom">custom…</option>
        </select>
      </label>
      {range === "custom" && (
        <form class="custom" onSubmit={(e) => { e.preventDefault(); setParams({ from: fromLocal(from), to: fromLocal(to) }); }}>
          <input type="datetime-local" aria-label="From" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
          <input type="datetime-local" aria-label="To" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
          <button type="submit">Apply</button>
        </form>
      )}
    </span>
  );
}

const REFRESH = [["", "off"], ["10", "10 s"], ["30", "30 s"], ["60", "1 min"], ["300", "5 min"]];

// Refresh picks an auto-refresh period (the "refresh" parameter, seconds)
// and calls onTick on it.
export function Refresh({ params, onTick }) {
  const every = +params.refresh || 0;
  useEffect(() => {
    if (!every) return;
    const t = setInterval(onTick, every * 1000);
    return () => clearInterval(t);
  }, [every, onTick]);
  return (
    <label>Refresh{" "}
      <select aria-label="Auto-refresh" value={params.refresh || ""} onChange={(e) => setParams({ refresh: e.currentTarget.value }, { replace: true })}>
        {REFRESH.map(([v, l]) => <option value={v}>{l}</option>)}
      </select>
    </label>
  );
}

// Status shows loading and errors in one live region.
export function Status({ loading, error, children }) {
  return (
    <div class="status" role="status" aria-live="polite">
      {error ? <span class="err">{String(error.message || error)}</span> : loading ? <span class="muted">Loading…</span> : children}
    </div>
  );
}
