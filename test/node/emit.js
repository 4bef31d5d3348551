'use strict';
// Emits three traces for the service "node-checkout" through the official
// Node.js X-Ray SDK (aws-xray-sdk-core) to the UDP address in FLUORO_UDP, and
// prints ONE JSON line on stdout that describes what was sent, for an
// end-to-end test to assert on. Everything else (SDK logs, failures) goes to
// stderr. Exit status: 0 when every document was handed to the socket without
// error, 1 otherwise, 2 on bad usage.
//
// The SDK runs in manual mode with a streaming threshold of 0 (the lowest it
// accepts): a subsegment that closes while any other subsegment of its trace
// is still open is sent on its own as {"type":"subsegment",...}; the others
// stay embedded in the segment document. Which is which is reported per
// subsegment as "streamed".

const dgram = require('dgram');

const udpAddress = process.env.FLUORO_UDP;
if (!udpAddress || !/^[^:\s]+:\d+$/.test(udpAddress)) {
  process.stderr.write('emit.js: set FLUORO_UDP to host:port of the UDP listener\n');
  process.exit(2);
}
// Read once by the SDK when it is required; it also sets the TCP (sampling)
// address, which manual mode never contacts.
process.env.AWS_XRAY_DAEMON_ADDRESS = udpAddress;

const AWSXRay = require('aws-xray-sdk-core');
// The SDK's UDP emitter: a singleton module with a lazily created socket.
const emitter = require('aws-xray-sdk-core/dist/lib/segment_emitter');

const SERVICE = 'node-checkout';
const STREAMING_THRESHOLD = 0;
const FLUSH_TIMEOUT_MS = 5000;

// The SDK logs info/debug through console.info/console.debug, which write to
// stdout; keep stdout for the result line only. A logger set here replaces
// the SDK's level filter: debug and info (one line per datagram) are shown
// only with AWS_XRAY_DEBUG_MODE set.
const verbose = !!process.env.AWS_XRAY_DEBUG_MODE;
const toStderr = (level, on) => (on ? (msg, meta) => {
  process.stderr.write(`aws-xray-sdk [${level}] ${msg}${meta ? ' ' + String(meta) : ''}\n`);
} : () => {});
AWSXRay.setLogger({
  debug: toStderr('debug', verbose),
  info: toStderr('info', verbose),
  warn: toStderr('warn', true),
  error: toStderr('error', true),
});
AWSXRay.enableManualMode();
AWSXRay.setStreamingThreshold(STREAMING_THRESHOLD);
// Segments made with `new AWSXRay.Segment` are never put through the sampler
// (only the HTTP middleware asks it), so no GetSamplingRules/SamplingTargets
// call is made. Switching to the local sampler keeps it that way should a
// later SDK version consult it.
AWSXRay.middleware.disableCentralizedSampling();

// sender wraps the socket the SDK would create, so that the script can wait
// for every send callback before exiting and knows which documents went out.
// The bytes sent are exactly the SDK's.
const sender = {
  socket: dgram.createSocket('udp4'),
  pending: 0,
  errors: [],
  documents: [], // parsed bodies, in send order
  idle: null,
  send(msg, offset, length, port, address, callback) {
    const datagram = msg.toString('utf8', offset, offset + length);
    this.documents.push(JSON.parse(datagram.slice(datagram.indexOf('\n') + 1)));
    this.pending++;
    this.socket.send(msg, offset, length, port, address, (err) => {
      this.pending--;
      if (err) this.errors.push(`send ${length} bytes: ${err.message}`);
      callback(err);
      if (this.pending === 0 && this.idle) this.idle();
    });
  },
  drain(timeoutMs) {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  },
};
emitter.socket = sender;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// incomingRequest builds the segment's http block the way the SDK's
// middleware does, from a stand-in for http.IncomingMessage.
function incomingRequest(method, host, path) {
  return new AWSXRay.middleware.IncomingRequestData({
    method,
    url: path,
    headers: { host, 'user-agent': 'fluoro-fixture/1.0 (node)' },
    connection: { remoteAddress: '203.0.113.7' },
  });
}

// remoteCall records an outgoing HTTP call on sub the way the SDK's http
// patcher does, from stand-ins for http.ClientRequest and IncomingMessage.
function remoteCall(sub, method, host, path, status) {
  sub.namespace = 'remote';
  const req = { agent: { protocol: 'https:' }, host, path, method, getHeader: () => host };
  const res = { statusCode: status, headers: { 'content-length': '87' } };
  sub.addRemoteRequestData(req, res, false);
}

async function traceA() {
  const seg = new AWSXRay.Segment(SERVICE);
  const http = incomingRequest('POST', 'shop.example.com', '/checkout');
  seg.addIncomingRequestData(http);
  seg.setUser('alice');
  seg.addAnnotation('customer_tier', 'gold');
  seg.addAnnotation('cart_items', 3);
  seg.addAnnotation('is_test', true);
  seg.addMetadata('cart', { currency: 'EUR', lines: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }] });
  seg.addMetadata('fixture', 'emit.js', 'fluoro');

  const sql = seg.addNewSubsegment('checkout@pg.internal');
  sql.namespace = 'remote';
  sql.addSqlData({
    url: 'postgresql://pg.internal:5432/checkout',
    sanitized_query: 'SELECT * FROM carts WHERE id = ?',
    database_type: 'PostgreSQL',
    database_version: '15.4',
    driver_version: 'node-postgres 8.11.3',
    user: 'app',
    preparation: 'statement',
  });
  await sleep(15);
  sql.close();

  const quote = seg.addNewSubsegment('payments.example.com');
  remoteCall(quote, 'GET', 'payments.example.com', '/v1/quote?cart=42', 200);
  await sleep(10);
  quote.close();

  const totals = seg.addNewSubsegment('compute-totals');
  totals.addAnnotation('discount_code', 'SPRING24');
  const tax = totals.addNewSubsegment('apply-tax');
  tax.addMetadata('rate', 0.2);
  await sleep(5);
  tax.close();
  await sleep(5);
  totals.close();

  http.close({ statusCode: 200, headers: { 'content-length': '512' } });
  seg.close();
  return { label: 'A', seg, subs: [sql, quote, totals, tax] };
}

