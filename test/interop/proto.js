'use strict';
// Loads the original v1 contract (test/reference/stemedb-v1-sync.proto, exactly as the Rust nodes ship it): these
// scripts are a v1-only server and a v1 client, so they know no extension field or RPC.
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_PATH = path.resolve(__dirname, '..', 'reference', 'stemedb-v1-sync.proto');

function loadSyncService() {
  const definition = protoLoader.loadSync(PROTO_PATH, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).stemedb.sync.v1.SyncService;
}

module.exports = { grpc, loadSyncService, PROTO_PATH };
