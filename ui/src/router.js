// Hash routing: every view is "#/<page>[/<arg>...][?<params>]", so a view's
// whole state is in its URL (shareable, and the back button walks it), and
// the server needs no fallback routes beside the X-Ray API's own paths.
import { useEffect, useState } from "preact/hooks";

export function parse(hash = location.hash) {
  const h = hash.replace(/^#\/?/, "");
  const q = h.indexOf("?");
  const path = (q < 0 ? h : h.slice(0, q)).split("/").filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(q < 0 ? "" : h.slice(q + 1)));
  return { path, params };
}

// href builds a hash URL; params with empty values are left out.
export function href(path, params = {}) {
  const p = Array.isArray(path) ? path : [path];
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return "#/" + p.map(encodeURIComponent).join("/") + (s ? "?" + s : "");
}

// go navigates; replace keeps the back button for meaningful steps only.
export function go(path, params, { replace = false } = {}) {
  const url = href(path, params);
  if (url === location.hash) return;
  if (replace) {
    history.replaceState(null, "", url);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else location.hash = url;
}

// setParams merges params into the current route.
export function setParams(changes, opts) {
  const r = parse();
  go(r.path, { ...r.params, ...changes }, opts);
}

export function useRoute() {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
