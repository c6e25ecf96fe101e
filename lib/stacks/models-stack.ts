// The models: per manifest, the Triton endpoint serving the registry's champion (an SSM pointer read at every
// deploy) and, where the environment has one, a shadow variant serving the challenger pointer with its scheduled
// comparison; Model Monitor, the stream drift check, and the bootstrap model bundled from models/<name>/bootstrap/.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  AssetHashType,
  BundlingOutput,
  CfnCondition,
  CfnParameter,
  DefaultStackSynthesizer,
  DockerImage,
  Duration,
  Fn,
  type RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { FactName } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import { buildTritonArchive } from '../../lambdas/retraining/triton-archive.js';
import { driftHistoryPrefix, driftStatusKey } from '../../lambdas/shared/contracts/api.js';
import { TRITON_CONFIG_TEMPLATE } from '../../models/shared/triton/package.js';
import type { EnvironmentConfig, ModelServingSettings } from '../config/environment-config.js';
import { bootstrapVersion, type ModelDeclaration, modelEndpointName, modelModulePath } from '../config/models.js';
import { BatchInference, type BatchLake, batchCapturePrefix } from '../constructs/batch-inference.js';
import { deadLetterQueue } from '../constructs/dead-letter-queue.js';
import {
  CHAMPION_VARIANT,
  DRIFT_METRICS,
  ModelEndpoint,
  SHADOW_METRICS,
  SHADOW_VARIANT,
} from '../constructs/model-endpoint.js';
import { ModelMonitor } from '../constructs/model-monitor.js';
import {
  acknowledgeWildcards,
  BOOTSTRAP_POINTER,
  challengerParameterName,
  championParameterName,
  ModelRegistry,
  modelVersionsPrefix,
  nagBucketArn,
  VERSION_LAYOUT,
} from '../constructs/model-registry.js';
import { PROJECT_ROOT, ServiceFunction } from '../constructs/service-function.js';
import { BUCKET_LAYOUT } from './data-stack.js';

/** The SageMaker Triton Inference Server image tag (ONNX Runtime backend, CPU and GPU). */
export const TRITON_IMAGE_TAG = '24.09-py3';
const TRITON_REPOSITORY = 'sagemaker-tritonserver';

/** The data stack's resources the models use. */
export interface ModelsData {
  readonly key: IKey;
  /** The lake: batch runs' working files and predictions. */
  readonly lakeBucket: IBucket;
  /** Online entity state: batch runs write each scored entity's state for the real-time route. */
  readonly featuresTable: ITable;
  readonly artifactsBucket: IBucket;
  readonly captureBucket: IBucket;
  readonly monitoringBucket: IBucket;
  readonly bus: IEventBus;
}

/**
 * The shadow comparison function's name. A physical name on purpose, like the endpoint's: the retraining state
 * machine invokes it, and the retraining stack refers to the models stack by derived literals only (the models stack
 * depends on it, so a CloudFormation reference the other way would be a cycle).
 */
export function shadowComparisonFunctionName(stageName: string, modelName: string): string {
  const name = `aims-${stageName}-${modelName}-shadow-compare`.toLowerCase();
  if (name.length > 64) throw new Error(`shadow comparison function name '${name}' is longer than 64 characters`);
  return name;
}

export interface ModelsStackProps extends StackProps {
  readonly stageName: string;
  readonly data: ModelsData;
  readonly models: readonly ModelDeclaration[];
  readonly settings: EnvironmentConfig['lifecycle'];
  /** How each model is served, by name: its shadow comparison counts agreement at its own decision thresholds. */
  readonly serving: Readonly<Record<string, Pick<ModelServingSettings, 'thresholds'>>>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** What the models stack serves for one model. */
export interface ServedModel {
  readonly declaration: ModelDeclaration;
  readonly endpoint: ModelEndpoint;
  readonly monitor: ModelMonitor;
  readonly driftCheck: ServiceFunction;
  /** Compares the shadow's answers with the champion's (only where the environment has a shadow). */
  readonly shadowComparison?: ServiceFunction;
  /** The bundled bootstrap artifacts (served while the pointer says `bootstrap`). */
  readonly bootstrap: BootstrapArtifacts;
}

export class ModelsStack extends Stack {
  public readonly served: Readonly<Record<string, ServedModel>>;
  /** Bus and rule targets that failed after retries. */
  public readonly deadLetterQueue: Queue;
  /** Each batch model's nightly run, by model name (see addBatchInference). */
  public readonly batch: Record<string, BatchInference> = {};
  private readonly props: ModelsStackProps;

