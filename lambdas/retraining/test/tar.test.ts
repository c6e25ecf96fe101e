// The pure-JS tar: what it writes, system tar reads; what system tar writes (SageMaker's output), it reads.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readTarGz, writeTarGz } from '../tar.js';

describe('GIVEN the tar writer and reader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'aims-tar-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('WHEN an archive is written THEN system tar lists and extracts it byte for byte, with parent directories', () => {
    const onnx = Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251));
    const file = path.join(dir, 'model.tar.gz');
    writeFileSync(
      file,
      writeTarGz([
        { path: 'm/1/model.onnx', data: onnx },
        { path: 'm/config.pbtxt', data: Buffer.from('cfg') },
      ]),
    );
    expect(execFileSync('tar', ['-tzf', file]).toString().trim().split('\n')).toEqual([
      'm/',
      'm/1/',
      'm/1/model.onnx',
      'm/config.pbtxt',
    ]);
    execFileSync('tar', ['-xzf', file, '-C', dir]);
    expect(readFileSync(path.join(dir, 'm/1/model.onnx')).equals(onnx)).toBe(true);
  });

  test('WHEN the same entries are written twice THEN the bytes are identical (reproducible assets)', () => {
    const entries = [{ path: 'a/b.txt', data: Buffer.from('x') }];
    expect(writeTarGz(entries).equals(writeTarGz([...entries]))).toBe(true);
  });

  test('WHEN system tar packs a directory with ./ prefixes and long names THEN every file is read back', () => {
    const long = `${'d'.repeat(60)}/${'f'.repeat(70)}.json`;
    mkdirSync(path.join(dir, 'src', 'baseline'), { recursive: true });
    mkdirSync(path.join(dir, 'src', path.dirname(long)), { recursive: true });
    writeFileSync(path.join(dir, 'src', 'metrics.json'), '{"a":1}');
    writeFileSync(path.join(dir, 'src', 'baseline', 'statistics.json'), '{}');
    writeFileSync(path.join(dir, 'src', long), 'long');
    const file = path.join(dir, 'out.tar.gz');
    execFileSync('tar', ['-czf', file, '--format=gnu', '-C', path.join(dir, 'src'), '.']);
    const files = Object.fromEntries(readTarGz(readFileSync(file)).map((e) => [e.path, e.data.toString()]));
    expect(files).toEqual({ 'metrics.json': '{"a":1}', 'baseline/statistics.json': '{}', [long]: 'long' });
  });
});
