'use strict';
// Runs the official Node.js X-Ray SDK's centralized sampler (aws-xray-sdk-core's
// default sampler, the one its HTTP middleware asks) against the daemon
// address in FLUORO_DAEMON ("tcp:host:port udp:host:port"), and prints ONE
// JSON line on stdout describing its decisions, for an end-to-end test to
// assert on. Everything else (SDK logs, failures) goes to stderr. Exit
// status: 0 on success, 1 on failure, 2 on bad usage.
//
// Steps:
//  1. Ask for a first decision, which starts the SDK's rule and target pollers,
//     and wait until the SDK has fetched the rule named CHECKOUT_RULE.
//  2. Decide BROWSE_TRIES requests for BROWSE_PATH at once (the FixedRate
//     test: the rule should have reservoir 0).
//  3. Decide a request for CHECKOUT_PATH every 10 ms until MEASURE_SECONDS
//     whole seconds have passed after the SDK's first GetSamplingTargets answer
//     (the SDK polls every 10 s), and count the sampled ones per epoch second.
//
// Output: {"clientID", "firstTargetMs", "browse": {"tries", "sampled",
// "rules": {name: count}}, "checkout": {"<epoch second>": [requests, sampled]},
// "reservoir": {"quota", "ttl"}} where reservoir is the SDK's own state for
// CHECKOUT_RULE at the end (quota null until a positive quota arrives; ttl in
// epoch seconds as the SDK computed it).

const daemon = process.env.FLUORO_DAEMON;
if (!daemon || !/^tcp:\S+ udp:\S+$/.test(daemon)) {
  process.stderr.write('sampling.js: set FLUORO_DAEMON to "tcp:host:port udp:host:port"\n');
  process.exit(2);
}
// Read by the SDK when it is required: the TCP address is where it asks for
// sampling rules and targets.
process.env.AWS_XRAY_DAEMON_ADDRESS = daemon;

const env = (name, def) => process.env[name] || def;
const SERVICE = env('SERVICE', 'node-shop');
const CHECKOUT_RULE = env('CHECKOUT_RULE', 'node-checkout');
const CHECKOUT_PATH = env('CHECKOUT_PATH', '/checkout/cart');
const BROWSE_PATH = env('BROWSE_PATH', '/browse/shoes');
const BROWSE_TRIES = Number(env('BROWSE_TRIES', '3000'));
const MEASURE_SECONDS = Number(env('MEASURE_SECONDS', '5'));
const GIVE_UP_MS = 45000;

const AWSXRay = require('aws-xray-sdk-core');
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

// The SDK's own modules: the sampler its middleware uses, its rule cache,
// and its connector, whose fetchTargets is wrapped only to note when the
// first answer arrived (the request and the answer are the SDK's).
const sampler = AWSXRay.middleware.sampler;
const ruleCache = require('aws-xray-sdk-core/dist/lib/middleware/sampling/rule_cache');
const connector = require('aws-xray-sdk-core/dist/lib/middleware/sampling/service_connector');
let firstTargetMs = 0;
const fetchTargets = connector.fetchTargets;
connector.fetchTargets = function (rules, callback) {
  return fetchTargets.call(this, rules, function (err, ...rest) {
    if (!err && !firstTargetMs) firstTargetMs = Date.now();
    return callback(err, ...rest);
  });
};

const request = (method, path) => ({ host: 'shop.example.com', httpMethod: method, urlPath: path, serviceName: SERVICE });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const start = Date.now();
  sampler.shouldSample(request('POST', CHECKOUT_PATH)); // starts the pollers
  while (!ruleCache.getRules().some((r) => r.getName() === CHECKOUT_RULE)) {
    if (Date.now() - start > 10000) throw new Error(`the SDK did not fetch rule ${CHECKOUT_RULE} within 10 s`);
    await sleep(20);
  }

  const browse = { tries: BROWSE_TRIES, sampled: 0, rules: {} };
  for (let i = 0; i < BROWSE_TRIES; i++) {
    const d = sampler.shouldSample(request('GET', BROWSE_PATH));
    if (d) {
      browse.sampled++;
      browse.rules[d] = (browse.rules[d] || 0) + 1;
    }
  }

  const checkout = {};
  for (;;) {
    const now = Date.now();
    if (firstTargetMs && now >= firstTargetMs + (MEASURE_SECONDS + 2) * 1000) break;
    if (now - start > GIVE_UP_MS) throw new Error(`no sampling targets within ${GIVE_UP_MS} ms`);
    const d = sampler.shouldSample(request('POST', CHECKOUT_PATH));
    const sec = Math.floor(now / 1000);
    const c = checkout[sec] || (checkout[sec] = [0, 0]);
    c[0]++;
    if (d) c[1]++;
    await sleep(10);
  }
  // What the SDK made of its last targets for the checkout rule.
  const res = ruleCache.getRules().find((r) => r.getName() === CHECKOUT_RULE).getReservoir();
  const reservoir = { quota: res.quota, ttl: res.TTL };
  process.stdout.write(JSON.stringify({ clientID: connector.clientId, firstTargetMs, browse, checkout, reservoir }) + '\n');
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`sampling.js: ${err.stack || err}\n`);
  process.exit(1);
});
