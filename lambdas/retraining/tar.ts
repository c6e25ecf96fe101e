// A small tar reader/writer (ustar, GNU long names, PAX paths): SageMaker's model.tar.gz in, Triton's archive out.
// Pure JS because the Lambda runtime has no `tar` binary and the same code packs the bootstrap model at synth time.
import { gunzipSync, gzipSync } from 'node:zlib';

const BLOCK = 512;

export interface TarEntry {
  /** Path inside the archive, `/`-separated, no leading `./`. */
  readonly path: string;
  readonly data: Buffer;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(path: string, size: number, type: '0' | '5'): Buffer {
  const name = Buffer.from(path, 'utf8');
  if (name.length > 100) throw new Error(`tar path '${path}' is longer than 100 bytes (ustar without prefix)`);
  const block = Buffer.alloc(BLOCK, 0);
  name.copy(block, 0);
  block.write(octal(type === '5' ? 0o755 : 0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(type, 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK, 0);

/** A reproducible archive: entries sorted by path, parent directories added, mtime 0, owner 0. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const dirs = new Set<string>();
  for (const { path } of entries) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
  }
  const all = [
    ...[...dirs].map((path) => ({ path, data: Buffer.alloc(0), dir: true })),
    ...entries.map((e) => ({ ...e, dir: false })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const chunks: Buffer[] = [];
  for (const entry of all) {
    chunks.push(header(entry.path, entry.data.length, entry.dir ? '5' : '0'));
    if (!entry.dir) chunks.push(entry.data, padding(entry.data.length));
  }
  chunks.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(chunks);
}

const cString = (buf: Buffer, start: number, length: number) => {
  const slice = buf.subarray(start, start + length);
  const end = slice.indexOf(0);
  return slice.subarray(0, end === -1 ? slice.length : end).toString('utf8');
};

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(data.subarray(offset, space).toString('ascii'), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return out;
}

/** The regular files of an uncompressed tar, with `./` prefixes removed. */
export function readTar(tar: Buffer): TarEntry[] {
  const files: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const block = tar.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    const size = Number.parseInt(cString(block, 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) throw new Error(`tar: bad size field at offset ${offset}`);
    const type = String.fromCharCode(block[156] ?? 0x30);
    const prefix = cString(block, 345, 155);
    const name = prefix ? `${prefix}/${cString(block, 0, 100)}` : cString(block, 0, 100);
    const data = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    if (data.length < size) throw new Error(`tar: entry '${name}' is truncated`);
    offset += BLOCK + size + ((BLOCK - (size % BLOCK)) % BLOCK);
    if (type === 'L') {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      longName = parsePax(data).path ?? longName;
      continue;
    }
    if (type === 'g') continue;
    const path = (longName ?? name).replace(/^(\.\/)+/, '');
    longName = undefined;
    if ((type === '0' || type === '\0' || type === '7') && path !== '') files.push({ path, data: Buffer.from(data) });
  }
  return files;
}

export const readTarGz = (gz: Buffer): TarEntry[] => readTar(gunzipSync(gz));
export const writeTarGz = (entries: readonly TarEntry[]): Buffer => gzipSync(writeTar(entries), { level: 9 });