  constructor(scope: Construct, id: string, props: ModelsStackProps) {
    super(scope, id, props);
    this.props = props;
    const { data, settings } = props;
    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', {
      removalPolicy: props.removalPolicy,
      key: data.key,
      acknowledgement:
        'This queue is the dead-letter queue of the drift rules; nag recognises only DLQs attached by RedrivePolicy.',
    });

    const dlcAccount = this.regionalFact(FactName.DLC_REPOSITORY_ACCOUNT);
    const imageUri = `${dlcAccount}.dkr.ecr.${this.region}.${this.urlSuffix}/${TRITON_REPOSITORY}:${TRITON_IMAGE_TAG}`;
    const imageRepositoryArn = `arn:${this.partition}:ecr:${this.region}:${dlcAccount}:repository/${TRITON_REPOSITORY}`;

    const served: Record<string, ServedModel> = {};
    for (const declaration of props.models) {
      const { manifest } = declaration;
      const name = manifest.name;
      const instanceType = manifest.serving.instanceType[settings.profile];
      const endpointName = modelEndpointName(props.stageName, name);
      const bootstrap = bootstrapArtifacts(this, `${name}-Bootstrap`, declaration, instanceType);

      // The champion pointer, resolved by CloudFormation at every create and update (SSM-typed parameter).
      const pointer = StringParameter.valueForStringParameter(this, championParameterName(props.stageName, name));
      const isBootstrap = new CfnCondition(this, `${name}-ServesBootstrap`, {
        expression: Fn.conditionEquals(pointer, BOOTSTRAP_POINTER),
      });
      const fromPointer = (asset: Asset, file: string) =>
        Fn.conditionIf(isBootstrap.logicalId, asset.s3ObjectUrl, Fn.join('', [pointer, file])).toString();
      // The shadow serves the challenger pointer, resolved the same way under its own condition.
      let shadowModelDataUrl: string | undefined;
      if (settings.shadow) {
        const challenger = StringParameter.valueForStringParameter(
          this,
          challengerParameterName(props.stageName, name),
        );
        const shadowIsBootstrap = new CfnCondition(this, `${name}-ShadowServesBootstrap`, {
          expression: Fn.conditionEquals(challenger, BOOTSTRAP_POINTER),
        });
        shadowModelDataUrl = Fn.conditionIf(
          shadowIsBootstrap.logicalId,
          bootstrap.modelData.s3ObjectUrl,
          Fn.join('', [challenger, VERSION_LAYOUT.modelData]),
        ).toString();
      }
      const versionsArn = ModelRegistry.versionsArnPattern(data.artifactsBucket.bucketArn, name);
      const versionsRef = `${nagBucketArn(data.artifactsBucket)}/${modelVersionsPrefix(name)}`;
      const versionsReason = 'The champion is chosen at run time among the registered versions of this one model.';
      const assetArn = (asset: Asset) => asset.bucket.arnForObjects(asset.s3ObjectKey);

      const endpoint = new ModelEndpoint(this, `${name}-Endpoint`, {
        modelName: name,
        endpointName,
        imageUri,
        imageRepositoryArn,
        modelDataUrl: fromPointer(bootstrap.modelData, VERSION_LAYOUT.modelData),
        modelDataArns: [versionsArn, assetArn(bootstrap.modelData)],
        modelDataKeys: [data.key],
        instanceType,
        capacity: manifest.serving.capacity[settings.profile],
        captureBucket: data.captureBucket,
        captureKey: data.key,
        capturePercent: manifest.serving.capturePercent[settings.profile],
        canary: settings.canary,
        alarms: settings.alarms,
        invocationsPerInstanceTarget: settings.invocationsPerInstanceTarget,
        wildcardAcknowledgements: { [`Resource::${versionsRef}/*`]: versionsReason },
        shadowModelDataUrl,
        ...(settings.idle ? { idle: settings.idle } : {}),
      });

      const monitor = new ModelMonitor(this, `${name}-Monitor`, {
        modelName: name,
        endpoint: endpoint.endpoint,
        endpointName,
        features: manifest.features,
        schedule: manifest.monitoring.schedule,
        baseline: {
          statisticsUri: fromPointer(bootstrap.statistics, VERSION_LAYOUT.statistics),
          constraintsUri: fromPointer(bootstrap.constraints, VERSION_LAYOUT.constraints),
        },
        baselineArns: [versionsArn, assetArn(bootstrap.statistics), assetArn(bootstrap.constraints)],
        captureBucket: data.captureBucket,
        captureUri: endpoint.captureUri,
        monitoringBucket: data.monitoringBucket,
        groundTruthPrefix: BUCKET_LAYOUT.groundTruth,
        key: data.key,
        driftAlarms: {
          distanceThreshold: 0.1,
          features: Object.keys(manifest.monitoring.featureThresholds ?? {}),
        },
        bus: data.bus,
        logRetention: props.logRetention,
        removalPolicy: props.removalPolicy,
        deadLetterQueue: this.deadLetterQueue,
        wildcardAcknowledgements: { [`Resource::${versionsRef}/*`]: versionsReason },
      });

      const thresholds = {
        default: manifest.monitoring.psiThreshold,
        features: Object.fromEntries(
          Object.entries(manifest.monitoring.featureThresholds ?? {}).flatMap(([f, t]) =>
            t.psiThreshold === undefined ? [] : [[f, t.psiThreshold]],
          ),
        ),
      };
      const batchPrefix = manifest.serving.modes.includes('batch') ? batchCapturePrefix(name) : undefined;
      const driftCheck = new ServiceFunction(this, `${name}-DriftCheck`, {
        entry: 'lambdas/drift/handler.ts',
        serviceName: DRIFT_METRICS.service,
        metricsNamespace: DRIFT_METRICS.namespace,
        description: `Stream drift check of ${name}: PSI per feature of the captured window vs the champion baseline`,
        logRetention: props.logRetention,
        logRemovalPolicy: props.removalPolicy,
        memorySize: 1024,
        // No reserved concurrency (it needs an account quota above 100): overlapping runs are safe, since the
        // assessment is written by compare-and-swap and the retraining lock admits one run per drift episode.
        timeout: Duration.minutes(2),
        modelTag: { model: name, role: 'drift-check' },
        environment: {
          MODEL_NAME: name,
          FEATURE_NAMES: manifest.features.join(','),
          CAPTURE_BUCKET: data.captureBucket.bucketName,
          CAPTURE_PREFIX: `${name}/${endpointName}/`,
          CHAMPION_PARAMETER: championParameterName(props.stageName, name),
          BOOTSTRAP_PSI_BINS_URI: bootstrap.psiBins.s3ObjectUrl,
          PSI_THRESHOLDS: JSON.stringify(thresholds),
          WINDOW_MINUTES: String(manifest.monitoring.driftWindowMinutes),
          MIN_SAMPLES: String(manifest.monitoring.minSamples),
          EVENT_BUS_NAME: data.bus.eventBusName,
          DRIFT_STATUS_BUCKET: data.monitoringBucket.bucketName,
          ...(batchPrefix ? { BATCH_CAPTURE_PREFIX: batchPrefix } : {}),
        },
      });
      // Its latest assessment, where the models API reads it (read back to compare before replacing it).
      driftCheck.allow(
        new PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [data.monitoringBucket.arnForObjects(driftStatusKey(name))],
        }),
      );
      // The dated history beside it (GET /v1/models/{name}/drift), expired with the bucket's other objects.
      driftCheck.allow(
        new PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [data.monitoringBucket.arnForObjects(`${driftHistoryPrefix(name)}*`)],
        }),
      );
      // The endpoint's capture, and the nightly transform's for a model also served in batch.
      const capturePrefixes = [`${name}/${endpointName}/`, ...(batchPrefix ? [batchPrefix] : [])];
      driftCheck.allow(
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [data.captureBucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': capturePrefixes.map((p) => `${p}*`) } },
        }),
      );
      driftCheck.allow(
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [
            ...capturePrefixes.map((p) => data.captureBucket.arnForObjects(`${p}*`)),
            `${versionsArn}/${VERSION_LAYOUT.psiBins}`,
            assetArn(bootstrap.psiBins),
          ],
        }),
      );
      driftCheck.allow(
        new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [data.key.keyArn] }),
      );
      driftCheck.allow(
        new PolicyStatement({
          actions: ['ssm:GetParameter'],
          resources: [ModelRegistry.parameterArn(this, championParameterName(props.stageName, name))],
        }),
      );
      driftCheck.allowPutEvents(data.bus);
      new Rule(this, `${name}-DriftSchedule`, {
        description: `Runs the stream drift check of ${name}`,
        schedule: Schedule.rate(Duration.minutes(settings.driftCheckMinutes)),
        targets: [driftCheck.asEventTarget(this.deadLetterQueue, { retryAttempts: 0 })],
      });
      acknowledgeWildcards(driftCheck.role.node.findChild('DefaultPolicy'), {
        [`Resource::${nagBucketArn(data.captureBucket)}/${name}/${endpointName}/*`]:
          "The check reads the capture files of its window, inside this endpoint's capture prefix only.",
        ...(batchPrefix
          ? {
              [`Resource::${nagBucketArn(data.captureBucket)}/${batchPrefix}*`]:
                "The check reads the batch transform's capture files of its window, inside this model's batch prefix only.",
            }
          : {}),
        [`Resource::${nagBucketArn(data.monitoringBucket)}/${driftHistoryPrefix(name)}*`]:
          'One dated assessment per run, named by its window, inside this model’s drift history prefix only.',
        [`Resource::${versionsRef}/*/${VERSION_LAYOUT.psiBins}`]:
          'The champion changes at run time: any registered version of this model, its psi-bins.json only.',
      });
      const shadowComparison = settings.shadow
        ? this.shadowComparison(props, declaration, endpointName, settings.shadow)
        : undefined;
      served[name] = {
        declaration,
        endpoint,
        monitor,
        driftCheck,
        bootstrap,
        ...(shadowComparison ? { shadowComparison } : {}),
      };
    }
    this.served = served;
  }

  /**
   * The shadow comparison of one model: reads both variants' capture of a window, publishes its metrics and
   * ShadowCompared, and returns a verdict. Runs on a schedule and when the retraining pipeline invokes it by name.
   */
  private shadowComparison(
    props: ModelsStackProps,
    declaration: ModelDeclaration,
    endpointName: string,
    shadow: Exclude<EnvironmentConfig['lifecycle']['shadow'], false>,
  ): ServiceFunction {
    const { data } = props;
    const { manifest } = declaration;
    const name = manifest.name;
    const capturePrefix = `${name}/${endpointName}/`;
    const policy = props.serving[name];
    if (!policy) throw new Error(`model '${name}' has no serving settings: its shadow has no thresholds to compare at`);
    const fn = new ServiceFunction(this, `${name}-ShadowComparison`, {
      entry: 'lambdas/shadow/handler.ts',
      serviceName: SHADOW_METRICS.service,
      metricsNamespace: SHADOW_METRICS.namespace,
      description: `Shadow comparison of ${name}: the challenger's captured answers vs the champion's, by inference id`,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      memorySize: 1024,
      timeout: Duration.minutes(2),
      modelModule: modelModulePath(declaration, PROJECT_ROOT),
      modelTag: { model: name, role: 'shadow-compare' },
      environment: {
        MODEL_NAME: name,
        CAPTURE_BUCKET: data.captureBucket.bucketName,
        CAPTURE_PREFIX: capturePrefix,
        CHAMPION_VARIANT,
        SHADOW_VARIANT,
        WINDOW_MINUTES: String(shadow.windowMinutes),
        MODEL_THRESHOLDS: JSON.stringify(policy.thresholds),
        SHADOW_THRESHOLDS: JSON.stringify(manifest.monitoring.shadow),
        EVENT_BUS_NAME: data.bus.eventBusName,
      },
    });
    (fn.function.node.defaultChild as CfnFunction).functionName = shadowComparisonFunctionName(props.stageName, name);
    fn.allow(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [data.captureBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${capturePrefix}*`] } },
      }),
    );
    fn.allow(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [
          data.captureBucket.arnForObjects(`${capturePrefix}${CHAMPION_VARIANT}/*`),
          data.captureBucket.arnForObjects(`${capturePrefix}${SHADOW_VARIANT}/*`),
        ],
      }),
    );
    fn.allow(new PolicyStatement({ actions: ['kms:Decrypt'], resources: [data.key.keyArn] }));
    fn.allowPutEvents(data.bus);
    new Rule(this, `${name}-ShadowSchedule`, {
      description: `Runs the shadow comparison of ${name}`,
      schedule: Schedule.rate(Duration.minutes(shadow.compareEveryMinutes)),
      targets: [fn.asEventTarget(this.deadLetterQueue, { retryAttempts: 0 })],
    });
    const capture = `${nagBucketArn(data.captureBucket)}/${capturePrefix}`;
    const reason = "The comparison reads the capture files of its window, inside this variant's capture prefix only.";
    acknowledgeWildcards(fn.role.node.findChild('DefaultPolicy'), {
      [`Resource::${capture}${CHAMPION_VARIANT}/*`]: reason,
      [`Resource::${capture}${SHADOW_VARIANT}/*`]: reason,
    });
    return fn;
  }

  /**
   * The nightly run of every served model whose manifest has the `batch` mode, on the endpoint's model (so batch and
   * real time serve the same champion). Called once the lake's Athena workgroup exists (the retraining stack's).
   */
  public addBatchInference(lake: BatchLake): void {
    const { data, settings } = this.props;
    for (const [name, served] of Object.entries(this.served)) {
      const { declaration, endpoint } = served;
      const { manifest } = declaration;
      if (!manifest.serving.modes.includes('batch') || !manifest.serving.batch || this.batch[name]) continue;
      const policy = this.props.serving[name];
      if (!policy) throw new Error(`model '${name}' has no serving settings: its batch run has no thresholds`);
      this.batch[name] = new BatchInference(this, `${name}-Batch`, {
        manifest,
        bootstrapVersion: bootstrapVersion(declaration),
        instanceType: manifest.serving.batch.instanceType[settings.profile],
        modelModule: modelModulePath(declaration, PROJECT_ROOT),
        thresholds: policy.thresholds,
        sageMakerModelName: endpoint.model.attrModelName,
        modelRole: endpoint.role,
        championParameterName: championParameterName(this.props.stageName, name),
        championParameterArn: ModelRegistry.parameterArn(this, championParameterName(this.props.stageName, name)),
        lake,
        lakeBucket: data.lakeBucket,
        captureBucket: data.captureBucket,
        featuresTable: data.featuresTable,
        key: data.key,
        bus: data.bus,
        deadLetterQueue: this.deadLetterQueue,
        logRetention: this.props.logRetention,
        removalPolicy: this.props.removalPolicy,
      });
    }
  }

  /**
   * Logical IDs of this stack's CloudFormation parameters: the deploy step of retraining passes each with
   * UsePreviousValue, so an update with the previous template re-resolves the champion pointer and nothing else.
   */
  public get parameterKeys(): string[] {
    const keys = new Set(
      this.node
        .findAll()
        .filter((c): c is CfnParameter => c instanceof CfnParameter)
        .map((p) => this.resolve(p.logicalId) as string),
    );
    // The default synthesizer adds this one while synthesizing, possibly after a reader of this list has resolved.
    if (this.synthesizer instanceof DefaultStackSynthesizer) keys.add('BootstrapVersion');
    return [...keys].sort();
  }
}

/** The bootstrap champion's files, bundled from `models/<name>/bootstrap/` (committed; `npm run train -- --bootstrap`). */
export interface BootstrapArtifacts {
  readonly modelData: Asset;
  readonly statistics: Asset;
  readonly constraints: Asset;
  readonly psiBins: Asset;
}

const ARTIFACT_FILES = [
  'model.onnx',
  'model-card.json',
  'baseline/statistics.json',
  'baseline/constraints.json',
  'baseline/psi-bins.json',
];

/**
 * Assets built at synth by local bundling from the committed bootstrap model (models/<name>/bootstrap/), so every
 * synth works offline on a fresh clone. The hash is computed from the files; a bootstrap file that is missing fails
 * the bundling with what to run.
 */
function bootstrapArtifacts(
  scope: Construct,
  id: string,
  declaration: ModelDeclaration,
  instanceType: string,
): BootstrapArtifacts {
  const { dir, manifest } = declaration;
  const artifacts = path.join(dir, 'bootstrap');
  const template = TRITON_CONFIG_TEMPLATE;
  const digest = createHash('sha256').update(
    `${manifest.name}\n${instanceType}\n${JSON.stringify(manifest.serving)}\n`,
  );
  for (const file of [...ARTIFACT_FILES.map((f) => path.join(artifacts, f)), template]) {
    digest.update(existsSync(file) ? readFileSync(file) : `missing:${path.basename(file)}`);
  }
  const hash = digest.digest('hex');
  const read = (file: string): Buffer => {
    const full = path.join(artifacts, file);
    if (!existsSync(full)) {
      throw new Error(
        `${path.relative(process.cwd(), full)} not found: the models stack bundles models/${manifest.name}/bootstrap/ as the bootstrap champion. Refresh it with \`npm run train -- --bootstrap\`.`,
      );
    }
    return readFileSync(full);
  };
  const asset = (assetId: string, fileName: string, produce: () => Buffer) =>
    new Asset(scope, `${id}-${assetId}`, {
      path: dir,
      assetHash: createHash('sha256').update(`${hash}:${assetId}`).digest('hex'),
      assetHashType: AssetHashType.CUSTOM,
      bundling: {
        // Never pulled: local bundling always succeeds or throws.
        image: DockerImage.fromRegistry('scratch'),
        outputType: BundlingOutput.SINGLE_FILE,
        local: {
          tryBundle(outputDir: string) {
            mkdirSync(outputDir, { recursive: true });
            writeFileSync(path.join(outputDir, fileName), produce());
            return true;
          },
        },
      },
    });
  return {
    modelData: asset('ModelData', 'model.tar.gz', () => {
      const card: unknown = JSON.parse(read('model-card.json').toString('utf8'));
      return buildTritonArchive({
        modelName: manifest.name,
        onnx: read('model.onnx'),
        card,
        template: readFileSync(template, 'utf8'),
        maxBatchSize: manifest.serving.maxBatchSize,
        maxQueueDelayMicroseconds: manifest.serving.maxQueueDelayMicroseconds,
        instanceType,
        expectedFeatures: manifest.features,
      }).archive;
    }),
    statistics: asset('Statistics', 'statistics.json', () => read('baseline/statistics.json')),
    constraints: asset('Constraints', 'constraints.json', () => read('baseline/constraints.json')),
    psiBins: asset('PsiBins', 'psi-bins.json', () => read('baseline/psi-bins.json')),
  };
}
