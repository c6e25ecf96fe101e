// Snapshot serializer: replaces content hashes (asset hashes, bundle digests) and the checkout's absolute path, so
// snapshots change only with intent and match on any machine.
const path = require('node:path');

const HASH = /[0-9a-f]{64}/g;
const ROOT = path.resolve(__dirname, '..', '..');

module.exports = {
  test: (value) => typeof value === 'string' && (/[0-9a-f]{64}/.test(value) || value.includes(ROOT)),
  serialize: (value) => JSON.stringify(value.replace(HASH, '[HASH REMOVED]').split(ROOT).join('<project>')),
};
