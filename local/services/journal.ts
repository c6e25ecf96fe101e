// Append-only files whose writes become durable together: the local services write what they acknowledge here and
// answer only after a shared fdatasync (one per wave of concurrent requests, not one per record).
import {
  closeSync,
  existsSync,
  fdatasync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

const fdatasyncAsync = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));

/** fsyncs a directory so a file created, renamed or removed in it survives a power loss, not only a process kill. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces a file atomically and durably: write a temporary file, fsync it, rename it over, fsync the directory. */
export function writeFileDurably(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  syncDirectory(dirname(file));
}

/**
 * Cuts a line-oriented file back to its last newline: a line torn by a crash was never acknowledged, and left in
 * place it would glue itself to the next append. Reads backwards in chunks, so a long file costs one chunk.
 */
export function trimTornLine(file: string): void {
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const read = readSync(fd, chunk, 0, end - start, start);
      const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
      if (newline >= 0) {
        if (start + newline + 1 < size) ftruncateSync(fd, start + newline + 1);
        return;
      }
      end = start;
    }
    if (size > 0) ftruncateSync(fd, 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * One append-only file. `append` writes to the page cache at once (so a killed process loses nothing appended);
 * `sync` resolves once everything appended before the call is on disk. Calls that arrive while an fdatasync runs
 * share the next one (group commit), so the cost per request stays one fdatasync at most, usually less.
 */
export class AppendLog {
  private fd: number;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** The directory entry of a new file must reach the disk too, once. */
  private directorySynced: boolean;

  constructor(
    readonly file: string,
    options: { readonly created?: boolean } = {},
  ) {
    this.fd = openSync(file, 'a');
    this.directorySynced = options.created !== true;
  }

  append(data: string | Buffer): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    // writeSync may write less than asked (rare on regular files); loop until all is written.
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset);
  }

  sync(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) {
      this.running = this.syncNow();
      return this.running;
    }
    // An fdatasync is running and may have started before our append: the next one covers us.
    const after = this.running.catch(() => undefined);
    this.queued = after.then(() => {
      this.queued = undefined;
      this.running = this.syncNow();
      return this.running;
    });
    return this.queued;
  }

  private async syncNow(): Promise<void> {
    const fd = this.fd;
    try {
      await fdatasyncAsync(fd);
      if (!this.directorySynced) {
        syncDirectory(dirname(this.file));
        this.directorySynced = true;
      }
    } finally {
      if (this.running && !this.queued) this.running = undefined;
    }
  }

  /** Replaces the file with `content` (compaction): everything appended so far must be in `content`. */
  rewrite(content: string | Buffer): void {
    writeFileDurably(this.file, content);
    const old = this.fd;
    this.fd = openSync(this.file, 'a');
    // A running fdatasync still holds the old descriptor: close it when that finishes.
    const pending = this.running;
    if (pending) void pending.catch(() => undefined).then(() => closeSync(old));
    else closeSync(old);
  }

  /** Waits for pending syncs, then closes the file. */
  async close(): Promise<void> {
    await this.sync().catch(() => undefined);
    closeSync(this.fd);
  }

  /** Closes and deletes the file (its content has been delivered). */
  async remove(): Promise<void> {
    await this.close();
    unlinkSync(this.file);
  }
}
