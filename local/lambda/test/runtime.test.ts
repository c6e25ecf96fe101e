// Tests of the local Lambda runtime with hand-written handlers: context, env, errors, timeouts, pool, logs.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../../../test/support/eventually.js';
import { FunctionNotFoundError, type LambdaRuntime, startLambdaRuntime } from '../runtime.js';
import { closedEndpoints, functionArn, functionResource, makeTemplate, tempDir } from './fixtures.js';

const ECHO = `
let calls = 0;
const loadedWith = process.env.GREETING;
export const handler = async (event, context) => {
  calls++;
  console.log('echo called', JSON.stringify(event));
  return {
    event, calls, loadedWith,
    threadId: (await import('node:worker_threads')).threadId,
    context: {
      awsRequestId: context.awsRequestId, functionName: context.functionName,
      invokedFunctionArn: context.invokedFunctionArn, memoryLimitInMB: context.memoryLimitInMB,
      functionVersion: context.functionVersion, remaining: context.getRemainingTimeInMillis(),
      logGroupName: context.logGroupName, logStreamName: context.logStreamName,
    },
    env: {
      AWS_LAMBDA_FUNCTION_NAME: process.env.AWS_LAMBDA_FUNCTION_NAME,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      AWS_EXECUTION_ENV: process.env.AWS_EXECUTION_ENV ?? null,
      AWS_REGION: process.env.AWS_REGION,
      AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB,
      POWERTOOLS_TRACE_ENABLED: process.env.POWERTOOLS_TRACE_ENABLED,
      OVERRIDDEN: process.env.OVERRIDDEN ?? null,
    },
  };
};`;

const FAILING = `
class ValidationError extends Error { name = 'ValidationError'; }
export const handler = async (event) => {
  if (event.kind === 'throw') throw new ValidationError('amount must be positive');
  if (event.kind === 'string') throw 'plain string';
  // Never settles: only the runtime noticing the rejection ends this call (a miss is a timeout, not a pass).
  if (event.kind === 'rejection') { Promise.reject(new Error('nobody awaits me')); await new Promise(() => {}); }
  if (event.kind === 'sleep') await new Promise((r) => setTimeout(r, event.ms));
  if (event.kind === 'big') return 'x'.repeat(7 * 1024 * 1024);
  return { fine: true };
};`;

/** An init far longer than an invocation, as a bundle's on two loaded cores is against a score. */
const SLOW_INIT = `
await new Promise((r) => setTimeout(r, 4000));
export const handler = async (event) => {
  await new Promise((r) => setTimeout(r, event.ms));
  return { threadId: (await import('node:worker_threads')).threadId };
};`;

