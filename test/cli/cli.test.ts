// The operator CLI end to end: the real `bin/aims-cli.mjs` in a child process against a real local stage.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecisionRecord, ScoreResponse } from '../../lambdas/shared/contracts/api.js';
import { type LocalStage, startLocalStage } from '../../local/stage.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const CLI = join(ROOT, 'bin', 'aims-cli.mjs');
const NODE22 = join(ROOT, 'node_modules', '.bin', 'node');
const HOOK_TIMEOUT_MS = 180_000;

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI asynchronously (a sync spawn would block the in-process stage it talks to). */
function aims(
  args: readonly string[],
  options: { node?: string; stdin?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  // Without the caller's AIMS_* variables, so only the flags decide the target.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMS_')));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(options.node ?? NODE22, [CLI, ...args], {
      cwd: ROOT,
      env: { ...env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON: ${text.slice(0, 500)}`);
  }
}

function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A port nothing listens on: bound and released again. */
function deadPort(): Promise<number> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePromise(port));
    });
  });
}

/** The first Node on PATH outside the project that is too old for commander 15, to prove the re-exec. */
function systemOldNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, 'node');
    if (!dir || dir.startsWith(join(ROOT, 'node_modules')) || !existsSync(candidate)) continue;
    const version = execFileSync(candidate, ['-p', 'process.versions.node']).toString().trim();
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 12)) return candidate;
  }
  return undefined;
}

let stage: LocalStage;
let dataDir: string;
let emptyDir: string;
let base: string[];
const runId = `cli${Date.now().toString(36)}`;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'aims-cli-'));
  emptyDir = mkdtempSync(join(tmpdir(), 'aims-cli-empty-'));
  stage = await startLocalStage({ port: 0, synth: false, dataDir, log: () => {} });
  base = ['--data-dir', dataDir];
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  await stage?.close();
  for (const dir of [dataDir, emptyDir]) if (dir) rmSync(dir, { recursive: true, force: true });
}, HOOK_TIMEOUT_MS);

describe('GIVEN the CLI entry', () => {
  it('WHEN asked for --help THEN it lists every command and says deployed stages need no AWS credentials', async () => {
    const r = await aims(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['token', 'score', 'decisions', 'models', 'drift', 'health']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(r.stdout).toContain('No AWS credentials are needed');
  });

  it('WHEN started by a system Node older than 22.12 THEN it re-runs itself on the project Node, keeping stdout and exit codes', async () => {
    const old = systemOldNode();
    expect(old).toBeDefined();
    const ok = await aims([...base, 'health', '--json'], { node: old as string });
    expect(ok.code).toBe(0);
    expect(parseJson(ok.stdout)).toMatchObject({ status: 'ok', url: stage.url });
    const usage = await aims([...base, 'score'], { node: old as string });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('score needs --customer, --merchant, --amount, --category');
  });
});

describe('GIVEN a running local stage', () => {
  it('WHEN `aims token` runs THEN stdout is only a token of the default client, and the API accepts it', async () => {
    const r = await aims([...base, 'token']);
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const gateway = stage.api.credentials().clients.find((c) => c.name === 'merchant-gateway');
    expect(jwtClaims(token)).toMatchObject({ client_id: gateway?.clientId, scope: 'aims/score aims/ingest' });
    expect(r.stderr).toContain('client merchant-gateway');
  });

  it('WHEN `aims token --json` asks for one scope of another client THEN the JSON names it and the token reads decisions', async () => {
    const r = await aims([...base, 'token', '--json', '--client', 'analyst-console', '--scope', 'read']);
    expect(r.code).toBe(0);
    const body = parseJson(r.stdout) as { token: string; expires_in: number; scope: string; apiKey?: string };
    const analyst = stage.api.credentials().clients.find((c) => c.name === 'analyst-console');
    expect(body.scope).toBe('aims/read');
    expect(body.expires_in).toBeGreaterThan(0);
    expect(body.apiKey).toBeUndefined();
    expect(analyst?.apiKey).toBeDefined();
    // The token alone: the authorizer names the analysts' usage-plan key.
    const read = await fetch(`${stage.url}/v1/decisions/${runId}-none`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(read.status).toBe(404);
  });

  it('WHEN a client asks for a scope it lacks THEN the CLI exits 1 saying which client may not request it', async () => {
    const r = await aims([...base, 'token', '--client', 'chargeback-feed', '--scope', 'admin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("client 'chargeback-feed' may not request aims/admin");
  });

  it('WHEN given a deployed-style --client-id/--client-secret/--token-url and no data dir THEN it mints a token by OAuth2', async () => {
    const gateway = stage.api.credentials().clients.find((c) => c.name === 'merchant-gateway');
    if (!gateway) throw new Error('the stage has no merchant-gateway client');
    const r = await aims(['--data-dir', emptyDir, '--url', stage.url, 'token', '--json'], {
      env: {
        AIMS_CLIENT_ID: gateway.clientId,
        AIMS_CLIENT_SECRET: gateway.clientSecret,
        AIMS_TOKEN_URL: gateway.tokenUrl,
      },
    });
    expect(r.code).toBe(0);
    expect(jwtClaims((parseJson(r.stdout) as { token: string }).token).client_id).toBe(gateway.clientId);
  });

  it('WHEN `aims health` runs THEN it reports ok, in both human and JSON form', async () => {
    const human = await aims([...base, 'health']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^ok — .* at ${stage.url.replace(/[.]/g, '\\.')} \\(`));
    const json = await aims([...base, '--json', 'health']);
    expect(parseJson(json.stdout)).toMatchObject({ status: 'ok', url: stage.url });
  });

  it('WHEN a transaction is scored from flags THEN the JSON is the score response, and `decisions get` returns its audit record', async () => {
    const id = `${runId}-flags`;
    const flags = ['--customer', 'c-cli-1', '--merchant', 'm-cli-1', '--amount', '42.5', '--category', 'grocery'];
    const scored = await aims([...base, 'score', '--json', '--id', id, ...flags, '--country', 'fr']);
    expect(scored.code).toBe(0);
    const score = ScoreResponse.parse(parseJson(scored.stdout));
    expect(score.transactionId).toBe(id);

    const got = await aims([...base, 'decisions', 'get', id, '--json']);
    expect(got.code).toBe(0);
    const record = DecisionRecord.parse(parseJson(got.stdout));
    expect(record).toMatchObject({
      transactionId: id,
      decision: score.decision,
      score: score.score,
      transaction: {
        customerId: 'c-cli-1',
        merchantId: 'm-cli-1',
        amount: 42.5,
        currency: 'EUR',
        country: 'FR',
        channel: 'card_present',
      },
    });

    const human = await aims([...base, 'decisions', 'get', id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^decision\\s+${score.decision}$`, 'm'));
    expect(human.stdout).toContain('42.5 EUR at m-cli-1 (grocery), customer c-cli-1, FR, card_present');
  });

  it('WHEN a transaction is scored from a file and from stdin THEN the file fields are used and the table shows the decision', async () => {
    const tx = {
      transactionId: `${runId}-file`,
      customerId: 'c-cli-2',
      merchantId: 'm-cli-2',
      merchantCategory: 'electronics',
      amount: 1899,
      currency: 'USD',
      country: 'US',
      channel: 'online',
      deviceId: 'd-cli-2',
      timestamp: new Date().toISOString(),
    };
    const file = join(emptyDir, 'tx.json');
    writeFileSync(file, JSON.stringify(tx));
    const human = await aims([...base, 'score', '--file', file]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^decision\s+(approve|review|decline)$/m);
    expect(human.stdout).toMatch(/^score\s+[01]\.\d{4}$/m);
    expect(human.stdout).toMatch(/^degraded\s+no$/m);
    expect(human.stdout).toContain(`transaction  ${tx.transactionId}`);
    expect(human.stdout).toMatch(/top explanation\nfeature\s+contribution\n/);

    // Same body again (idempotent replay) through stdin, with --id overriding the file's id for a new decision.
    const piped = await aims([...base, 'score', '--file', '-', '--id', `${runId}-stdin`, '--json'], {
      stdin: JSON.stringify(tx),
    });
    expect(piped.code).toBe(0);
    expect(ScoreResponse.parse(parseJson(piped.stdout)).transactionId).toBe(`${runId}-stdin`);
    const record = await aims([...base, 'decisions', 'get', `${runId}-stdin`, '--json']);
    expect(DecisionRecord.parse(parseJson(record.stdout)).transaction).toMatchObject({
      merchantCategory: 'electronics',
      amount: 1899,
      deviceId: 'd-cli-2',
    });
  });

  it('WHEN `decisions get` asks for an unknown transaction THEN it exits 1 with a message and the requestId', async () => {
    const r = await aims([...base, 'decisions', 'get', `${runId}-missing`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`no decision recorded for transaction '${runId}-missing'.*\\(requestId [0-9a-f-]{36}\\)`),
    );
    const json = await aims([...base, 'decisions', 'get', `${runId}-missing`, '--json']);
    expect(json.code).toBe(1);
    expect(parseJson(json.stderr)).toMatchObject({ error: { status: 404, code: 'not_found' } });
  });

  it('WHEN a bad bearer token is passed THEN the API error is shown readably with its status and requestId', async () => {
    const r = await aims([...base, '--token', 'not-a-jwt', 'decisions', 'get', `${runId}-x`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/GET \/v1\/decisions\/\S+ failed: 401 unauthorized — .*\(requestId [0-9a-f-]{36}\)/);
  });

  it('WHEN the models commands run THEN they either work or say clearly that this stage has no models API yet', async () => {
    const openapi = (await (await fetch(`${stage.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const list = await aims([...base, 'models', 'list', '--json']);
    const drift = await aims([...base, 'drift', 'status', 'fraud-detector']);
    if ('/v1/models' in openapi.paths) {
      expect(list.code).toBe(0);
      expect(() => parseJson(list.stdout)).not.toThrow();
    } else {
      expect(list.code).toBe(1);
      expect(parseJson(list.stderr)).toMatchObject({ error: { code: 'no_models_api', status: 404 } });
      expect(drift.code).toBe(1);
      expect(drift.stderr).toContain('this stage has no models API yet (404 for GET /v1/models/fraud-detector/drift');
    }
  });
});

describe('GIVEN usage errors', () => {
  it.each([
    [['nosuch'], /unknown command 'nosuch'/],
    [['score', '--bogus'], /unknown option '--bogus'/],
    [['score', '--customer', 'c'], /score needs --merchant, --amount, --category/],
    [['score', '--amount', 'abc'], /--amount must be a positive number/],
    [
      ['score', '--customer', 'c', '--merchant', 'm', '--amount', '3', '--category', 'groceries'],
      /merchantCategory: Invalid option/,
    ],
    [['score', '--file', '/nonexistent/tx.json'], /cannot read --file \/nonexistent\/tx\.json/],
    [['decisions', 'get'], /missing required argument 'transactionId'/],
    [['decisions', 'get', 'bad id!'], /'bad id!' is not a transaction id/],
    [['--url', 'ftp://x', 'health'], /--url must be an http\(s\) URL/],
  ])('WHEN run with %j THEN it exits 2 and says what is wrong', async (args, message) => {
    const r = await aims([...base, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('WHEN a usage error happens with --json THEN stderr is one JSON error of code usage', async () => {
    const r = await aims([...base, '--json', 'score']);
    expect(r.code).toBe(2);
    expect(parseJson(r.stderr)).toMatchObject({ error: { code: 'usage' } });
  });
});

describe('GIVEN no stage is running', () => {
  it('WHEN health, token or score is called against a dead local port THEN each exits 1 telling to start it with `npm start`', async () => {
    const url = `http://127.0.0.1:${await deadPort()}`;
    const expected = `no local stage running at ${url} — start it with \`npm start\``;
    for (const args of [
      ['health'],
      ['token'],
      ['score', '--customer', 'c', '--merchant', 'm', '--amount', '1', '--category', 'fuel'],
    ]) {
      const r = await aims(['--data-dir', emptyDir, '--url', url, ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toContain(expected);
    }
    const json = await aims(['--data-dir', emptyDir, '--url', url, '--json', 'health']);
    expect(parseJson(json.stderr)).toMatchObject({ error: { code: 'stage_not_running', message: expected } });
  });
});

describe('GIVEN a stage with the models API (served here by a scripted server)', () => {
  let server: Server;
  let url: string;
  const seen: { method: string; path: string; auth: string; key: string }[] = [];
  let polls = 0;
  const steps = ['dataset', 'train', 'evaluate', 'deploy'];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        auth: String(req.headers.authorization ?? ''),
        key: String(req.headers['x-api-key'] ?? ''),
      });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const name = /^\/v1\/models\/([^/]+)/.exec(req.url ?? '')?.[1];
      if (req.method === 'POST' && req.url === `/v1/models/${name}/retrain`) {
        polls = 0;
        return send(202, { executionId: `exec-${name}`, status: 'RUNNING' });
      }
      if (req.method === 'GET' && req.url === `/v1/models/${name}`) {
        const step = steps[Math.min(polls, steps.length - 1)];
        const status = polls++ < steps.length ? 'RUNNING' : name === 'broken' ? 'FAILED' : 'SUCCEEDED';
        return send(200, { name, champion: '3', retraining: { executionId: `exec-${name}`, status, step } });
      }
      return send(404, { error: { code: 'not_found', message: `no model '${name}'` }, requestId: 'r-1' });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('WHEN `models retrain --wait` runs THEN it polls the model until the run succeeds and reports it', async () => {
    const r = await aims([
      ...['--data-dir', emptyDir, '--url', url, '--token', 'tok-1', '--json'],
      ...['models', 'retrain', 'fraud-detector', '--wait', '--interval', '0.05', '--timeout', '20'],
    ]);
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout)).toMatchObject({
      executionId: 'exec-fraud-detector',
      final: { status: 'SUCCEEDED', step: 'deploy' },
    });
    const calls = seen.filter((s) => s.path.startsWith('/v1/models/fraud-detector'));
    expect(calls[0]).toEqual({
      method: 'POST',
      path: '/v1/models/fraud-detector/retrain',
      auth: 'Bearer tok-1',
      // The token is the one credential: the CLI sends no x-api-key.
      key: '',
    });
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(steps.length + 1);
  });

  it('WHEN the run fails THEN `--wait` exits 1 naming the final status', async () => {
    const r = await aims([
      ...['--data-dir', emptyDir, '--url', url, '--token', 'tok-1'],
      ...['models', 'retrain', 'broken', '--wait', '--interval', '0.05', '--timeout', '20'],
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('retraining of broken ended FAILED (execution exec-broken)');
  });

  it('WHEN the API answers an error of its own on a models route THEN it is shown as such, not as a missing API', async () => {
    const r = await aims(['--data-dir', emptyDir, '--url', url, '--token', 't', 'models', 'rollback', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("POST /v1/models/nope/rollback failed: 404 not_found — no model 'nope' (requestId r-1)");
  });
});
