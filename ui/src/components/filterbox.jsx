// FilterBox edits an X-Ray filter expression: completion of keywords,
// service names and annotation keys, syntax help, and the parser's
// positioned error (line:column from the API's message) shown inline.
import { useEffect, useRef, useState } from "preact/hooks";
import { quote } from "../format.js";

export const KEYWORDS = [
  "ok", "error", "fault", "throttle", "partial", "inferred", "root",
  "responsetime", "duration", "http.status", "http.url", "http.method", "http.useragent", "http.clientip",
  "user", "name", "type", "id", "annotation.", "service()", "edge()", "group.name", "group.arn",
  "resource.arn", "instance.id", "availabilityzone",
  "rootcause.fault.service", "rootcause.fault.entity", "rootcause.fault.entity.exception.message",
  "rootcause.error.service", "rootcause.error.entity", "rootcause.responsetime.service", "rootcause.responsetime.entity",
  "rootcause.json",
  "AND", "OR", "NOT", "CONTAINS", "BEGINSWITH", "ENDSWITH",
];

const EXAMPLES = [
  ["fault", "traces with a fault (5xx) anywhere"],
  ['service("orders") { fault }', "a fault in the orders service"],
  ['edge("gateway", "orders") { responsetime > 0.5 }', "slow calls from gateway to orders"],
  ["responsetime > 1 AND http.method = \"POST\"", "slow POSTs"],
  ['http.url CONTAINS "/checkout"', "URL contains /checkout"],
  ["annotation.tenant = \"acme\"", "an annotation's value"],
  ['rootcause.fault.service { name = "payments" }', "faults caused by payments"],
  ["!ok", "anything but OK"],
];

// tokenAt returns the word being typed before the caret.
function tokenAt(text, caret) {
  let i = caret;
  while (i > 0 && /[\w.]/.test(text[i - 1])) i--;
  return { start: i, word: text.slice(i, caret) };
}

export function FilterBox({ value, onSubmit, error, services = [], annotations = [] }) {
  const [text, setText] = useState(value || "");
  const [sugg, setSugg] = useState([]);
  const [active, setActive] = useState(0);
  const [help, setHelp] = useState(false);
  const input = useRef(null);
  useEffect(() => setText(value || ""), [value]);

  function suggest(t, caret) {
    const { start, word } = tokenAt(t, caret);
    if (!word) return setSugg([]);
    const w = word.toLowerCase();
    const items = [
      ...KEYWORDS.filter((k) => k.toLowerCase().startsWith(w) && k.toLowerCase() !== w).map((k) => ({ label: k, insert: k, kind: "keyword" })),
      ...services.filter((s) => s.toLowerCase().startsWith(w) || ("service".startsWith(w) && w.length >= 3))
        .map((s) => ({ label: `service(${quote(s)})`, insert: `service(${quote(s)})`, kind: "service" })),
      ...annotations.filter((a) => ("annotation." + a).toLowerCase().startsWith(w) || a.toLowerCase().startsWith(w))
        .map((a) => ({ label: "annotation." + a, insert: "annotation." + a, kind: "annotation" })),
    ].slice(0, 12);
    setSugg(items.map((it) => ({ ...it, start, end: caret })));
    setActive(0);
  }
  function accept(it) {
    const t = text.slice(0, it.start) + it.insert + text.slice(it.end);
    setText(t);
    setSugg([]);
    const pos = it.start + it.insert.length - (it.insert.endsWith("()") ? 1 : 0);
    requestAnimationFrame(() => { input.current.focus(); input.current.setSelectionRange(pos, pos); });
  }
  function onKey(e) {
    if (sugg.length) {
      if (e.key === "ArrowDown") { e.preventDefault(); setActive((active + 1) % sugg.length); return; }
      if (e.key === "ArrowUp") { e.preventDefault(); setActive((active + sugg.length - 1) % sugg.length); return; }
      if (e.key === "Tab" || (e.key === "Enter" && !e.ctrlKey)) { e.preventDefault(); accept(sugg[active]); return; }
      if (e.key === "Escape") { e.preventDefault(); setSugg([]); return; }
    }
    if (e.key === "Enter") { e.preventDefault(); setSugg([]); onSubmit(text.trim()); }
    if (e.key === "Escape" && help) setHelp(false);
  }
  const pos = error && error.position ? error.position() : null;
  const lines = text.split("\n");
  return (
    <div class="filterbox">
      <form role="search" onSubmit={(e) => { e.preventDefault(); setSugg([]); onSubmit(text.trim()); }}>
        <div class="combo">
          <input ref={input} id="filter" type="text" spellcheck={false} autocomplete="off"
            placeholder='Filter expression, e.g. service("orders") { fault } AND responsetime > 0.5'
            aria-label="Filter expression" aria-invalid={error ? "true" : "false"} aria-describedby="filter-error"
            role="combobox" aria-expanded={sugg.length > 0} aria-controls="filter-suggestions" aria-autocomplete="list"
            aria-activedescendant={sugg.length ? `sugg-${active}` : undefined}
            value={text}
            onInput={(e) => { setText(e.currentTarget.value); suggest(e.currentTarget.value, e.currentTarget.selectionStart); }}
            onKeyDown={onKey} onBlur={() => setTimeout(() => setSugg([]), 150)} />
          {sugg.length > 0 && (
            <ul id="filter-suggestions" role="listbox" class="suggestions">
              {sugg.map((s, i) => (
                <li id={`sugg-${i}`} role="option" aria-selected={i === active} class={i === active ? "active" : ""}
                  onMouseDown={(e) => { e.preventDefault(); accept(s); }}>
                  <span>{s.label}</span><small>{s.kind}</small>
                </li>
              ))}
            </ul>
          )}
        </div>
        <button type="submit">Search</button>
        <button type="button" aria-expanded={help} onClick={() => setHelp(!help)}>Syntax help</button>
      </form>
      <div id="filter-error" class="filter-error" role="alert">
        {error && (pos ? (
          <>
            <div class="err"><strong>Line {pos.line}, column {pos.col}:</strong> {pos.msg}</div>
            <pre class="caret" aria-hidden="true">{(lines[pos.line - 1] ?? "") + "\n" + " ".repeat(Math.max(0, pos.col - 1)) + "^"}</pre>
          </>
        ) : <div class="err">{error.message}</div>)}
      </div>
      {help && (
        <div class="help" role="region" aria-label="Filter expression syntax">
          <p>Keywords compare with <code>= != &lt; &lt;= &gt; &gt;=</code> and strings with <code>CONTAINS BEGINSWITH ENDSWITH</code>;
            combine with <code>AND OR NOT</code> (or <code>&amp;&amp; || !</code>) and parentheses. Times are seconds.
            Press <kbd>Tab</kbd> to complete, <kbd>Enter</kbd> to search.</p>
          <table><tbody>
            {EXAMPLES.map(([ex, what]) => (
              <tr><td><button type="button" class="link" onClick={() => { setText(ex); onSubmit(ex); }}><code>{ex}</code></button></td><td>{what}</td></tr>
            ))}
          </tbody></table>
        </div>
      )}
    </div>
  );
}