async function traceB() {
  const seg = new AWSXRay.Segment(SERVICE);
  const http = incomingRequest('POST', 'shop.example.com', '/checkout/pay');
  seg.addIncomingRequestData(http);
  seg.setUser('bob');
  seg.addAnnotation('customer_tier', 'gold');

  const authorize = seg.addNewSubsegment('authorize-payment');
  const bank = authorize.addNewSubsegment('bank.example.com');
  remoteCall(bank, 'POST', 'bank.example.com', '/v2/charges', 500);
  const err = new Error('payment declined by bank');
  await sleep(10);
  // The SDK records the exception on the first (sub)segment that sees it and
  // a reference {"id": <that subsegment's id>} on each one the error passes.
  bank.close(err, true);
  await sleep(5);
  authorize.close(err);

  http.close({ statusCode: 500 });
  seg.close(err);
  return { label: 'B', seg, subs: [authorize, bank], exception: { message: err.message, subsegment: bank } };
}

async function traceC() {
  const seg = new AWSXRay.Segment(SERVICE);
  const http = incomingRequest('GET', 'shop.example.com', '/checkout/status');
  seg.addIncomingRequestData(http);
  seg.addAnnotation('customer_tier', 'free');

  const limiter = seg.addNewSubsegment('check-rate-limit');
  const redis = limiter.addNewSubsegment('redis@cache.internal');
  redis.namespace = 'remote';
  await sleep(5);
  redis.close();
  limiter.addAnnotation('limited', true);
  limiter.addThrottleFlag();
  limiter.addErrorFlag();
  limiter.close();

  http.close({ statusCode: 429 });
  seg.addThrottleFlag();
  seg.addErrorFlag();
  seg.close();
  return { label: 'C', seg, subs: [limiter, redis] };
}

// sentIds walks the documents that were sent and tells, for every
// (sub)segment id, whether it went out on its own or embedded.
function sentIds(documents) {
  const where = new Map();
  const walk = (doc, streamed) => {
    where.set(doc.id, streamed);
    for (const child of doc.subsegments || []) walk(child, false);
  };
  for (const doc of documents) walk(doc, doc.type === 'subsegment');
  return where;
}

function describe(t, where, documents) {
  const seg = t.seg;
  const out = {
    label: t.label,
    id: seg.trace_id,
    segmentId: seg.id,
    name: seg.name,
    startTime: seg.start_time,
    endTime: seg.end_time,
    http: { ...seg.http.request, status: seg.http.response.status },
    fault: !!seg.fault,
    error: !!seg.error,
    throttle: !!seg.throttle,
    user: seg.user === undefined ? null : seg.user,
    annotations: seg.annotations || {},
    metadata: seg.metadata || {},
    documents: documents.filter((d) => d.trace_id === seg.trace_id).length,
    subsegments: t.subs.map((s) => {
      const d = { id: s.id, name: s.name, parentId: s.parent.id, streamed: where.get(s.id) === true };
      if (s.namespace) d.namespace = s.namespace;
      if (s.annotations) d.annotations = s.annotations;
      if (s.sql) d.sql = s.sql.sanitized_query;
      if (s.http) d.http = { ...s.http.request, status: s.http.response.status };
      if (s.fault) d.fault = true;
      if (s.error) d.error = true;
      if (s.throttle) d.throttle = true;
      return d;
    }),
  };
  const sql = t.subs.find((s) => s.sql);
  if (sql) out.sql = sql.sql.sanitized_query;
  if (t.exception) {
    out.exception = t.exception.message;
    out.exceptionSubsegmentId = t.exception.subsegment.id;
  }
  return out;
}

async function main() {
  const traces = [];
  for (const emit of [traceA, traceB, traceC]) {
    traces.push(await emit());
    await sleep(20);
  }
  const drained = await sender.drain(FLUSH_TIMEOUT_MS);
  sender.socket.close();

  const problems = [...sender.errors];
  if (!drained) problems.push(`${sender.pending} sends still pending after ${FLUSH_TIMEOUT_MS} ms`);
  const where = sentIds(sender.documents);
  for (const t of traces) {
    for (const x of [t.seg, ...t.subs]) {
      if (!where.has(x.id)) problems.push(`trace ${t.label}: ${x.name} (${x.id}) was never sent`);
    }
  }

  process.stdout.write(JSON.stringify({
    service: SERVICE,
    udp: udpAddress,
    streamingThreshold: STREAMING_THRESHOLD,
    datagrams: sender.documents.length,
    traces: traces.map((t) => describe(t, where, sender.documents)),
  }) + '\n');
  if (problems.length > 0) {
    process.stderr.write('emit.js: ' + problems.join('; ') + '\n');
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`emit.js: ${err.stack || err}\n`);
  process.exitCode = 1;
});
