// `npm start`: the local stage's entry. It runs the stage in this process (local/run-stage.ts), except when the tsx
// CLI launched it (`npx tsx local/start.ts`): tsx relays Ctrl-C to its child and SIGKILLs it when the child has not
// confirmed the signal within ~60 ms — which a stage busy under load can miss, losing its drain. Then this process
// only supervises: it starts the stage in a child (same process group, so Ctrl-C reaches it directly), confirms
// signals at once, forwards them, and exits as the stage exits. This file imports nothing heavy, so supervising costs
// one small Node process.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set on the supervised child, so it runs the stage instead of supervising again. */
const SUPERVISED = 'AIMS_STAGE_SUPERVISED';

/** The tsx CLI listens on `<tmpdir>/tsx-<uid>/<its pid>.pipe` for its child's signal confirmations. */
function launchedByTsxCli(): boolean {
  const user = process.geteuid ? process.geteuid() : userInfo().username;
  return existsSync(join(tmpdir(), `tsx-${user}`, `${process.ppid}.pipe`));
}

if (process.env[SUPERVISED] !== '1' && launchedByTsxCli()) {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env, [SUPERVISED]: '1' } },
  );
  // Ctrl-C reaches the child from the terminal too; it takes a repeat within half a second as the same press.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.once('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 1)));
} else {
  await import('./run-stage.js');
}
