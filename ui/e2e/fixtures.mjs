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
