// One deployable environment: the stacks of AIMS wired together from one EnvironmentConfig.
import { join } from 'node:path';
import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { openApiDocument31 } from '../../lambdas/shared/contracts/openapi.js';
import type { ApiClientConfig } from '../config/api-clients.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import {
  bootstrapVersion,
  type ModelDeclaration,
  modelEndpointName,
  modelModulePath,
  moduleOf,
  realtimeModels,
  routeModel,
  servedModels,
} from '../config/models.js';
import { PROJECT_ROOT } from '../constructs/service-function.js';
import { CLOUDFRONT_WAF_REGION, ConsoleEdgeStack } from '../stacks/console-edge-stack.js';
import { ConsoleStack } from '../stacks/console-stack.js';
import { DataStack } from '../stacks/data-stack.js';
import { ModelsStack } from '../stacks/models-stack.js';
import { ObservabilityStack } from '../stacks/observability-stack.js';
import { RetrainingStack } from '../stacks/retraining-stack.js';
import { ServicesStack } from '../stacks/services-stack.js';

export interface AimsStageProps extends StageProps {
  readonly config: EnvironmentConfig;
  /** The models declared under models/ (one manifest each). */
  readonly models: readonly ModelDeclaration[];
  /** The API's OAuth2 clients. */
  readonly clients: readonly ApiClientConfig[];
  /** The built console (`npm run console:build`). @default <project>/console/dist */
  readonly consoleDir?: string;
}

export class AimsStage extends Stage {
  public readonly data: DataStack;
  public readonly services: ServicesStack;
  public readonly models: ModelsStack;
  public readonly retraining: RetrainingStack;
  public readonly observability: ObservabilityStack;
  public readonly consoleEdge: ConsoleEdgeStack;
  public readonly console: ConsoleStack;

