// Overlapping drift checks: the stored assessment only ever moves to a later window (compare-and-swap on S3
// conditional writes), which is what makes the check safe without reserved concurrency.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DriftAssessment } from '../../shared/contracts/api.js';
import { saveDriftAssessment } from '../adapters.js';

/** One S3 object with S3's conditional-write rules (If-None-Match: *, If-Match: <etag>); `interleave` lets a test
 *  slip another writer in just before a put is evaluated. */
class ConditionalObjectStore {
  body: string | undefined;
  private version = 0;
  puts = 0;
  interleave: ((put: PutObjectCommand) => void) | undefined;

  get etag(): string {
    return `"v${this.version}"`;
  }

  write(body: string): void {
    this.body = body;
    this.version += 1;
  }

  readonly client = {
    send: async (command: unknown) => {
      if (command instanceof GetObjectCommand) {
        const body = this.body;
        return { ETag: this.etag, Body: { transformToString: async () => body } };
      }
      if (command instanceof PutObjectCommand) {
        this.interleave?.(command);
        const { IfNoneMatch, IfMatch, Body } = command.input;
        const lost =
          (IfNoneMatch === '*' && this.body !== undefined) || (IfMatch !== undefined && IfMatch !== this.etag);
        if (lost)
          throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
            name: 'PreconditionFailed',
          });
        this.puts += 1;
        this.write(String(Body));
        return {};
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
  };
}

const assessment = (windowEnd: string, assessedAt = windowEnd): DriftAssessment => ({
  model: 'fraud-detector',
  assessedAt,
  windowStart: '2026-12-03T18:00:00.000Z',
  windowEnd,
  samples: 500,
  minSamples: 100,
  judged: true,
  drifted: false,
  threshold: 0.2,
  scorePsi: 0.01,
  maxFeaturePsi: 0.02,
  baseline: 's3://artifacts/models/fraud-detector/versions/v1/baseline/psi-bins.json',
  features: [],
});

const save = (store: ConditionalObjectStore, a: DriftAssessment) =>
  saveDriftAssessment({
    s3: store.client as unknown as S3Client,
    bucket: 'monitoring',
    key: 'latest.json',
    assessment: a,
  });
const storedEnd = (store: ConditionalObjectStore) => (JSON.parse(store.body ?? '{}') as DriftAssessment).windowEnd;

describe('GIVEN the stored drift assessment of a model', () => {
  const early = assessment('2026-12-03T19:00:00.000Z');
  const late = assessment('2026-12-03T19:05:00.000Z');

  test('WHEN none is stored THEN the first run creates it; a later window then replaces it', async () => {
    const store = new ConditionalObjectStore();
    expect(await save(store, early)).toBe('written');
    expect(await save(store, late)).toBe('written');
    expect(storedEnd(store)).toBe(late.windowEnd);
  });

  test('WHEN an overlapping run finishes last with an earlier window THEN the later assessment stays', async () => {
    const store = new ConditionalObjectStore();
    await save(store, late);
    expect(await save(store, early)).toBe('kept-later');
    expect(storedEnd(store)).toBe(late.windowEnd);
    expect(store.puts).toBe(1);
  });

  test('WHEN a later run writes between the compare and the swap THEN the swap fails and the later one stays', async () => {
    const store = new ConditionalObjectStore();
    await save(store, early);
    const middle = assessment('2026-12-03T19:02:00.000Z');
    const latest = assessment('2026-12-03T19:07:00.000Z');
    // The create-if-absent put loses (the object exists); just before the replace-if-unchanged put, another run
    // stores `latest`: that put must lose too, and the re-read must keep `latest`.
    let interleaved = false;
    store.interleave = (put) => {
      if (put.input.IfMatch === undefined || interleaved) return;
      interleaved = true;
      store.write(JSON.stringify(latest));
    };
    expect(await save(store, middle)).toBe('kept-later');
    expect(interleaved).toBe(true);
    expect(storedEnd(store)).toBe(latest.windowEnd);
  });
});
