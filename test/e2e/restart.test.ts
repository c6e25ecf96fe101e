// Restart on the local stage: close it, start a new one on the same data directory, and nothing is lost.
import { rmSync } from 'node:fs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DecisionRecord, ScoreResponse } from '../../lambdas/shared/contracts/api.js';
import type { LocalCredentials } from '../../local/api/index.js';
import type { CustomerState } from '../../models/fraud-detector/src/features.js';
import type { Transaction } from '../../models/shared/contracts/transaction.js';
import {
  call,
  callerFor,
  credentialsOf,
  type E2eStage,
  expectErrorBody,
  fetchToken,
  PATHS,
  refOf,
  runId,
  STAGE_HOOK_TIMEOUT_MS,
  sdkClients,
  startE2eStage,
  tempDataDir,
  transaction,
} from './support.js';

const dataDir = tempDataDir('restart');
const run = runId('restart');
const customerId = `${run}-c`;
const scored = transaction(`${run}-scored`, { customerId });
const ingested: Transaction[] = Array.from({ length: 4 }, (_, i) =>
  transaction(`${run}-i-${i}`, { customerId, timestamp: new Date(Date.now() - (10 - i) * 60_000).toISOString() }),
);

let current: E2eStage | undefined;
let before: {
  credentials: LocalCredentials;
  decision: DecisionRecord;
  features: Record<string, unknown>;
  score: ScoreResponse;
};

async function featuresItem(stage: E2eStage): Promise<Record<string, unknown>> {
  const aws = sdkClients(stage.stage);
  try {
    const { Item } = await aws.doc.send(
      new GetCommand({
        TableName: refOf(stage.stage, PATHS.featuresTable),
        Key: { pk: `customer#${customerId}` },
        ConsistentRead: true,
      }),
    );
    if (!Item) throw new Error(`no features for customer ${customerId}`);
    return Item;
  } finally {
    aws.destroy();
  }
}

beforeAll(async () => {
  // First life of the stage: score, ingest, remember what it holds, then shut it down cleanly.
  current = await startE2eStage('restart', { dataDir });
  const gateway = await callerFor(current.stage, 'merchant-gateway');
  const analyst = await callerFor(current.stage, 'analyst-console');
  const ingest = await call(current.stage, 'POST', '/v1/transactions', {
    caller: gateway,
    body: { transactions: ingested },
  });
  expect(ingest.status).toBe(200);
  await current.stage.mappings.drain();
  const response = await call(current.stage, 'POST', '/v1/score', { caller: gateway, body: scored });
  expect(response.status).toBe(200);
  const decision = await call(current.stage, 'GET', `/v1/decisions/${scored.transactionId}`, { caller: analyst });
  before = {
    credentials: current.stage.api.credentials(),
    decision: DecisionRecord.parse(decision.json),
    features: await featuresItem(current),
    score: ScoreResponse.parse(response.json),
  };
  await current.close({ keepData: true });
  current = undefined;

  current = await startE2eStage('restart', { dataDir });
}, STAGE_HOOK_TIMEOUT_MS * 2);

afterAll(async () => {
  await current?.close({ keepData: true });
  rmSync(dataDir, { recursive: true, force: true });
}, STAGE_HOOK_TIMEOUT_MS);

describe('GIVEN a stage restarted on the data directory of a previous one', () => {
  it('WHEN the credentials are read THEN every client id, secret and API key is the same and still works', async () => {
    const stage = (current as E2eStage).stage;
    const strip = (c: LocalCredentials) =>
      c.clients.map(({ name, clientId, clientSecret, apiKey, scopes }) => ({
        name,
        clientId,
        clientSecret,
        apiKey,
        scopes,
      }));
    expect(strip(stage.api.credentials())).toEqual(strip(before.credentials));
    expect(before.credentials.clients.length).toBeGreaterThan(0);
    // The old secret gets a token from the new issuer and the old key passes the usage plan: an invalid body then
    // reaches request validation (400), past the authorizer (401/403) and the key check (403).
    const creds = credentialsOf(stage, 'merchant-gateway');
    const token = await fetchToken(creds);
    const probe = await call(stage, 'POST', '/v1/score', { caller: { token, apiKey: creds.apiKey }, body: {} });
    expectErrorBody(probe, 400, 'validation_error');
  });

  it('WHEN the decision is read THEN the audit record is the one written before the restart', async () => {
    const stage = (current as E2eStage).stage;
    const analyst = await callerFor(stage, 'analyst-console');
    const response = await call(stage, 'GET', `/v1/decisions/${scored.transactionId}`, { caller: analyst });
    expect(response.status).toBe(200);
    expect(DecisionRecord.parse(response.json)).toEqual(before.decision);
  });

  it('WHEN the features are read THEN the aggregate is unchanged and keeps counting from where it was', async () => {
    const after = await featuresItem(current as E2eStage);
    expect(after).toEqual(before.features);
    expect((after.state as CustomerState).count).toBe(ingested.length);

    const stage = (current as E2eStage).stage;
    const gateway = await callerFor(stage, 'merchant-gateway');
    const more = transaction(`${run}-after`, { customerId });
    expect(
      (await call(stage, 'POST', '/v1/transactions', { caller: gateway, body: { transactions: [more] } })).status,
    ).toBe(200);
    await stage.mappings.drain();
    expect(((await featuresItem(current as E2eStage)).state as CustomerState).count).toBe(ingested.length + 1);
  });

  it('WHEN the scored transaction is retried THEN the stored decision answers (idempotency survived the restart)', async () => {
    const stage = (current as E2eStage).stage;
    const gateway = await callerFor(stage, 'merchant-gateway');
    const retry = await call(stage, 'POST', '/v1/score', { caller: gateway, body: scored });
    expect(retry.status).toBe(200);
    expect(retry.json).toEqual(before.score);
  });
});