describe('startLambdaRuntime', () => {
  let dataDir: string;
  let runtime: LambdaRuntime;

  beforeAll(async () => {
    dataDir = tempDir('lambda-runtime');
    const assemblyDir = join(dataDir, 'cdk.out', 'assembly-Dev');
    const template = makeTemplate(
      [
        functionResource(assemblyDir, { name: 'Echo', source: ECHO, env: { GREETING: 'hello-echo' }, memorySize: 256 }),
        functionResource(assemblyDir, { name: 'EchoTwin', source: ECHO, env: { GREETING: 'hello-twin' } }),
        functionResource(assemblyDir, { name: 'Failing', source: FAILING, timeout: 1 }),
        functionResource(assemblyDir, { name: 'BrokenInit', source: `throw new RangeError('TABLE is not set');` }),
        functionResource(assemblyDir, { name: 'SlowInit', source: SLOW_INIT }),
        functionResource(assemblyDir, {
          name: 'NoExport',
          source: 'export const other = 1;',
          handler: 'index.handler',
        }),
      ],
      assemblyDir,
    );
    runtime = await startLambdaRuntime({
      template,
      endpoints: closedEndpoints(),
      dataDir,
      maxConcurrencyPerFunction: 2,
      environmentOverrides: (fn) => (fn.name === 'EchoTwin' ? { OVERRIDDEN: 'yes' } : undefined),
    });
  });

  afterAll(async () => {
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GIVEN a function WHEN invoked THEN the handler gets the event, a Lambda context and its own environment', async () => {
    const result = await runtime.invoke('Echo', { amount: 12.5 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const payload = result.payload as Record<string, Record<string, unknown>>;
    expect(payload.event).toEqual({ amount: 12.5 });
    expect(payload.loadedWith).toBe('hello-echo');
    expect(payload.context).toMatchObject({
      functionName: 'Echo',
      invokedFunctionArn: functionArn('Echo'),
      memoryLimitInMB: '256',
      functionVersion: '$LATEST',
      logGroupName: '/aws/lambda/Echo',
    });
    expect(payload.context?.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.context?.remaining).toBeGreaterThan(2000);
    expect(payload.context?.remaining).toBeLessThanOrEqual(3000);
    expect(payload.context?.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(payload.env).toEqual({
      AWS_LAMBDA_FUNCTION_NAME: 'Echo',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_EXECUTION_ENV: null,
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
      POWERTOOLS_TRACE_ENABLED: 'false',
      OVERRIDDEN: null,
    });
  });

  it('GIVEN two functions of the same bundle WHEN each imports it THEN each sees only its own environment', async () => {
    const [echo, twin] = await Promise.all([runtime.invoke('Echo', {}), runtime.invoke('EchoTwin', {})]);
    expect(echo.ok && (echo.payload as { loadedWith: string }).loadedWith).toBe('hello-echo');
    expect(twin.ok && (twin.payload as { loadedWith: string }).loadedWith).toBe('hello-twin');
    expect(twin.ok && (twin.payload as { env: { OVERRIDDEN: string } }).env.OVERRIDDEN).toBe('yes');
  });

  it('GIVEN a warm function WHEN invoked again THEN the same execution environment serves it', async () => {
    const first = await runtime.invoke(functionArn('Echo'), {});
    const second = await runtime.invoke(`${functionArn('Echo')}:$LATEST`, {});
    const calls = (r: typeof first) => (r.ok ? (r.payload as { calls: number }).calls : -1);
    expect(calls(second)).toBe(calls(first) + 1);
    const stats = runtime.stats().find((s) => s.name === 'Echo');
    expect(stats?.coldStarts).toBe(1);
    expect(stats?.workers).toBe(1);
  });

  it('GIVEN the targets Lambda accepts WHEN resolved THEN name, ARN, qualified ARN and integration URI find the function', () => {
    const uri = `arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/${functionArn('Echo')}/invocations`;
    for (const target of ['Echo', functionArn('Echo'), `${functionArn('Echo')}:live`, uri, 'EchoFunction0000']) {
      expect(runtime.resolve(target)?.name).toBe('Echo');
    }
    expect(runtime.resolve('Nope')).toBeUndefined();
  });

  it('GIVEN an unknown target WHEN invoked THEN it throws ResourceNotFoundException naming the known functions', async () => {
    await expect(runtime.invoke('Nope', {})).rejects.toThrow(FunctionNotFoundError);
    await expect(runtime.invoke('Nope', {})).rejects.toThrow(/Function not found: Nope .*Echo/);
  });

  it('GIVEN a handler that throws WHEN invoked THEN the result is Lambda error payload with type, message and trace', async () => {
    const result = await runtime.invoke('Failing', { kind: 'throw' });
    expect(result).toMatchObject({ ok: false, errorType: 'ValidationError', errorMessage: 'amount must be positive' });
    expect(!result.ok && result.stackTrace?.some((line) => line.includes('index.mjs'))).toBe(true);
    expect(await runtime.invoke('Failing', { kind: 'string' })).toMatchObject({
      ok: false,
      errorType: 'string',
      errorMessage: 'plain string',
    });
    expect(await runtime.invoke('Failing', { kind: 'ok' })).toMatchObject({ ok: true, payload: { fine: true } });
  });

  it('GIVEN a handler slower than Timeout WHEN invoked THEN Task timed out, the worker is replaced, the next call works', async () => {
    const started = performance.now();
    const result = await runtime.invoke('Failing', { kind: 'sleep', ms: 5000 });
    const elapsed = performance.now() - started;
    expect(result).toMatchObject({ ok: false, errorType: 'Sandbox.Timedout' });
    expect(!result.ok && result.errorMessage).toMatch(
      /^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$/,
    );
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    // The handler sleeps 5 s; the call returned when the 1 s timeout fired, not when the handler finished.
    expect(elapsed).toBeLessThan(4500);
    expect(await runtime.invoke('Failing', { kind: 'ok' })).toMatchObject({ ok: true });
    expect(runtime.stats().find((s) => s.name === 'Failing')?.timeouts).toBe(1);
  });

  it('GIVEN an unhandled rejection WHEN invoked THEN the invocation fails and the environment is replaced', async () => {
    const result = await runtime.invoke('Failing', { kind: 'rejection' });
    expect(result).toMatchObject({ ok: false, errorType: 'Runtime.UnhandledPromiseRejection' });
    expect(!result.ok && result.errorMessage).toMatch(/nobody awaits me/);
    expect(await runtime.invoke('Failing', { kind: 'ok' })).toMatchObject({ ok: true });
  });

  it('GIVEN a response over 6 MB WHEN invoked THEN Function.ResponseSizeTooLarge', async () => {
    expect(await runtime.invoke('Failing', { kind: 'big' })).toMatchObject({
      ok: false,
      errorType: 'Function.ResponseSizeTooLarge',
    });
  });

  it('GIVEN a module that throws at import WHEN invoked THEN the init error is returned and retried next time', async () => {
    const first = await runtime.invoke('BrokenInit', {});
    expect(first).toMatchObject({ ok: false, errorType: 'RangeError', errorMessage: 'TABLE is not set' });
    expect(await runtime.invoke('BrokenInit', {})).toMatchObject({ ok: false, errorType: 'RangeError' });
    expect(runtime.stats().find((s) => s.name === 'BrokenInit')?.coldStarts).toBe(2);
    await expect(runtime.warm(['BrokenInit'])).rejects.toThrow(/BrokenInit: RangeError: TABLE is not set/);
  });

  it('GIVEN a handler name the module does not export WHEN invoked THEN Runtime.HandlerNotFound', async () => {
    expect(await runtime.invoke('NoExport', {})).toMatchObject({
      ok: false,
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.handler is undefined or not exported',
    });
  });

  it('GIVEN more concurrent calls than the pool WHEN invoked THEN at most 2 workers run and the rest wait', async () => {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => runtime.invoke('Failing', { kind: 'sleep', ms: 300 })),
    );
    const elapsed = performance.now() - started;
    expect(results.every((r) => r.ok)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(600);
    const stats = runtime.stats().find((s) => s.name === 'Failing');
    expect(stats?.workers).toBeLessThanOrEqual(2);
    expect(stats?.busy).toBe(0);
  });

  it('GIVEN one warm environment busy WHEN a second call arrives THEN the first free environment serves it while a new one starts', async () => {
    await runtime.warm(['SlowInit']);
    const [a, b] = await Promise.all([runtime.invoke('SlowInit', { ms: 50 }), runtime.invoke('SlowInit', { ms: 50 })]);
    // Both on the warm environment, one after the other: neither waited for the 4 s init it started.
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    expect(a.ok && b.ok && (a.payload as { threadId: number }).threadId).toBe(
      b.ok && (b.payload as { threadId: number }).threadId,
    );
    expect(runtime.stats().find((s) => s.name === 'SlowInit')?.coldStarts).toBe(2);
  });

  it('GIVEN invocations WHEN they ran THEN the log file has START/END/REPORT and the console lines with the request id', async () => {
    const result = await runtime.invoke('EchoTwin', { marker: 'log-me' });
    const requestId = result.ok ? (result.payload as { context: { awsRequestId: string } }).context.awsRequestId : '';
    // stdout of a worker reaches the parent asynchronously: wait for the invocation's last line, bounded.
    const log = await eventually(
      'the REPORT line in the log file',
      () => {
        const text = readFileSync(runtime.logFile('EchoTwin'), 'utf8');
        return text.includes(`REPORT RequestId: ${requestId}`) ? text : undefined;
      },
      5_000,
      10,
    );
    expect(runtime.logFile('EchoTwin')).toBe(join(dataDir, 'logs', 'EchoTwin.log'));
    expect(log).toContain(`START RequestId: ${requestId} Version: $LATEST`);
    expect(log).toMatch(new RegExp(`\\t${requestId}\\tINFO\\techo called \\{"marker":"log-me"\\}`));
    expect(log).toContain(`END RequestId: ${requestId}`);
    expect(log).toMatch(new RegExp(`REPORT RequestId: ${requestId}\\tDuration: [\\d.]+ ms`));
  });
});
