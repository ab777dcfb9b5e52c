'use strict';
// A small StemeDb.Sync v1 peer on @grpc/grpc-js with an in-memory store, for syncing a .NET node against.
// It checks every length and limit of the v1 protocol, but it cannot verify BLAKE3 hashes nor compute the
// Merkle root (node.js has no BLAKE3): its root is a fixed placeholder, so peers always fall back to the leaf
// diff, which is exactly the anti-entropy path under test.
//
// Usage: node server.js [seed.json]   (prints "LISTENING <port>" once bound on 127.0.0.1, then serves until killed)
// seed.json: { "records": [ { "hash": hex, "data": hex, "hlc_time": "ms", "hlc_counter": n, "hlc_node_id": hex } ] }
const fs = require('fs');
const crypto = require('crypto');
const { grpc, loadSyncService } = require('./proto');

const MAX_FETCH = 1000;
const LEAVES_CAP = 10000;
const nodeId = crypto.randomBytes(16);
const store = new Map(); // hex hash -> AssertionData

function put(record) {
  const key = record.hash.toString('hex');
  if (!store.has(key)) store.set(key, record);
}

const seedPath = process.argv[2];
if (seedPath) {
  for (const r of JSON.parse(fs.readFileSync(seedPath, 'utf8')).records) {
    put({
      hash: Buffer.from(r.hash, 'hex'),
      data: Buffer.from(r.data, 'hex'),
      hlc_time: r.hlc_time,
      hlc_counter: r.hlc_counter,
      hlc_node_id: Buffer.from(r.hlc_node_id, 'hex'),
    });
  }
}

function invalid(callback, message) {
  callback({ code: grpc.status.INVALID_ARGUMENT, details: message });
}

function sortedLeaves() {
  return [...store.values()].map((r) => r.hash).sort(Buffer.compare);
}

const ROOT = Buffer.alloc(32, 0); // placeholder, see above

const service = {
  Gossip(call, callback) {
    const r = call.request;
    if (r.assertion_hash.length !== 32) return callback(null, { accepted: false, error: `assertion_hash must be 32 bytes; got ${r.assertion_hash.length}.` });
    if (r.hlc_node_id.length !== 16) return callback(null, { accepted: false, error: `hlc_node_id must be 16 bytes; got ${r.hlc_node_id.length}.` });
    put({ hash: r.assertion_hash, data: r.assertion_data, hlc_time: r.hlc_time, hlc_counter: r.hlc_counter, hlc_node_id: r.hlc_node_id });
    callback(null, { accepted: true, error: '' });
  },
  ExchangeRoots(call, callback) {
    const root = call.request.merkle_root;
    if (root.length !== 0 && root.length !== 32) return invalid(callback, `merkle_root must be 32 bytes or empty; got ${root.length}.`);
    callback(null, { merkle_root: ROOT, assertion_count: String(store.size), roots_match: false });
  },
  FetchAssertions(call, callback) {
    const hashes = call.request.hashes;
    if (hashes.length > MAX_FETCH) return invalid(callback, `at most ${MAX_FETCH} hashes per fetch; got ${hashes.length}.`);
    const bad = hashes.find((h) => h.length !== 32);
    if (bad) return invalid(callback, `every hash must be 32 bytes; got ${bad.length}.`);
    const assertions = hashes.map((h) => store.get(h.toString('hex'))).filter(Boolean);
    callback(null, { assertions });
  },
  Ping(call, callback) {
    const id = call.request.node_id;
    if (id.length !== 0 && id.length !== 16) return invalid(callback, `node_id must be 16 bytes or empty; got ${id.length}.`);
    callback(null, { node_id: nodeId, assertion_count: String(store.size) });
  },
  GetLeaves(call, callback) {
    const max = call.request.max_leaves;
    const cap = max === 0 || max > LEAVES_CAP ? LEAVES_CAP : max;
    const all = sortedLeaves();
    callback(null, { leaves: all.slice(0, cap), truncated: all.length > cap });
  },
};

const server = new grpc.Server();
server.addService(loadSyncService().service, service);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  process.stdout.write(`LISTENING ${port}\n`);
});

process.on('SIGTERM', () => server.forceShutdown());
