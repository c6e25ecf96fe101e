// Publishes the stage's file assets (bootstrap model, baselines, training code) to local S3 at the bucket and key the
// asset manifests name, as `cdk deploy` does: the template's s3://cdk-…-assets/<hash> references then resolve locally.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LocalS3 } from './s3.js';

interface AssetManifest {
  files?: Record<
    string,
    {
      source?: { path?: string; packaging?: string };
      destinations?: Record<string, { bucketName?: string; objectKey?: string; region?: string }>;
    }
  >;
}

/** Uploads every `packaging: file` asset bound for `region` (the one the local stage runs; a stack of cloud-only
 *  resources elsewhere needs none) not yet in local S3; returns the s3:// URIs published. */
export async function publishFileAssets(stageAssemblyDir: string, s3: LocalS3, region: string): Promise<string[]> {
  const published: string[] = [];
  const manifests = readdirSync(stageAssemblyDir).filter((f) => f.endsWith('.assets.json'));
  const existing = new Map<string, Set<string>>();
  for (const name of manifests) {
    const manifest = JSON.parse(readFileSync(join(stageAssemblyDir, name), 'utf8')) as AssetManifest;
    for (const asset of Object.values(manifest.files ?? {})) {
      // Directory assets (Lambda code) run from cdk.out directly; only single files are read from S3.
      if (asset.source?.packaging !== 'file' || !asset.source.path) continue;
      const path = resolve(stageAssemblyDir, asset.source.path);
      if (!existsSync(path) || !statSync(path).isFile()) continue;
      for (const dest of Object.values(asset.destinations ?? {})) {
        if (!dest.bucketName || !dest.objectKey || (dest.region !== undefined && dest.region !== region)) continue;
        const bucket = dest.bucketName;
        if (!existing.has(bucket)) {
          await s3.ensureBucket(bucket);
          existing.set(bucket, new Set((await s3.list(`s3://${bucket}/`)).map((o) => o.key)));
        }
        if (existing.get(bucket)?.has(dest.objectKey)) continue;
        const uri = `s3://${bucket}/${dest.objectKey}`;
        await s3.put(uri, readFileSync(path));
        existing.get(bucket)?.add(dest.objectKey);
        published.push(uri);
      }
    }
  }
  return published;
}
