'use strict';
// A v1 client built from the original contract only (test/reference/stemedb-v1-sync.proto): drives a server through
// every v1 RPC with valid and invalid requests and prints one JSON object:
// { "<case>": { "code": <grpc status code, 0 = OK>, "details": "...", "response": {...} }, ... }.
//
// Usage: node client.js <host:port> <input.json>
// input.json: { "records": [ { "hash": hex, "data": hex, "hlc_time": "ms", "hlc_counter": n, "hlc_node_id": hex } ],
//               "server_max_receive": bytes }
// The records must be valid for the server (hash = BLAKE3(data), content accepted); node.js has no BLAKE3.
const fs = require('fs');
const { grpc, loadSyncService } = require('./proto');

const [address, inputPath] = process.argv.slice(2);
if (!address || !inputPath) {
  console.error('usage: node client.js <host:port> <input.json>');
  process.exit(2);
}

const input = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
const records = input.records.map((r) => ({
  assertion_hash: Buffer.from(r.hash, 'hex'),
  assertion_data: Buffer.from(r.data, 'hex'),
  hlc_time: r.hlc_time,
  hlc_counter: r.hlc_counter,
  hlc_node_id: Buffer.from(r.hlc_node_id, 'hex'),
}));

const SyncService = loadSyncService();
const client = new SyncService(address, grpc.credentials.createInsecure(), {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
});

function toJson(value) {
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
    return out;
  }
  return value;
}

function call(method, request) {
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + 10000);
    client[method](request, { deadline }, (err, response) => {
      if (err) resolve({ code: err.code, details: err.details });
      else resolve({ code: 0, details: '', response: toJson(response) });
    });
  });
}

const hashOf = (i) => records[i].assertion_hash;
const unknownHash = Buffer.alloc(32, 0xab);
const nodeId = Buffer.alloc(16, 0x11);

async function main() {
  const results = {};
  const run = async (name, method, request) => {
    results[name] = await call(method, request);
  };

  // Ping
  await run('ping_valid', 'Ping', { node_id: nodeId });
  await run('ping_empty', 'Ping', {});
  await run('ping_bad_node_id', 'Ping', { node_id: Buffer.alloc(3) });

  // Gossip
  await run('gossip_valid', 'Gossip', records[0]);
  await run('gossip_repeat', 'Gossip', records[0]);
  await run('gossip_valid_second', 'Gossip', records[1]);
  await run('gossip_empty', 'Gossip', {});
  await run('gossip_short_hash', 'Gossip', { ...records[2], assertion_hash: records[2].assertion_hash.subarray(0, 31) });
  await run('gossip_bad_node_id', 'Gossip', { ...records[2], hlc_node_id: Buffer.alloc(15) });
  await run('gossip_hash_mismatch', 'Gossip', { ...records[2], assertion_data: records[3].assertion_data });
  await run('gossip_hlc_ahead', 'Gossip', { ...records[2], hlc_time: String(Date.now() + 3600 * 1000) });
  await run('gossip_invalid_content', 'Gossip', input.invalid_content_record ? {
    assertion_hash: Buffer.from(input.invalid_content_record.hash, 'hex'),
    assertion_data: Buffer.from(input.invalid_content_record.data, 'hex'),
    hlc_time: input.invalid_content_record.hlc_time,
    hlc_counter: input.invalid_content_record.hlc_counter,
    hlc_node_id: Buffer.from(input.invalid_content_record.hlc_node_id, 'hex'),
  } : {});
  await run('gossip_oversize', 'Gossip', { ...records[2], assertion_data: Buffer.alloc(input.server_max_receive + 1) });
  // A push with no HLC at all (hlc_node_id absent): valid, the receiver stamps it.
  await run('gossip_no_hlc', 'Gossip', { assertion_hash: records[2].assertion_hash, assertion_data: records[2].assertion_data });

  // ExchangeRoots
  await run('roots_empty', 'ExchangeRoots', {});
  await run('roots_bad_length', 'ExchangeRoots', { merkle_root: Buffer.alloc(5), assertion_count: '1' });
  const first = results.roots_empty.response;
  if (first) {
    await run('roots_matching', 'ExchangeRoots', { merkle_root: Buffer.from(first.merkle_root, 'hex'), assertion_count: first.assertion_count });
  }

  // FetchAssertions
  await run('fetch_known_and_unknown', 'FetchAssertions', { hashes: [unknownHash, hashOf(0), hashOf(1)] });
  await run('fetch_empty', 'FetchAssertions', {});
  await run('fetch_bad_length', 'FetchAssertions', { hashes: [Buffer.alloc(31)] });
  await run('fetch_too_many', 'FetchAssertions', { hashes: Array.from({ length: 1001 }, (_, i) => { const b = Buffer.alloc(32); b.writeUInt32BE(i); return b; }) });

  // GetLeaves
  await run('leaves_all', 'GetLeaves', { max_leaves: 0 });
  await run('leaves_one', 'GetLeaves', { max_leaves: 1 });
  await run('leaves_huge', 'GetLeaves', { max_leaves: 4294967295 });
  // max_leaves is uint64: 2^32 + 1 is above the cap (all leaves), not 1 as a 32-bit reading would make it.
  await run('leaves_above_32_bits', 'GetLeaves', { max_leaves: '4294967297' });

  // The server still answers after everything above.
  await run('ping_after', 'Ping', { node_id: nodeId });

  process.stdout.write(JSON.stringify(results));
  client.close();
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
