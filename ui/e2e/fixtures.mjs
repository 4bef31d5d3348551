// A GetServiceGraph response of n nodes in X-Ray's shape, layered like a real
// system (clients → gateway → services → databases and AWS resources), for
// the 100-node render measurement. Deterministic for a given n.
export function serviceGraph(n, start, end) {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const services = [];
  const mk = (name, type, root = false) => {
    const s = { ReferenceId: services.length, Name: name, Names: [name], Root: root, Type: type, State: "active",
      StartTime: start, EndTime: end, Edges: [] };
    services.push(s);
    return s;
  };
  const stats = (total, faultRate = 0.01, errRate = 0.03) => {
    const fault = Math.round(total * faultRate * rnd() * 2), err = Math.round(total * errRate * rnd() * 2), thr = Math.round(total * 0.005 * rnd());
    const rt = 0.005 + rnd() * 0.3;
    return {
      SummaryStatistics: { OkCount: Math.max(0, total - fault - err - thr), ErrorStatistics: { ThrottleCount: thr, OtherCount: err, TotalCount: err + thr },
        FaultStatistics: { OtherCount: fault, TotalCount: fault }, TotalCount: total, TotalResponseTime: total * rt },
      ResponseTimeHistogram: [0.5, 1, 2, 4, 8].map((m, i) => ({ Value: +(rt * m).toFixed(4), Count: Math.round(total / (i + 1.5)) })),
    };
  };
  const client = mk("client", "client", true);
  const gw = mk("api-gateway", "AWS::ECS::Container", true);
  Object.assign(gw, stats(6000, 0.01, 0.02));
  client.Edges.push({ ReferenceId: gw.ReferenceId, StartTime: start, EndTime: end, ...stats(6000) });
  const nSvc = Math.max(1, Math.round((n - 2) * 0.6)), nLeaf = Math.max(1, n - 2 - nSvc);
  const svcs = [];
  for (let i = 0; i < nSvc; i++) svcs.push(Object.assign(mk(`service-${i}`, "AWS::EC2::Instance"), stats(200 + Math.round(rnd() * 2000), i % 7 === 0 ? 0.08 : 0.005)));
  const leaves = [];
  const kinds = ["Database::SQL", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "remote", "AWS::SQS::Queue"];
  for (let i = 0; i < nLeaf; i++) {
    const type = kinds[i % kinds.length];
    leaves.push(Object.assign(mk(type === "Database::SQL" ? `db-${i}@postgres` : `${type.split("::")[1] || "remote"}-${i}`.toLowerCase(), type), stats(100 + Math.round(rnd() * 800), 0.002)));
  }
  const edge = (from, to) => from.Edges.push({ ReferenceId: to.ReferenceId, StartTime: start, EndTime: end, ...stats(100 + Math.round(rnd() * 1000)) });
  const tier = Math.max(1, Math.ceil(svcs.length / 3));
  svcs.forEach((s, i) => {
    if (i < tier) edge(gw, s);
    else edge(svcs[Math.floor(rnd() * Math.min(i, tier * Math.ceil(i / tier)))], s);
  });
  leaves.forEach((l, i) => edge(svcs[Math.floor(rnd() * svcs.length)], l));
  for (let i = 0; i < svcs.length / 4; i++) {
    const a = svcs[Math.floor(rnd() * svcs.length)], b = svcs[Math.floor(rnd() * svcs.length)];
    if (a.ReferenceId < b.ReferenceId && !a.Edges.some((e) => e.ReferenceId === b.ReferenceId)) edge(a, b);
  }
  return { StartTime: start, EndTime: end, Services: services, ContainsOldGroupVersions: false };
}

// n trace summaries in GetTraceSummaries' shape, newest first, for the
// 10,000-row list; pages of `page` with NextToken "p<index>".
export function summaryPages(n, end, page = 1000) {
  const all = [];
  for (let i = 0; i < n; i++) {
    const hex = i.toString(16).padStart(24, "0");
    const fault = i % 37 === 0, error = !fault && i % 11 === 0;
    all.push({
      Id: `1-${Math.floor(end - i * 0.1).toString(16)}-${hex}`, StartTime: end - i * 0.1, Duration: 0.01 + (i % 97) / 100,
      ResponseTime: 0.01 + (i % 97) / 100, HasFault: fault, HasError: error, HasThrottle: false, IsPartial: false,
      Http: { HttpURL: `https://shop.example/api/items/${i}`, HttpStatus: fault ? 502 : error ? 404 : 200, HttpMethod: i % 3 ? "GET" : "POST" },
      Annotations: {}, Users: [], ServiceIds: [{ Name: "fixture-gateway", Names: ["fixture-gateway"] }, { Name: "fixture-items", Names: ["fixture-items"] }],
      FaultRootCauses: [], ErrorRootCauses: [], ResponseTimeRootCauses: [], Revision: 1,
    });
  }
  return (token) => {
    const k = token ? +token.slice(1) : 0;
    const out = { TraceSummaries: all.slice(k * page, (k + 1) * page), ApproximateTime: end, TracesProcessedCount: n };
    if ((k + 1) * page < n) out.NextToken = "p" + (k + 1);
    return out;
  };
}

// A BatchGetTraces answer holding one trace of about n spans: a root segment
// whose subsegments fan out two levels deep, with a fault and a throttle.
export function bigTrace(n, start) {
  const id = `1-${Math.floor(start).toString(16)}-00000000000000000000beef`;
  let k = 0;
  const sid = () => (++k).toString(16).padStart(16, "0");
  const fan = Math.ceil(Math.sqrt(n));
  const subs = [];
  for (let i = 0; i < fan && k < n; i++) {
    const s0 = start + i * 0.01, children = [];
    for (let j = 0; j < fan - 1 && k < n - 1; j++)
      children.push({ id: sid(), name: `query-${i}-${j}`, start_time: s0 + j * 0.0001, end_time: s0 + j * 0.0001 + 0.00008, namespace: "remote",
        sql: { sanitized_query: "SELECT * FROM items WHERE id = ?" }, ...(j === 3 && i === 5 ? { fault: true, cause: { exceptions: [{ id: "e1", message: "boom", type: "Error" }] } } : {}) });
    subs.push({ id: sid(), name: `step-${i}`, start_time: s0, end_time: s0 + 0.009, subsegments: children, ...(i === 7 ? { throttle: true, error: true } : {}) });
  }
  const doc = { id: sid(), trace_id: id, name: "fixture-big", start_time: start, end_time: start + fan * 0.01 + 0.001, http: { request: { method: "GET", url: "/big" }, response: { status: 200 } }, subsegments: subs };
  return { id, spans: k, body: { Traces: [{ Id: id, Duration: doc.end_time - start, LimitExceeded: false, Segments: [{ Id: doc.id, Document: JSON.stringify(doc) }] }], UnprocessedTraceIds: [] } };
}
