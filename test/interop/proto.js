'use strict';
// Loads the v1 service definition from the repository's proto/sync.proto (the same file the .NET package compiles).
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_PATH = path.resolve(__dirname, '..', '..', 'proto', 'sync.proto');

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
