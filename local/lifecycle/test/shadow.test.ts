// The shadow path on local parts: the endpoint proxy mirrors every invocation to a shadow model server after the
// caller has its answer and writes both variants' capture to real local S3 (s3rver); the shadow comparison reads that
// capture through its S3 adapter and judges it. Model servers are real processes over fixture models with known math.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { readCapturedScores } from '../../../lambdas/shadow/adapters.js';
import { createHandler } from '../../../lambdas/shadow/app.js';
import { type CapturedScore, compareShadow, type ShadowResult, shadowVerdict } from '../../../lambdas/shadow/core.js';
import { s3Client } from '../../../lambdas/shared/aws.js';
import {
  parseEventDetail,
  type ShadowComparedData,
  toPutEventsEntry,
} from '../../../lambdas/shared/contracts/events.js';
import { createPowertools } from '../../../lambdas/shared/powertools.js';
import { PROJECT_ROOT } from '../../../lib/constructs/service-function.js';
import { decide } from '../../../models/shared/contracts/decision.js';
import { type BackendServers, startBackendServers } from '../../backends/servers.js';
import { type LocalModelEndpoint, startLocalModelEndpoint } from '../../model-endpoint.js';
import { type CaptureSettings, EndpointProxy } from '../endpoint-proxy.js';
import { LocalS3 } from '../s3.js';

const ROOT = PROJECT_ROOT;
const FIXTURE_SCRIPT = join(ROOT, 'models', 'server', 'test', 'fixtures', 'make_fixture_model.py');
const BUCKET = 'capture';
const REGION = 'eu-west-1';
const POLICY = { decide: (score: number) => decide(score, 0.5, 0.9) };
const THRESHOLDS = { minPairs: 100, minAgreement: 0.97, maxScorePsi: 0.25, maxMeanAbsDiff: 0.1 };
const REQUESTS = 150;
const context = { awsRequestId: 'req', functionName: 'shadow-compare' } as Context;

/** A fixture model (score = sigmoid(x·w + bias)) with its manifest, by the model server's own fixture script. */
function fixtureModel(dir: string, version: string, bias: number): { dir: string; width: number } {
  mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', [FIXTURE_SCRIPT, dir, '--version', version, '--bias', String(bias)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { features: string[] };
  return { dir, width: manifest.features.length };
}

/** Seeded rows near the origin, so scores spread over (0, 1) instead of saturating. */
function rows(count: number, width: number, seed: number): number[][] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: count }, () => Array.from({ length: width }, () => (next() - 0.5) * 0.4));
}

const body = (row: readonly number[]) =>
  JSON.stringify({ inputs: [{ name: 'features', shape: [1, row.length], datatype: 'FP32', data: row }] });

async function invoke(url: string, row: readonly number[], inferenceId?: string): Promise<number> {
  const res = await fetch(`${url}/endpoints/ep/invocations`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(inferenceId ? { 'x-amzn-sagemaker-inference-id': inferenceId } : {}),
    },
    body: body(row),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data[0] as number;
}

const capture = (endpointName: string, variantName: string): CaptureSettings => ({
  destination: `s3://${BUCKET}/fixture`,
  endpointName,
  variantName,
  samplingPercentage: 100,
  captureInput: true,
  captureOutput: true,
});

