// A local training job must not outlive the stage that started it: SIGKILL the parent, the Python job ends too.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../../../test/support/eventually.js';
import { tempDir } from '../../lambda/test/fixtures.js';

const TRAINING_MODULE = fileURLToPath(new URL('../training.ts', import.meta.url));

/** Alive and not a zombie (an orphan's exit is reaped by init some time after it happens). */
function running(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

describe('pythonTiedToParent', () => {
  it('GIVEN a training script started by a process WHEN that process is SIGKILLed THEN the script ends too', async () => {
    const dir = tempDir('training-process');
    // The script imports a module beside it and prints its argv, as train.py would run directly.
    writeFileSync(join(dir, 'sibling.py'), 'GREETING = "beside"\n');
    const script = join(dir, 'job.py');
    writeFileSync(
      script,
      'import os, sys, time\nimport sibling\nprint(os.getpid(), sibling.GREETING, " ".join(sys.argv), flush=True)\ntime.sleep(60)\n',
    );
    const parentSource = `
      import { spawn } from 'node:child_process';
      import { pythonTiedToParent } from ${JSON.stringify(TRAINING_MODULE)};
      const tied = pythonTiedToParent(${JSON.stringify(script)}, ['--hyperparameters', 'h.json']);
      spawn(tied.command[0], tied.command.slice(1), { env: { ...process.env, ...tied.env }, stdio: 'inherit' });
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', parentSource], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const firstLine = new Promise<void>((resolve) => {
      parent.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/\n/.test(out)) resolve();
      });
    });
    try {
      await firstLine;
      const [pid, greeting, ...argv] = out.trim().split(' ');
      expect(greeting).toBe('beside');
      expect(argv).toEqual([script, '--hyperparameters', 'h.json']);
      const python = Number(pid);
      expect(running(python)).toBe(true);

      parent.kill('SIGKILL');
      // Not our child, so no exit event reaches us: watch /proc, bounded.
      await eventually('the orphaned training script to end', () => (running(python) ? undefined : true), 5_000, 50);
    } finally {
      parent.kill('SIGKILL');
    }
  }, 60_000);
});
