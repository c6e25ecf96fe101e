#!/usr/bin/env node
// Entry of `npx aims`: runs the TypeScript operator CLI (bin/cli/main.ts) through tsx on Node >= 22.12, re-running
// itself with the project's Node 22 when started by an older system Node (commander 15 needs 22.12).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = dirname(dirname(self));
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);

if (major < 22 || (major === 22 && minor < 12)) {
  const projectNode = join(root, 'node_modules', '.bin', 'node');
  // The guard variable stops a loop if node_modules/.bin/node is itself too old.
  if (!existsSync(projectNode) || process.env.AIMS_CLI_REEXEC === '1') {
    process.stderr.write(
      `aims: needs Node >= 22.12 (this is ${process.version}) and the project Node at ${projectNode} is missing or too old; ` +
        'run `npm install` in the repository (it installs Node 22 as a devDependency)\n',
    );
    process.exit(1);
  }
  const child = spawn(projectNode, [self, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, AIMS_CLI_REEXEC: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.once('error', (error) => {
    process.stderr.write(`aims: could not start ${projectNode}: ${error.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    // Die of the same signal so the caller sees what the child saw.
    if (signal) {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeAllListeners(s);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  // `aims … | head` closes the pipe early: that is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('./cli/main.ts');
  process.exitCode = await main(process.argv);
}
