// Calls to the Fluoro server: the X-Ray REST API (POST /<Operation>, JSON in
// and out, errors as {"__type","Message"}) and Fluoro's own /api/* JSON.
// Nothing here talks to any other host.

export class APIError extends Error {
  constructor(status, type, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.type = type || "";
  }
  // position returns {line, col, msg} when the message carries a filter
  // expression position ("... 1:12: expected ..."), else null.
  position() {
    const m = /(\d+):(\d+): (.*)$/s.exec(this.message);
    return m ? { line: +m[1], col: +m[2], msg: m[3] } : null;
  }
}

async function call(method, path, body, signal) {
  const init = { method, signal, headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 204) return null;
  const text = await r.text();
  let j = null;
  try { j = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!r.ok) {
    throw new APIError(r.status, (j && (j.__type || j.type)) || r.headers.get("x-amzn-errortype"),
      (j && (j.Message || j.message || j.error)) || text.trim() || r.statusText);
  }
  return j;
}

// xray calls an X-Ray operation, e.g. xray("TraceSummaries", {...}).
export const xray = (op, body = {}, signal) => call("POST", "/" + op, body, signal);
export const getJSON = (path, signal) => call("GET", path, undefined, signal);
export const sendJSON = (method, path, body) => call(method, path, body);

// summaries pages GetTraceSummaries until there is no NextToken, limit
// summaries are in hand, or signal aborts; onPage sees the growing list.
export async function summaries({ start, end, filter, limit = 10000, signal, onPage }) {
  const all = [];
  let token;
  for (;;) {
    const body = { StartTime: start, EndTime: end };
    if (filter) body.FilterExpression = filter;
    if (token) body.NextToken = token;
    const page = await xray("TraceSummaries", body, signal);
    all.push(...(page.TraceSummaries || []));
    token = page.NextToken;
    const more = !!token && all.length < limit;
    if (onPage) onPage(all, more, token);
    if (!more) return { summaries: all, next: token || null };
  }
}

// traces fetches whole traces (BatchGetTraces, at most 5 ids a call).
export async function traces(ids, signal) {
  const out = [];
  for (let i = 0; i < ids.length; i += 5) {
    const r = await xray("Traces", { TraceIds: ids.slice(i, i + 5) }, signal);
    out.push(...(r.Traces || []));
  }
  return out;
}

// serviceGraph pages GetServiceGraph over [start, end].
export async function serviceGraph({ start, end, group, signal }) {
  const services = [];
  let token, first;
  for (let i = 0; i < 50; i++) {
    const body = { StartTime: start, EndTime: end };
    if (group) body.GroupName = group;
    if (token) body.NextToken = token;
    const page = await xray("ServiceGraph", body, signal);
    first = first || page;
    services.push(...(page.Services || []));
    token = page.NextToken;
    if (!token) break;
  }
  return { ...first, Services: services };
}
