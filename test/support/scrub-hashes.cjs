// Snapshot serializer: replaces content hashes (asset hashes, bundle digests) so snapshots change only with intent.
const HASH = /[0-9a-f]{64}/g;
module.exports = {
  test: (value) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value) => JSON.stringify(value.replace(HASH, '[HASH REMOVED]')),
};
