'use strict';
// Reads traces back from a Fluoro server through the official AWS SDK for
// JavaScript v3 X-Ray client, and prints ONE JSON line on stdout.
//
//   FLUORO_ENDPOINT=http://127.0.0.1:2000 node query.js [--filter EXPR] [TRACE_ID...]
//     BatchGetTraces for the ids (5 per call, following NextToken) and
//     GetTraceSummaries over the last 10 minutes (following NextToken), with
//     EXPR as FilterExpression when given. Prints
//     {"traces":[...],"unprocessedTraceIds":[...],"summaries":[...],"summaryPages":N}
//     and exits 0; on an SDK error prints {"error":{...}} and exits 1.
//
//   FLUORO_ENDPOINT=... node query.js --bad
//     GetTraceSummaries with a syntactically invalid FilterExpression, which
//     X-Ray refuses with InvalidRequestException. Prints {"error":{...}} and
//     exits 0 when the SDK surfaced an error; prints {"error":null,...} and
//     exits 1 when the call succeeded.
//
// Objects are printed as the SDK returns them, less $metadata; timestamps
// (Date objects in the SDK) are printed as epoch seconds, as on the wire.
// Segment documents stay JSON strings. Exit status 2 means bad usage.

const {
  XRayClient,
  BatchGetTracesCommand,
  GetTraceSummariesCommand,
} = require('@aws-sdk/client-xray');

const BATCH_SIZE = 5; // the most ids X-Ray accepts per BatchGetTraces call
const WINDOW_MS = 10 * 60 * 1000;
const BAD_FILTER = 'service("node-checkout") AND';

function usage(msg) {
  process.stderr.write(`query.js: ${msg}\n` +
    'usage: FLUORO_ENDPOINT=http://host:port node query.js [--bad | --filter EXPR] [TRACE_ID...]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { bad: false, filter: undefined, ids: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--bad') opts.bad = true;
    else if (a === '--filter') {
      if (i + 1 >= argv.length) usage('--filter needs an expression');
      opts.filter = argv[++i];
    } else if (a.startsWith('-')) usage(`unknown flag ${a}`);
    else opts.ids.push(a);
  }
  if (opts.bad && opts.filter !== undefined) usage('--bad and --filter exclude each other');
  return opts;
}

// print writes one JSON line, with Dates as epoch seconds and without the
// SDK's $metadata.
function print(value) {
  const line = JSON.stringify(value, function replacer(key, v) {
    if (key === '$metadata') return undefined;
    const raw = this[key];
    if (raw instanceof Date) return raw.getTime() / 1000;
    return v;
  });
  process.stdout.write(line + '\n');
}

function describeError(err) {
  return {
    name: err.name,
    message: err.message,
    status: err.$metadata ? err.$metadata.httpStatusCode : undefined,
    requestId: err.$metadata ? err.$metadata.requestId : undefined,
    fault: err.$fault,
  };
}

async function batchGetTraces(client, ids) {
  const traces = [];
  const unprocessed = [];
  for (let i = 0; i < ids.length; i += BATCH_SIZE) {
    const chunk = ids.slice(i, i + BATCH_SIZE);
    let token;
    do {
      const out = await client.send(new BatchGetTracesCommand({ TraceIds: chunk, NextToken: token }));
      traces.push(...(out.Traces || []));
      unprocessed.push(...(out.UnprocessedTraceIds || []));
      token = out.NextToken;
    } while (token);
  }
  return { traces, unprocessed };
}

async function traceSummaries(client, filter) {
  const end = new Date();
  const start = new Date(end.getTime() - WINDOW_MS);
  const summaries = [];
  let pages = 0;
  let token;
  do {
    const out = await client.send(new GetTraceSummariesCommand({
      StartTime: start,
      EndTime: end,
      FilterExpression: filter,
      NextToken: token,
    }));
    pages++;
    summaries.push(...(out.TraceSummaries || []));
    token = out.NextToken;
  } while (token);
  return { summaries, pages };
}

async function main() {
  const endpoint = process.env.FLUORO_ENDPOINT;
  if (!endpoint || !/^https?:\/\//.test(endpoint)) usage('set FLUORO_ENDPOINT to the server URL, e.g. http://127.0.0.1:2000');
  const opts = parseArgs(process.argv.slice(2));

  const client = new XRayClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDFLUOROFIXTURE', secretAccessKey: 'fluoro-fixture-secret' },
  });

  if (opts.bad) {
    try {
      const { summaries, pages } = await traceSummaries(client, BAD_FILTER);
      print({ error: null, filter: BAD_FILTER, summaries, summaryPages: pages });
      process.exitCode = 1;
    } catch (err) {
      print({ error: describeError(err), filter: BAD_FILTER });
    }
    return;
  }

  try {
    const { traces, unprocessed } = await batchGetTraces(client, opts.ids);
    const { summaries, pages } = await traceSummaries(client, opts.filter);
    print({ traces, unprocessedTraceIds: unprocessed, summaries, summaryPages: pages });
  } catch (err) {
    print({ error: describeError(err) });
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`query.js: ${err.stack || err}\n`);
  process.exitCode = 1;
});
