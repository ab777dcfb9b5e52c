'use strict';
// A v1-only StemeDB sync peer on @grpc/grpc-js with an in-memory store, built from the original v1 contract
// (test/reference/stemedb-v1-sync.proto) and nothing else, for syncing a .NET node against:
// - its AssertionData carries only hash and data (it keeps no HLC of its own);
// - with --arrival-order it lists leaves in the order it received them (v1 promises no order); ascending otherwise;
// - its Merkle root is a scheme of its own (SHA-256 over the sorted leaves), so roots never match a StemeDb.Sync node;
// - the extensions (Reconcile, GossipBatch, the GetLeaves cursor) are unknown to it: grpc-js answers UNIMPLEMENTED
//   to the RPCs, and protobuf drops the unknown field.
// It checks every length and limit of the v1 protocol, but cannot verify BLAKE3 hashes (node.js has no BLAKE3).
//
// Usage: node server.js [seed.json] [--arrival-order]   (prints "LISTENING <port>" once bound on 127.0.0.1, then serves until killed)
// seed.json: { "records": [ { "hash": hex, "data": hex } ] }   (other fields are ignored)
// On each line of standard input it answers one line of JSON: { "calls": { "<rpc>": n }, "count": n }.
const fs = require('fs');
const crypto = require('crypto');
const readline = require('readline');
const { grpc, loadSyncService } = require('./proto');

const MAX_FETCH = 1000;
const LEAVES_CAP = 10000;
const nodeId = crypto.randomBytes(16);
const store = new Map(); // hex hash -> { hash, data }
const calls = {};
let rootCache = null;

function put(hash, data) {
  const key = hash.toString('hex');
  if (!store.has(key)) {
    store.set(key, { hash, data });
    rootCache = null;
  }
}

const arrivalOrder = process.argv.includes('--arrival-order');
const seedPath = process.argv.slice(2).find((a) => !a.startsWith('--'));
if (seedPath) {
  for (const r of JSON.parse(fs.readFileSync(seedPath, 'utf8')).records) {
    put(Buffer.from(r.hash, 'hex'), Buffer.from(r.data, 'hex'));
  }
}

function invalid(callback, message) {
  callback({ code: grpc.status.INVALID_ARGUMENT, details: message });
}

function sortedLeaves() {
  return [...store.values()].map((r) => r.hash).sort(Buffer.compare);
}

// A root scheme of this peer's own, unrelated to StemeDb.Sync's Merkle tree.
function root() {
  if (rootCache === null) {
    const h = crypto.createHash('sha256');
    for (const leaf of sortedLeaves()) h.update(leaf);
    rootCache = h.digest();
  }
  return rootCache;
}

function counted(name, handler) {
  return (call, callback) => {
    calls[name] = (calls[name] || 0) + 1;
    handler(call, callback);
  };
}

const service = {
  Gossip(call, callback) {
    const r = call.request;
    if (r.assertion_hash.length !== 32) return callback(null, { accepted: false, error: `assertion_hash must be 32 bytes; got ${r.assertion_hash.length}.` });
    if (r.hlc_node_id.length !== 0 && r.hlc_node_id.length !== 16) return callback(null, { accepted: false, error: `hlc_node_id must be 16 bytes; got ${r.hlc_node_id.length}.` });
    put(r.assertion_hash, r.assertion_data);
    callback(null, { accepted: true, error: '' });
  },
  ExchangeRoots(call, callback) {
    const theirs = call.request.merkle_root;
    if (theirs.length !== 0 && theirs.length !== 32) return invalid(callback, `merkle_root must be 32 bytes or empty; got ${theirs.length}.`);
    const own = root();
    callback(null, { merkle_root: own, assertion_count: String(store.size), roots_match: theirs.length === 32 && own.equals(theirs) });
  },
  FetchAssertions(call, callback) {
    const hashes = call.request.hashes;
    if (hashes.length > MAX_FETCH) return invalid(callback, `at most ${MAX_FETCH} hashes per fetch; got ${hashes.length}.`);
    const bad = hashes.find((h) => h.length !== 32);
    if (bad) return invalid(callback, `every hash must be 32 bytes; got ${bad.length}.`);
    const assertions = hashes.map((h) => store.get(h.toString('hex'))).filter(Boolean); // hash and data only
    callback(null, { assertions });
  },
  Ping(call, callback) {
    const id = call.request.node_id;
    if (id.length !== 0 && id.length !== 16) return invalid(callback, `node_id must be 16 bytes or empty; got ${id.length}.`);
    callback(null, { node_id: nodeId, assertion_count: String(store.size) });
  },
  GetLeaves(call, callback) {
    const max = BigInt(call.request.max_leaves); // uint64
    const cap = max === 0n || max > BigInt(LEAVES_CAP) ? LEAVES_CAP : Number(max);
    // The v1 contract promises no order: with --arrival-order this peer lists its leaves as it received them.
    const all = arrivalOrder ? [...store.values()].map((r) => r.hash) : sortedLeaves();
    callback(null, { leaves: all.slice(0, cap), truncated: all.length > cap });
  },
};

const server = new grpc.Server();
const countedService = {};
for (const [name, handler] of Object.entries(service)) countedService[name] = counted(name, handler);
server.addService(loadSyncService().service, countedService);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  process.stdout.write(`LISTENING ${port}\n`);
});

readline.createInterface({ input: process.stdin }).on('line', () => {
  process.stdout.write(JSON.stringify({ calls, count: store.size }) + '\n');
});

process.on('SIGTERM', () => server.forceShutdown());
