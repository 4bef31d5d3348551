// Sampling rules and groups over the X-Ray API: GetSamplingRules,
// CreateSamplingRule, UpdateSamplingRule, DeleteSamplingRule; GetGroups,
// CreateGroup, UpdateGroup, DeleteGroup.
import { useEffect, useState } from "preact/hooks";
import { xray } from "../api.js";
import { Status } from "../components/controls.jsx";

const RULE_DEFAULT = { RuleName: "", Priority: 1000, FixedRate: 0.05, ReservoirSize: 1, ServiceName: "*", ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*", ResourceARN: "*", Version: 1 };
const notServed = (e) => e && e.status === 404 ? new Error("This server does not serve this X-Ray operation yet.") : e;

export function SamplingPage() {
  const [st, setSt] = useState({ rules: null, error: null });
  const [edit, setEdit] = useState(null);
  const [err, setErr] = useState(null);
  const load = () => xray("GetSamplingRules", {}).then((r) => setSt({ rules: (r.SamplingRuleRecords || []).map((x) => x.SamplingRule), error: null })).catch((e) => setSt({ rules: null, error: notServed(e) }));
  useEffect(() => { load(); }, []);
  async function save(e) {
    e.preventDefault(); setErr(null);
    try {
      const r = { ...edit, Priority: +edit.Priority, FixedRate: +edit.FixedRate, ReservoirSize: +edit.ReservoirSize, Version: 1 };
      if (edit.isNew) { delete r.isNew; await xray("CreateSamplingRule", { SamplingRule: r }); }
      else {
        const { RuleARN, Version, isNew, CreatedAt, ModifiedAt, ...upd } = r;
        await xray("UpdateSamplingRule", { SamplingRuleUpdate: upd });
      }
      setEdit(null); load();
    } catch (x) { setErr(x); }
  }
  async function del(name) {
    if (!confirm(`Delete sampling rule ${name}?`)) return;
    try { await xray("DeleteSamplingRule", { RuleName: name }); load(); } catch (x) { setErr(x); }
  }
  const f = (k, type = "text", extra = {}) => (
    <label>{k} <input type={type} value={edit[k]} {...extra} disabled={!edit.isNew && (k === "RuleName" || k === "ResourceARN")}
      onInput={(e) => setEdit({ ...edit, [k]: e.currentTarget.value })} /></label>
  );
  return (
    <section aria-labelledby="s-h">
      <header class="pagehead"><h1 id="s-h">Sampling rules</h1><button type="button" onClick={() => setEdit({ ...RULE_DEFAULT, isNew: true })}>New rule</button></header>
      <Status loading={!st.rules && !st.error} error={st.error} />
      {err && <p class="err" role="alert">{err.message}</p>}
      {edit && (
        <form class="panel form" onSubmit={save} onKeyDown={(e) => e.key === "Escape" && setEdit(null)}>
          {f("RuleName", "text", { required: true, maxLength: 32 })}{f("Priority", "number", { min: 1, max: 9999 })}
          {f("FixedRate", "number", { min: 0, max: 1, step: "any" })}{f("ReservoirSize", "number", { min: 0 })}
          {f("ServiceName")}{f("ServiceType")}{f("Host")}{f("HTTPMethod")}{f("URLPath")}{f("ResourceARN")}
          <div class="actions"><button type="submit">Save</button><button type="button" onClick={() => setEdit(null)}>Cancel</button></div>
        </form>
      )}
      {st.rules && (
        <table class="grid"><thead><tr><th>Name</th><th>Priority</th><th>Reservoir</th><th>Rate</th><th>Service</th><th>Method</th><th>URL path</th><th /></tr></thead>
          <tbody>{st.rules.map((r) => (
            <tr><td>{r.RuleName}</td><td>{r.Priority}</td><td>{r.ReservoirSize}/s</td><td>{(100 * r.FixedRate).toFixed(1)}%</td>
              <td>{r.ServiceName}</td><td>{r.HTTPMethod}</td><td>{r.URLPath}</td>
              <td><button type="button" onClick={() => setEdit({ ...r })}>Edit</button>{r.RuleName !== "Default" && <button type="button" class="danger" onClick={() => del(r.RuleName)}>Delete</button>}</td></tr>
          ))}</tbody></table>
      )}
    </section>
  );
}

export function GroupsPage() {
  const [st, setSt] = useState({ groups: null, error: null });
  const [edit, setEdit] = useState(null);
  const [err, setErr] = useState(null);
  const load = () => xray("Groups", {}).then((r) => setSt({ groups: r.Groups || [], error: null })).catch((e) => setSt({ groups: null, error: notServed(e) }));
  useEffect(() => { load(); }, []);
  async function save(e) {
    e.preventDefault(); setErr(null);
    try {
      if (edit.isNew) await xray("CreateGroup", { GroupName: edit.GroupName, FilterExpression: edit.FilterExpression });
      else await xray("UpdateGroup", { GroupName: edit.GroupName, FilterExpression: edit.FilterExpression });
      setEdit(null); load();
    } catch (x) { setErr(x); }
  }
  async function del(name) {
    if (!confirm(`Delete group ${name}?`)) return;
    try { await xray("DeleteGroup", { GroupName: name }); load(); } catch (x) { setErr(x); }
  }
  return (
    <section aria-labelledby="g-h">
      <header class="pagehead"><h1 id="g-h">Groups</h1><button type="button" onClick={() => setEdit({ GroupName: "", FilterExpression: "", isNew: true })}>New group</button></header>
      <Status loading={!st.groups && !st.error} error={st.error} />
      {err && <p class="err" role="alert">{err.message}</p>}
      {edit && (
        <form class="panel form" onSubmit={save} onKeyDown={(e) => e.key === "Escape" && setEdit(null)}>
          <label>Name <input required maxLength={32} value={edit.GroupName} disabled={!edit.isNew} onInput={(e) => setEdit({ ...edit, GroupName: e.currentTarget.value })} /></label>
          <label>Filter expression <input class="mono" value={edit.FilterExpression} onInput={(e) => setEdit({ ...edit, FilterExpression: e.currentTarget.value })} /></label>
          <div class="actions"><button type="submit">Save</button><button type="button" onClick={() => setEdit(null)}>Cancel</button></div>
        </form>
      )}
      {st.groups && (
        <table class="grid"><thead><tr><th>Name</th><th>Filter expression</th><th /></tr></thead>
          <tbody>{st.groups.map((g) => (
            <tr><td>{g.GroupName}</td><td class="mono">{g.FilterExpression}</td>
              <td>{g.GroupName !== "Default" && <><button type="button" onClick={() => setEdit({ ...g })}>Edit</button><button type="button" class="danger" onClick={() => del(g.GroupName)}>Delete</button></>}</td></tr>
          ))}</tbody></table>
      )}
    </section>
  );
}
