'use strict';
// A v1 client (original contract only) that makes one Ping and prints { "code": <grpc status, 0 = OK>, "details": "...",
// "assertion_count": "..." } as JSON. It dials TLS when given --ca, presents a client certificate with --cert/--key,
// and sends "authorization: Bearer <token>" with --token.
//
// Usage: node ping.js <host:port> [--ca ca.pem] [--cert client.pem --key client.key] [--token TOKEN]
const fs = require('fs');
const { grpc, loadSyncService } = require('./proto');

const args = process.argv.slice(2);
const address = args.shift();
const options = {};
while (args.length > 0) {
  const name = args.shift();
  if (!['--ca', '--cert', '--key', '--token'].includes(name) || args.length === 0) {
    console.error(`usage: node ping.js <host:port> [--ca ca.pem] [--cert client.pem --key client.key] [--token TOKEN]; got ${name}`);
    process.exit(2);
  }
  options[name.slice(2)] = args.shift();
}
if (!address) {
  console.error('usage: node ping.js <host:port> [--ca ca.pem] [--cert client.pem --key client.key] [--token TOKEN]');
  process.exit(2);
}

const credentials = options.ca
  ? grpc.credentials.createSsl(
      fs.readFileSync(options.ca),
      options.key ? fs.readFileSync(options.key) : null,
      options.cert ? fs.readFileSync(options.cert) : null)
  : grpc.credentials.createInsecure();
const SyncService = loadSyncService();
const client = new SyncService(address, credentials);
const metadata = new grpc.Metadata();
if (options.token) metadata.set('authorization', `Bearer ${options.token}`);

client.Ping({ node_id: Buffer.alloc(16, 0x22) }, metadata, { deadline: new Date(Date.now() + 10000) }, (err, response) => {
  if (err) console.log(JSON.stringify({ code: err.code, details: err.details }));
  else console.log(JSON.stringify({ code: 0, details: '', assertion_count: response.assertion_count }));
  client.close();
});
