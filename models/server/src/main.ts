// Command line of the model server: `model-server [serve] [--model-dir …] [--port …]`, SageMaker-compatible
// (`docker run <image> serve`, SAGEMAKER_BIND_TO_PORT), reloads on SIGHUP, drains on SIGTERM/SIGINT.

import { parseCommandLine, USAGE } from './cli.js';
import { errorFields, jsonLogger } from './log.js';
import { type ModelServerOptions, startModelServer } from './server.js';

async function main(): Promise<void> {
  let options: ModelServerOptions | 'help';
  try {
    options = parseCommandLine(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const server = await startModelServer(options).catch(() => {
    // startModelServer has already logged why; a container that cannot serve must exit non-zero.
    process.exit(1);
  });

  process.on('SIGHUP', () => {
    server.reload().catch(() => {
      // Logged by reload; the previous version keeps serving.
    });
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    jsonLogger('info', 'signal', { signal });
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        jsonLogger('error', 'shutdown_failed', errorFields(err));
        process.exit(1);
      },
    );
  };
  if (process.env.MODEL_SERVER_STOP_ON_STDIN_END === '1') {
    // Run by a parent (the local stage): its signals reach our process group too, but the parent stops us when its
    // callers are done, by closing our stdin; if the parent dies, even by SIGKILL, stdin ends as well.
    process.on('SIGTERM', () => undefined);
    process.on('SIGINT', () => undefined);
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('error', () => stop('stdin failed'));
    process.stdin.resume();
    return;
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