  constructor(scope: Construct, id: string, props: AimsStageProps) {
    super(scope, id, { ...props, env: { account: props.config.account, region: props.config.region } });
    const { config } = props;

    this.data = new DataStack(this, 'Data', {
      description: `AIMS ${id}: stateful data (keys, buckets, tables, stream, bus)`,
      terminationProtection: config.terminationProtection,
      removalPolicy: config.removalPolicy,
      data: config.data,
    });

    // The environments table picks which discovered models run here; POST /v1/score serves the model bound to it.
    const served = servedModels(props.models, config.models, id);
    const scoringModel = routeModel(served, 'score', id);

    this.models = new ModelsStack(this, 'Models', {
      description: `AIMS ${id}: model endpoints serving the registry's champions, Model Monitor, drift checks`,
      stageName: id,
      data: this.data,
      models: served,
      settings: config.lifecycle,
      serving: config.models,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });

    this.retraining = new RetrainingStack(this, 'Retraining', {
      description: `AIMS ${id}: model registry, champion pointers and the retraining state machine`,
      stageName: id,
      data: this.data,
      models: served,
      settings: config.lifecycle,
      modelsStack: this.models,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
      memorySize: config.functions.memorySize,
    });
    // The champion pointers live in the retraining stack: they must exist before the models stack resolves them.
    this.models.addStackDependency(
      this.retraining,
      'the models stack reads the champion pointers the registry creates',
    );
    // Batch models query the lake through the retraining stack's Athena workgroup.
    this.models.addBatchInference(this.retraining.lake);

    // Services last: the models API receives the retraining stack's state machines, registries and lock table.
    this.services = new ServicesStack(this, 'Services', {
      description: `AIMS ${id}: API, auth and scoring services`,
      data: this.data,
      model: {
        name: scoringModel.manifest.name,
        endpointName: modelEndpointName(id, scoringModel.manifest.name),
        module: modelModulePath(scoringModel, PROJECT_ROOT),
        timeoutMs: scoringModel.serving.modelTimeoutMs,
        ...this.inferenceComponentOf(scoringModel.manifest.name),
      },
      predictModels: realtimeModels(served).map((m) => ({
        name: m.manifest.name,
        endpointName: modelEndpointName(id, m.manifest.name),
        module: modelModulePath(m, PROJECT_ROOT),
        timeoutMs: m.serving.modelTimeoutMs,
        ...this.inferenceComponentOf(m.manifest.name),
        thresholds: m.serving.thresholds,
        request: moduleOf(m).request,
      })),
      labelledModels: served.flatMap((m) => {
        const labels = moduleOf(m).labels;
        return labels
          ? [
              {
                name: m.manifest.name,
                module: modelModulePath(m, PROJECT_ROOT),
                label: labels.schema,
                about: { entity: labels.entity, outcome: labels.outcome },
              },
            ]
          : [];
      }),
      clients: props.clients,
      authDomainPrefix: `aims-${id.toLowerCase()}-${config.account}`,
      removalPolicy: config.removalPolicy,
      logRetention: config.logRetention,
      memorySize: config.functions.memorySize,
      api: config.api,
      scoring: scoringModel.serving,
      decisionTtlDays: config.data.decisionTtlDays,
      lifecycle: {
        approval: config.lifecycle.approval,
        lockTable: this.retraining.lockTable,
        modelsStack: this.models,
        driftStatusBucket: this.data.monitoringBucket,
        artifactsBucket: this.data.artifactsBucket,
        predictions: { bucket: this.data.lakeBucket, models: Object.keys(this.models.batch) },
        models: served.map((declaration) => {
          const { manifest } = declaration;
          const registry = this.retraining.registries[manifest.name];
          const workflow = this.retraining.workflows[manifest.name];
          if (!registry || !workflow) throw new Error(`model '${manifest.name}' has no registry or workflow`);
          return {
            name: manifest.name,
            bootstrapVersion: bootstrapVersion(declaration),
            stateMachine: workflow.stateMachine,
            registry,
          };
        }),
      },
    });

    // CloudFront is evaluated by a web ACL in us-east-1 whatever the stage's region: the one stack of the stage there.
    this.consoleEdge = new ConsoleEdgeStack(this, 'ConsoleEdge', {
      description: `AIMS ${id}: the WAF web ACL in front of the console's CloudFront distribution`,
      env: { account: config.account, region: CLOUDFRONT_WAF_REGION },
      viewerRateLimitPer5Min: config.api.viewerRateLimitPer5Min,
    });
    // The console calls the API through its own CloudFront origin and signs people in to the API's user pool.
    this.console = new ConsoleStack(this, 'Console', {
      description: `AIMS ${id}: the analysts' and operators' console (S3 + CloudFront) and its Cognito client`,
      stageName: id,
      appDir: props.consoleDir ?? join(PROJECT_ROOT, 'console', 'dist'),
      services: this.services,
      edge: this.consoleEdge,
      accessLogsBucket: this.data.accessLogsBucket,
      removalPolicy: config.removalPolicy,
      logRetention: config.logRetention,
      // The same document the local stage serves: the fixed routes and each real-time model's predict route; its
      // servers are left out, so "Try it out" calls the console's own origin (CloudFront sends /v1/* to the API).
      openApi: openApiDocument31({
        tokenUrl: this.services.auth.tokenUrl,
        models: realtimeModels(served).map((m) => ({ name: m.manifest.name, request: moduleOf(m).request })),
      }) as unknown as Record<string, unknown>,
    });

    // Last: the dashboard and alarms are derived from what the stacks above created.
    this.observability = new ObservabilityStack(this, 'Observability', {
      description: `AIMS ${id}: dashboard and alarms of every stack in the stage, to one alarm topic`,
      data: this.data,
      services: this.services,
      models: this.models,
      retraining: this.retraining,
      predictOutcomes: Object.fromEntries(
        realtimeModels(served).map((m) => [m.manifest.name, moduleOf(m).policy.outcomes]),
      ),
      thresholds: {
        ...config.alarms,
        models: config.lifecycle.alarms,
        driftCheckMinutes: config.lifecycle.driftCheckMinutes,
      },
    });
  }
  /** The inference component a model's endpoint is built from (idle-to-zero endpoints), which callers must name. */
  private inferenceComponentOf(model: string): { inferenceComponentName?: string } {
    const served = this.models.served[model];
    if (!served) throw new Error(`model '${model}' is not served by the models stack`);
    const name = served.endpoint.inferenceComponentName;
    return name ? { inferenceComponentName: name } : {};
  }
}
