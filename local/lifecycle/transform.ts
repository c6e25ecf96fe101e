// Local SageMaker Batch Transform for a batch run's Transform step: the job's model (the template's SageMaker model,
// found by the ModelName the ASL passes) is the champion its pointer names — the bundled bootstrap or a registered
// version's archive — served by its own local model server, the same process the endpoint uses. Each line of the
// input objects (SplitType Line) is one request to /invocations, as the transform's SingleRecord strategy sends it;
// the answers go to `<S3OutputPath><input file>.out`, one line each (AssembleWith Line), and every request/response
// pair to the DataCaptureConfig destination in the endpoint capture's JSON Lines shape.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTarGz } from '../../lambdas/retraining/tar.js';
import { startLocalModelEndpoint } from '../model-endpoint.js';
import { modelTag } from '../template/index.js';
import type { LocalTemplate } from '../types.js';
import type { LocalS3 } from './s3.js';
import type { LocalParameterStore } from './ssm.js';

export interface TransformJobInput {
  readonly TransformJobName: string;
  readonly ModelName: string;
  readonly TransformInput: {
    readonly DataSource: { readonly S3DataSource: { readonly S3Uri: string; readonly S3DataType?: string } };
    readonly ContentType?: string;
    readonly SplitType?: string;
  };
  readonly TransformOutput: { readonly S3OutputPath: string };
  readonly DataCaptureConfig?: { readonly DestinationS3Uri: string };
}

export interface LocalTransformOptions {
  readonly template: LocalTemplate;
  readonly s3: LocalS3;
  readonly ssm: LocalParameterStore;
  readonly root: string;
  readonly dataDir: string;
  readonly log?: (line: string) => void;
}

/** What the job did, beside DescribeTransformJob's fields: the local stage's demo prints rows/s from it. */
export interface TransformJobResult {
  readonly TransformJobName: string;
  readonly TransformJobArn: string;
  readonly TransformJobStatus: 'Completed';
  readonly ModelName: string;
  readonly TransformStartTime: string;
  readonly TransformEndTime: string;
  readonly local: {
    readonly model: string;
    readonly version: string;
    readonly requests: number;
    readonly rows: number;
    readonly ms: number;
  };
}

/** A failed job, reported as Step Functions reports a failed `.sync` task. */
export class TransformJobFailed extends Error {
  override readonly name = 'States.TaskFailed';
}

const rowsOf = (body: string): number => {
  const input = (JSON.parse(body) as { inputs?: { shape?: number[] }[] }).inputs?.[0];
  return input?.shape?.[0] ?? 0;
};

/** The model folder the champion pointer names: the bundled bootstrap, or a registered version unpacked once. */
async function championModelDir(options: LocalTransformOptions, model: string, modelDir: string): Promise<string> {
  const parameter = options.template
    .ofType('AWS::SSM::Parameter')
    .find((p) => p.ref.endsWith(`/models/${model}/champion`))?.ref;
  const pointer = parameter === undefined ? undefined : options.ssm.get(parameter)?.value;
  if (pointer === undefined || pointer === 'bootstrap') return join(modelDir, 'bootstrap');
  const prefix = pointer.endsWith('/') ? pointer : `${pointer}/`;
  const dir = join(
    options.dataDir,
    'transform',
    'models',
    createHash('sha256').update(prefix).digest('hex').slice(0, 16),
  );
  if (!existsSync(join(dir, 'model.onnx'))) {
    mkdirSync(dir, { recursive: true });
    const onnx = readTarGz(await options.s3.get(`${prefix}model.tar.gz`)).find((e) => e.path.endsWith('model.onnx'));
    if (!onnx) throw new TransformJobFailed(`${prefix}model.tar.gz holds no model.onnx`);
    writeFileSync(join(dir, 'model-card.json'), await options.s3.get(`${prefix}model-card.json`));
    writeFileSync(join(dir, 'model.onnx'), onnx.data);
  }
  return dir;
}

/** CreateTransformJob(.sync): runs the whole job and answers as DescribeTransformJob does for a Completed job. */
export async function runTransformJob(
  options: LocalTransformOptions,
  input: TransformJobInput,
): Promise<TransformJobResult> {
  const { template, s3 } = options;
  const log = options.log ?? (() => {});
  const resource = template
    .ofType('AWS::SageMaker::Model')
    .find((r) => r.attributes.ModelName === input.ModelName || r.ref === input.ModelName);
  const tag = resource ? modelTag(resource) : undefined;
  if (!resource || !tag) {
    throw new TransformJobFailed(`no SageMaker model ${input.ModelName} tagged with its model in the template`);
  }
  const modelDir = join(options.root, 'models', tag.model);
  const servedDir = await championModelDir(options, tag.model, modelDir);
  const started = new Date();
  const server = await startLocalModelEndpoint({
    root: options.root,
    modelDir: servedDir,
    manifestDir: modelDir,
    logFile: join(options.dataDir, 'logs', `transform-${input.TransformJobName}.log`),
  });
  const capture: string[] = [];
  let requests = 0;
  let rows = 0;
  const t0 = performance.now();
  try {
    const objects = await s3.list(input.TransformInput.DataSource.S3DataSource.S3Uri);
    for (const object of objects) {
      const lines = (await s3.get(object.uri))
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      const answers: string[] = [];
      for (const line of lines) {
        const response = await fetch(`${server.url}/invocations`, {
          method: 'POST',
          headers: { 'content-type': input.TransformInput.ContentType ?? 'application/json' },
          body: line,
        });
        const text = await response.text();
        if (!response.ok) {
          throw new TransformJobFailed(
            `${input.TransformJobName}: the model answered ${response.status} to line ${answers.length + 1} of ${object.key}: ${text.slice(0, 300)}`,
          );
        }
        answers.push(text.replace(/\n/g, ''));
        requests++;
        rows += rowsOf(line);
        capture.push(
          JSON.stringify({
            captureData: {
              endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: line, encoding: 'JSON' },
              endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: text, encoding: 'JSON' },
            },
            eventMetadata: {
              eventId: randomUUID(),
              inferenceId: `${input.TransformJobName}-${requests}`,
              inferenceTime: new Date().toISOString(),
            },
            eventVersion: '0',
          }),
        );
      }
      const name = object.key.slice(object.key.lastIndexOf('/') + 1);
      await s3.put(
        `${input.TransformOutput.S3OutputPath.replace(/\/?$/, '/')}${name}.out`,
        answers.join('\n'),
        'application/json',
      );
    }
  } finally {
    await server.close();
  }
  const ms = performance.now() - t0;
  if (input.DataCaptureConfig && capture.length > 0) {
    const at = new Date();
    const hour = at.toISOString().slice(0, 13).replace(/[-T]/g, '/');
    await s3.put(
      `${input.DataCaptureConfig.DestinationS3Uri.replace(/\/?$/, '/')}${input.TransformJobName}/${hour}/capture.jsonl`,
      capture.join('\n'),
      'application/jsonlines',
    );
  }
  log(`transform ${input.TransformJobName}: ${rows} rows in ${requests} requests, ${Math.round(ms)} ms`);
  return {
    TransformJobName: input.TransformJobName,
    TransformJobArn: `arn:aws:sagemaker:${template.region}:${template.account}:transform-job/${input.TransformJobName.toLowerCase()}`,
    TransformJobStatus: 'Completed',
    ModelName: input.ModelName,
    TransformStartTime: started.toISOString(),
    TransformEndTime: new Date().toISOString(),
    local: { model: tag.model, version: servedDir.endsWith('bootstrap') ? 'bootstrap' : servedDir, requests, rows, ms },
  };
}