describe('GIVEN the endpoint proxy with a shadow model server and capture to local S3', () => {
  let dir: string;
  let backends: BackendServers;
  let s3: LocalS3;
  let champion: LocalModelEndpoint;
  let twin: LocalModelEndpoint;
  let other: LocalModelEndpoint;
  let proxy: EndpointProxy;
  let width: number;
  let silent: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    Object.assign(process.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' });
    dir = mkdtempSync(join(tmpdir(), 'aims-shadow-'));
    backends = await startBackendServers({ dataDir: join(dir, 'backends'), buckets: [BUCKET] });
    s3 = new LocalS3(backends.endpoints.s3, REGION);
    const models = {
      champion: fixtureModel(join(dir, 'champion'), 'champion', 0.25),
      // The same math as the champion: a challenger that agrees everywhere.
      twin: fixtureModel(join(dir, 'twin'), 'twin', 0.25),
      // A shifted bias: a challenger that scores everything higher.
      other: fixtureModel(join(dir, 'other'), 'other', 2.5),
    };
    width = models.champion.width;
    const start = (name: keyof typeof models) =>
      startLocalModelEndpoint({
        root: ROOT,
        modelDir: models[name].dir,
        manifestDir: models[name].dir,
        logFile: join(dir, 'logs', `${name}.log`),
      });
    [champion, twin, other] = await Promise.all([start('champion'), start('twin'), start('other')]);
    // A shadow that accepts connections and never answers.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    proxy = new EndpointProxy(() => champion.url, capture('ep-twin', 'champion'), s3, 60_000);
    await proxy.start();
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
    await Promise.all([champion?.close(), twin?.close(), other?.close()]);
    s3?.close();
    await backends?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends the rows through the proxy with ids; returns the champion's answers and the shadow's (asked directly). */
  async function traffic(prefix: string, shadowUrl: string, seed: number) {
    const sent = rows(REQUESTS, width, seed);
    const champions: CapturedScore[] = [];
    const shadows: CapturedScore[] = [];
    for (const [i, row] of sent.entries()) {
      const inferenceId = `${prefix}-${i}`;
      champions.push({ inferenceId, score: await invoke(proxy.url, row, inferenceId) });
      shadows.push({ inferenceId, score: await invoke(shadowUrl, row) });
    }
    await proxy.shadowIdle();
    await proxy.flushCapture();
    return { champions, shadows };
  }

  /** The comparison as the function runs it: its S3 adapter over the capture the proxy wrote. */
  async function compare(endpointName: string) {
    const client = s3Client({
      endpoint: backends.endpoints.s3,
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const published: ShadowComparedData[] = [];
    const handler = createHandler({
      powertools: createPowertools({ serviceName: 'shadow-compare' }),
      model: 'fixture-scorer',
      policy: POLICY,
      thresholds: THRESHOLDS,
      windowMinutes: 60,
      answers: async (variant, start, end) =>
        (
          await readCapturedScores({
            s3: client,
            bucket: BUCKET,
            prefix: `fixture/${endpointName}/`,
            variant,
            start,
            end,
          })
        ).scores,
      // Each event as PutEvents carries it and a consumer reads it: validated by the shared contract both ways.
      publisher: {
        publish: async (events) => {
          for (const event of events) {
            const entry = toPutEventsEntry(event, 'bus');
            expect(entry).toMatchObject({ Source: 'aims.shadow', DetailType: 'ShadowCompared' });
            published.push(parseEventDetail('ShadowCompared', JSON.parse(entry.Detail)));
          }
        },
      },
    });
    try {
      const result = (await handler({ trigger: 'pipeline', windowMinutes: 60 }, context)) as ShadowResult;
      return { result, published };
    } finally {
      client.destroy();
    }
  }

  it('WHEN the shadow serves the same model THEN every request pairs, decisions agree and the verdict passes', async () => {
    proxy.setShadow(() => twin.url, capture('ep-twin', 'shadow'));
    const before = proxy.served.shadow;
    await traffic('twin', twin.url, 7);
    expect(proxy.served.shadow - before).toBe(REQUESTS);
    const { result, published } = await compare('ep-twin');
    expect(result).toMatchObject({
      pairs: REQUESTS,
      unpaired: { champion: 0, shadow: 0 },
      meanAbsDiff: 0,
      p99AbsDiff: 0,
      agreement: 1,
      passed: true,
      judged: true,
      reasons: [],
    });
    expect(result.scorePsi).toBeCloseTo(0, 10);
    expect(published).toEqual([expect.objectContaining({ trigger: 'pipeline', pairs: REQUESTS, passed: true })]);
  }, 60_000);

  it('WHEN the shadow scores higher THEN the figures are those of the two models’ answers and the verdict fails', async () => {
    proxy.setCapture(capture('ep-other', 'champion'));
    proxy.setShadow(() => other.url, capture('ep-other', 'shadow'));
    const { champions, shadows } = await traffic('other', other.url, 11);
    const expected = compareShadow(champions, shadows, POLICY);
    const verdict = shadowVerdict(expected, THRESHOLDS);
    expect(verdict.passed).toBe(false);
    const { result, published } = await compare('ep-other');
    expect(result.pairs).toBe(REQUESTS);
    // Captured FP32 answers are the answers the callers got: the same figures, to float precision.
    expect(result.meanAbsDiff).toBeCloseTo(expected.meanAbsDiff, 6);
    expect(result.p99AbsDiff).toBeCloseTo(expected.p99AbsDiff, 6);
    expect(result.agreement).toBe(expected.agreement);
    expect(result.scorePsi).toBeCloseTo(expected.scorePsi, 6);
    expect(result.passed).toBe(false);
    expect(result.reasons).toEqual(verdict.reasons.map((r) => expect.stringContaining(r.slice(0, 20))));
    expect(published[0]).toMatchObject({ passed: false, judged: true });
  }, 60_000);

  it('WHEN the shadow never answers THEN callers still get the champion’s answers (the copy is not awaited)', async () => {
    const port = (silent.address() as { port: number }).port;
    proxy.setCapture(capture('ep-silent', 'champion'));
    proxy.setShadow(() => `http://127.0.0.1:${port}`, capture('ep-silent', 'shadow'));
    const [row] = rows(1, width, 3);
    const direct = await invoke(champion.url, row as number[]);
    for (let i = 0; i < 3; i++) expect(await invoke(proxy.url, row as number[], `silent-${i}`)).toBe(direct);
    proxy.setShadow(undefined);
  }, 30_000);
});
