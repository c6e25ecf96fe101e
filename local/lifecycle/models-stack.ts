// The local "models stack": what CloudFormation + SageMaker do on AWS when the pipeline updates the models stack with
// its previous template. The template is re-resolved with the current SSM values of its SSM-typed parameters (the
// champion pointer), the new model is started as a second model-server process, takes the endpoint's canary share of
// traffic for the bake time, and is promoted — or rolled back on the endpoint's own rollback alarms (invocation 5xx,
// model latency p99, score PSI vs the version's baseline), ending in UPDATE_COMPLETE or UPDATE_ROLLBACK_COMPLETE.
// CloudFormation's update rules apply first: an update that would replace a custom-named resource whose name does not
// change (local/cloudformation/update-rules.ts) fails and rolls back, as on AWS.
// When the template's endpoint config has a shadow variant, a third model-server process serves the challenger pointer
// and the proxy mirrors every invocation to it; an update that only moves the challenger replaces that process.
// An endpoint whose model runs in an inference component (the idle-to-zero shape) is read the same way: its model and
// its rolling update (canary share, bake, rollback alarms) come from the component, and its `scale-to-zero` alarm sets
// how long it may idle before its model server stops (local/lifecycle/idle.ts).
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PsiBins, type PsiBins as PsiBinsType, psi } from '../../lambdas/drift/core.js';
import { readTarGz } from '../../lambdas/retraining/tar.js';
import { modelVersionsPrefix } from '../../lib/constructs/model-registry.js';
import { type PlannableTemplate, planStackUpdate, type RefusedReplacement } from '../cloudformation/update-rules.js';
import { type LocalModelEndpoint, startLocalModelEndpoint } from '../model-endpoint.js';
import { AwsServiceError } from '../services/http.js';
import { loadLocalTemplate, templateModel } from '../template/index.js';
import type { LocalResource, LocalTemplate } from '../types.js';
import { type CaptureSettings, EndpointProxy, type FleetMetrics } from './endpoint-proxy.js';
import { type Clock, IdleScaler } from './idle.js';
import type { LocalS3 } from './s3.js';
import type { LocalParameterStore } from './ssm.js';

export type StackStatus =
  | 'CREATE_COMPLETE'
  | 'UPDATE_IN_PROGRESS'
  | 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'
  | 'UPDATE_COMPLETE'
  | 'UPDATE_ROLLBACK_IN_PROGRESS'
  | 'UPDATE_ROLLBACK_COMPLETE';

/** What the endpoint serves and the monitor reads, as last deployed. */
export interface DeployedModels {
  /** The SSM parameter values the template was resolved with (the champion pointer among them). */
  readonly parameters: Readonly<Record<string, string>>;
  readonly modelDataUrl: string;
  /** Local folder with model.onnx + model-card.json (+ baseline/). */
  readonly modelDir: string;
  readonly version: string;
  readonly dataQuality?: {
    /** The data-quality schedule (fixed name) and the job definition it names (CloudFormation-generated name). */
    readonly scheduleName: string;
    readonly scheduleArn: string;
    readonly jobDefinitionName: string;
    readonly statisticsUri: string;
    readonly constraintsUri: string;
  };
  /** What the shadow variant serves (the challenger pointer's model), when the endpoint has one. */
  readonly shadow?: ServedModel;
}

/** One variant's model as a model server loads it. */
export interface ServedModel {
  readonly modelDataUrl: string;
  readonly modelDir: string;
  readonly version: string;
}

export interface DeploymentRecord {
  readonly startedAt: string;
  endedAt?: string;
  readonly from: string;
  readonly to: string;
  outcome?: 'promoted' | 'rolled-back';
  reason?: string;
  canary?: { requests: number; errors5xx: number; p99LatencyUs: number | null; scorePsi: number | null };
}

interface PersistedState {
  status: StackStatus;
  statusReason?: string;
  lastUpdated?: string;
  deployed: DeployedModels;
  deployments: DeploymentRecord[];
}

export interface LocalModelsStackOptions {
  /** The boot template (stack names, the SSM parameters' names). */
  readonly template: LocalTemplate;
  readonly dataDir: string;
  readonly ssm: LocalParameterStore;
  readonly s3: LocalS3;
  readonly root: string;
  /** The model whose endpoint this stack serves: its endpoint is the one tagged with this model's metadata. */
  readonly model: string;
  /** Folder of model.json. */
  readonly manifestDir: string;
  /** The bundled model the `bootstrap` pointer serves (the folder the bootstrap asset is built from). */
  readonly bootstrapModelDir: string;
  /** Canary bake, s. @default the endpoint's WaitIntervalInSeconds */
  readonly canaryBakeSeconds?: number;
  /** Canary score samples below which the score-shift alarm has no data (treated as not breaching). @default 50 */
  readonly minScoreSamples?: number;
  /** The idle timer's clock (tests move it). @default the wall clock */
  readonly clock?: Clock;
  /** How often the idle timer looks by itself; 0: only when `idle.check()` is called. @default see IdleScaler */
  readonly idleCheckEveryMs?: number;
  readonly log?: (line: string) => void;
}

/** A model server process for one deployed model. */
interface Fleet {
  readonly endpoint: LocalModelEndpoint;
  readonly deployed: DeployedModels;
}

const POINTER_SENTINEL = 'bootstrap';

export class LocalModelsStack {
  readonly stackName: string;
  readonly proxy: EndpointProxy;
  /** The endpoint's name (what InvokeEndpoint names). */
  readonly endpointName: string;
  /** The served endpoint's logical id (stable across the re-resolved templates of updates). */
  private readonly endpointLogicalId: string;
  private state!: PersistedState;
  private blue!: Fleet;
  private shadowFleet: { endpoint: LocalModelEndpoint; model: ServedModel } | undefined;
  private readonly file: string;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private readonly log: (line: string) => void;
  /** The inference component serving the model, when the endpoint idles to zero (what callers name). */
  inferenceComponentName: string | undefined;
  /** Scale to zero, when the template's endpoint idles (undefined for an always-on endpoint). */
  idleScaler: IdleScaler | undefined;

  private constructor(private readonly options: LocalModelsStackOptions) {
    const endpoint = templateModel(options.template, options.root, options.model).endpoint;
    if (!endpoint)
      throw new Error(`model ${options.model} has no endpoint in the dev template: no models stack to run`);
    this.stackName = endpoint.stackName;
    this.endpointLogicalId = endpoint.logicalId;
    this.endpointName = String(endpoint.properties.EndpointName ?? endpoint.ref);
    // One file per endpoint of the stack: each model's endpoint is deployed and rolled back on its own.
    this.file = join(options.dataDir, 'models-stack', `${this.stackName}.${options.model}.json`);
    this.log = options.log ?? (() => {});
    this.proxy = new EndpointProxy(() => this.blue.endpoint.url, undefined, options.s3);
  }

  static async start(options: LocalModelsStackOptions): Promise<LocalModelsStack> {
    const stack = new LocalModelsStack(options);
    mkdirSync(join(options.dataDir, 'models-stack'), { recursive: true });
    stack.adoptSingleEndpointState();
    let deployed: DeployedModels;
    if (existsSync(stack.file)) {
      stack.state = JSON.parse(readFileSync(stack.file, 'utf8')) as PersistedState;
      // A deployment cut short by a stop ends as CloudFormation would: rolled back to what served before it.
      if (stack.state.status.endsWith('IN_PROGRESS')) {
        stack.state.status = 'UPDATE_ROLLBACK_COMPLETE';
        stack.state.statusReason = 'the local stage stopped during the update';
      }
      deployed = stack.state.deployed;
      if (!existsSync(join(deployed.modelDir, 'model.onnx'))) deployed = await stack.materialize(stack.resolve());
      // A data directory from before the schedule was recorded: read it from the template it was deployed with.
      if (deployed.dataQuality && !deployed.dataQuality.scheduleName) {
        const dataQuality = stack.dataQuality(stack.resolvedTemplate(deployed.parameters));
        deployed = { ...deployed, ...(dataQuality ? { dataQuality } : {}) };
      }
    } else {
      deployed = await stack.materialize(stack.resolve());
      stack.state = { status: 'CREATE_COMPLETE', deployed, deployments: [], lastUpdated: new Date().toISOString() };
    }
    stack.save();
    const template = stack.resolvedTemplate(deployed.parameters);
    // A data directory from before the template had a shadow: the shadow is created now, as CloudFormation would.
    if (stack.resources(template).shadowModelDataUrl !== undefined && !deployed.shadow) {
      deployed = await stack.materialize({ parameters: deployed.parameters, template });
      stack.state.deployed = deployed;
      stack.save();
    }
    const component = stack.resources(template).component?.properties.InferenceComponentName;
    if (typeof component === 'string') stack.inferenceComponentName = component;
    stack.blue = { endpoint: await stack.startFleet(deployed, 'blue'), deployed };
    stack.proxy.setCapture(stack.captureSettings(template, 'champion'));
    if (deployed.shadow) await stack.replaceShadow(deployed.shadow, template);
    const idleMinutes = stack.idleMinutes(template);
    if (idleMinutes !== undefined) {
      stack.idleScaler = new IdleScaler({
        model: options.model,
        afterMs: idleMinutes * 60_000,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.idleCheckEveryMs !== undefined ? { checkEveryMs: options.idleCheckEveryMs } : {}),
        stop: () => stack.blue.endpoint.stop(),
        start: () => stack.blue.endpoint.start(),
        busy: () => stack.running !== undefined,
        log: stack.log,
      });
      stack.proxy.setAdmission(() => stack.idleScaler?.admit());
    }
    await stack.proxy.start();
    return stack;
  }

  /**
   * A data directory from when the local stage served one endpoint kept its state as `<stack>.json`: the endpoint
   * whose model that state served takes it over (its bootstrap folder, or a version under this model's prefix), so
   * its deployment history and status survive the upgrade.
   */
  private adoptSingleEndpointState(): void {
    const legacy = join(this.options.dataDir, 'models-stack', `${this.stackName}.json`);
    if (existsSync(this.file) || !existsSync(legacy)) return;
    const { deployed } = JSON.parse(readFileSync(legacy, 'utf8')) as PersistedState;
    const mine =
      deployed.modelDir === this.options.bootstrapModelDir ||
      deployed.modelDataUrl.includes(`/${modelVersionsPrefix(this.options.model)}/`);
    if (mine) renameSync(legacy, this.file);
  }

  /** The shadow variant's model server (undefined without a shadow variant). */
  get shadow(): { readonly url: string; readonly model: ServedModel } | undefined {
    const fleet = this.shadowFleet;
    return fleet ? { url: fleet.endpoint.url, model: fleet.model } : undefined;
  }

  /** Starts a model server for the shadow's model, mirrors traffic to it, then stops the one it replaces. */
  private async replaceShadow(model: ServedModel, template: LocalTemplate): Promise<void> {
    const endpoint = await startLocalModelEndpoint({
      root: this.options.root,
      modelDir: model.modelDir,
      manifestDir: this.options.manifestDir,
      logFile: join(this.options.dataDir, 'logs', `model-server-${this.options.model}-shadow.log`),
    });
    const old = this.shadowFleet;
    this.shadowFleet = { endpoint, model };
    this.proxy.setShadow(() => endpoint.url, this.captureSettings(template, 'shadow'));
    await old?.endpoint.close();
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2));
    renameSync(tmp, this.file);
  }

  get status(): StackStatus {
    return this.state.status;
  }
  get deployed(): DeployedModels {
    return this.state.deployed;
  }
  get deployments(): readonly DeploymentRecord[] {
    return this.state.deployments;
  }
  /** The serving fleet's model server (for fault injection: stop/start). */
  get serving(): LocalModelEndpoint {
    return this.blue.endpoint;
  }
  /** Resolves when no deployment is running. */
  async idle(): Promise<void> {
    await this.running;
  }

  // ---- template resolution with the current SSM values (CloudFormation resolves SSM-typed parameters per update)

  private currentParameters(): Record<string, string> {
    const out: Record<string, string> = {};
    const raw = this.rawTemplate();
    for (const [key, p] of Object.entries(raw.Parameters ?? {})) {
      if (p.Type !== 'AWS::SSM::Parameter::Value<String>' || typeof p.Default !== 'string') continue;
      const value = this.options.ssm.get(p.Default)?.value;
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  private rawTemplateFile(): string {
    const manifest = JSON.parse(readFileSync(join(this.options.template.assemblyDir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type?: string; properties?: { stackName?: string; templateFile?: string } }>;
    };
    for (const artifact of Object.values(manifest.artifacts)) {
      if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.stackName === this.stackName) {
        return join(this.options.template.assemblyDir, artifact.properties.templateFile ?? '');
      }
    }
    throw new Error(`no template for stack ${this.stackName} in ${this.options.template.assemblyDir}`);
  }

  private rawTemplate(): { Parameters?: Record<string, { Type?: string; Default?: unknown }> } {
    return JSON.parse(readFileSync(this.rawTemplateFile(), 'utf8')) as {
      Parameters?: Record<string, { Type?: string; Default?: unknown }>;
    };
  }

  /** The stage resolved as CloudFormation would with these parameter values (a patched copy of the assembly). */
  private resolvedTemplate(parameters: Readonly<Record<string, string>>): LocalTemplate {
    const source = this.options.template.assemblyDir;
    const dir = join(this.options.dataDir, 'models-stack', `assembly-${this.options.model}`);
    mkdirSync(dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(source, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type?: string; properties?: { templateFile?: string } }>;
    };
    for (const artifact of Object.values(manifest.artifacts)) {
      const file = artifact.properties?.templateFile;
      if (artifact.type !== 'aws:cloudformation:stack' || !file) continue;
      if (join(source, file) !== this.rawTemplateFile()) {
        copyFileSync(join(source, file), join(dir, file));
        continue;
      }
      const raw = JSON.parse(readFileSync(join(source, file), 'utf8')) as {
        Parameters?: Record<string, { Default?: unknown }>;
      };
      for (const [key, value] of Object.entries(parameters)) {
        const p = raw.Parameters?.[key];
        if (p) p.Default = value;
      }
      writeFileSync(join(dir, file), JSON.stringify(raw));
    }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    return loadLocalTemplate({ assemblyDir: dir, stageName: this.options.template.stageName });
  }

  private resolve(): { parameters: Record<string, string>; template: LocalTemplate } {
    const parameters = this.currentParameters();
    return { parameters, template: this.resolvedTemplate(parameters) };
  }

  private resources(template: LocalTemplate) {
    const inStack = (type: string) => template.ofType(type).filter((r) => r.stackName === this.stackName);
    const endpoint = inStack('AWS::SageMaker::Endpoint').find((r) => r.logicalId === this.endpointLogicalId);
    if (!endpoint)
      throw new Error(`${this.stackName}: endpoint ${this.endpointLogicalId} is no longer in the template`);
    const configName = endpoint.properties.EndpointConfigName;
    const config = inStack('AWS::SageMaker::EndpointConfig').find(
      (r) => r.attributes.EndpointConfigName === configName || r.ref === configName,
    );
    if (!config) throw new Error(`${this.stackName}: endpoint config ${String(configName)} not found`);
    const variants = (config.properties.ProductionVariants ?? []) as { ModelName?: string; VariantName?: string }[];
    const variant = variants[0];
    const endpointName = endpoint.properties.EndpointName ?? endpoint.ref;
    // The idle-to-zero shape: the variant has no model; the inference component on it names the model.
    const component = inStack('AWS::SageMaker::InferenceComponent').find(
      (r) => r.properties.EndpointName === endpointName && r.properties.VariantName === variant?.VariantName,
    );
    const modelName = component
      ? (component.properties.Specification as { ModelName?: string } | undefined)?.ModelName
      : variant?.ModelName;
    const model = inStack('AWS::SageMaker::Model').find(
      (r) => r.attributes.ModelName === modelName || r.ref === modelName,
    );
    const modelDataUrl = (model?.properties.PrimaryContainer as { ModelDataUrl?: unknown } | undefined)?.ModelDataUrl;
    if (typeof modelDataUrl !== 'string')
      throw new Error(`${this.stackName}: the endpoint's model has no ModelDataUrl`);
    // The monitor's resources name the endpoint they watch: this endpoint's, not another model's.
    const watching = (type: string) => inStack(type).filter((r) => r.properties.EndpointName === endpointName);
    const dq = watching('AWS::SageMaker::DataQualityJobDefinition')[0];
    const dqSchedule = watching('AWS::SageMaker::MonitoringSchedule').find(
      (r) =>
        (r.properties.MonitoringScheduleConfig as { MonitoringType?: unknown } | undefined)?.MonitoringType ===
        'DataQuality',
    );
    const shadowVariant = (
      (config.properties.ShadowProductionVariants ?? []) as { ModelName?: string; VariantName?: string }[]
    )[0];
    const shadowModel = shadowVariant
      ? inStack('AWS::SageMaker::Model').find(
          (r) => r.attributes.ModelName === shadowVariant.ModelName || r.ref === shadowVariant.ModelName,
        )
      : undefined;
    const shadowUrl = (shadowModel?.properties.PrimaryContainer as { ModelDataUrl?: unknown } | undefined)
      ?.ModelDataUrl;
    if (shadowVariant && typeof shadowUrl !== 'string') {
      throw new Error(`${this.stackName}: the endpoint's shadow model has no ModelDataUrl`);
    }
    return {
      endpoint,
      component,
      config,
      variant,
      modelDataUrl,
      dq,
      dqSchedule,
      alarms: inStack('AWS::CloudWatch::Alarm'),
      shadowVariant,
      shadowModelDataUrl: shadowUrl as string | undefined,
    };
  }

  private captureSettings(template: LocalTemplate, which: 'champion' | 'shadow'): CaptureSettings | undefined {
    const { endpoint, config, variant: production, shadowVariant } = this.resources(template);
    const variant = which === 'champion' ? production : shadowVariant;
    const dc = config.properties.DataCaptureConfig as
      | {
          EnableCapture?: boolean;
          DestinationS3Uri?: string;
          InitialSamplingPercentage?: number;
          CaptureOptions?: { CaptureMode?: string }[];
        }
      | undefined;
    if (!dc || dc.EnableCapture === false || !dc.DestinationS3Uri) return undefined;
    const modes = new Set((dc.CaptureOptions ?? []).map((o) => o.CaptureMode));
    return {
      destination: dc.DestinationS3Uri,
      endpointName: String(endpoint.properties.EndpointName ?? endpoint.ref),
      variantName: variant?.VariantName ?? 'AllTraffic',
      samplingPercentage: dc.InitialSamplingPercentage ?? 100,
      captureInput: modes.size === 0 || modes.has('Input'),
      captureOutput: modes.size === 0 || modes.has('Output'),
    };
  }

  /** The value this model's pointer of this kind resolved to (the SSM-typed parameter named …/models/<model>/champion). */
  private pointerValue(parameters: Readonly<Record<string, string>>, kind: 'champion' | 'challenger') {
    const raw = this.rawTemplate().Parameters ?? {};
    const key = Object.keys(parameters).find((k) =>
      String(raw[k]?.Default ?? '').endsWith(`/models/${this.options.model}/${kind}`),
    );
    if (key !== undefined) return parameters[key];
    // Templates from before the challenger existed have one SSM-typed parameter: the champion.
    const only = Object.values(parameters);
    return kind === 'champion' && only.length === 1 ? only[0] : undefined;
  }

  /** The data-quality schedule and the job definition it names, with that definition's baseline. */
  private dataQuality(template: LocalTemplate): DeployedModels['dataQuality'] {
    const { dq, dqSchedule } = this.resources(template);
    const baseline = dq?.properties.DataQualityBaselineConfig as
      | { StatisticsResource?: { S3Uri?: string }; ConstraintsResource?: { S3Uri?: string } }
      | undefined;
    const statisticsUri = baseline?.StatisticsResource?.S3Uri;
    const constraintsUri = baseline?.ConstraintsResource?.S3Uri;
    if (!dq || !dqSchedule || !statisticsUri || !constraintsUri) return undefined;
    const named = (dqSchedule.properties.MonitoringScheduleConfig as { MonitoringJobDefinitionName?: unknown })
      .MonitoringJobDefinitionName;
    // The ARN (the definition's Ref) ends in its name, as the schedule derives it.
    const jobDefinitionName = dq.ref.slice(dq.ref.lastIndexOf('/') + 1);
    if (named !== jobDefinitionName) {
      throw new Error(`${this.stackName}: the data-quality schedule names ${String(named)}, not ${jobDefinitionName}`);
    }
    return {
      scheduleName: String(dqSchedule.properties.MonitoringScheduleName),
      scheduleArn: dqSchedule.ref,
      jobDefinitionName,
      statisticsUri,
      constraintsUri,
    };
  }

  /** Puts the models the template names (the champion's and the shadow's) where a model server can load them. */
  private async materialize(resolved: { parameters: Record<string, string>; template: LocalTemplate }) {
    const { modelDataUrl, shadowModelDataUrl } = this.resources(resolved.template);
    const dataQuality = this.dataQuality(resolved.template);
    const champion = await this.materializeModel(modelDataUrl, this.pointerValue(resolved.parameters, 'champion'));
    const shadow =
      shadowModelDataUrl === undefined
        ? undefined
        : await this.materializeModel(shadowModelDataUrl, this.pointerValue(resolved.parameters, 'challenger'));
    return {
      parameters: resolved.parameters,
      ...champion,
      ...(dataQuality ? { dataQuality } : {}),
      ...(shadow ? { shadow } : {}),
    } satisfies DeployedModels;
  }

  /** One model archive unpacked for the model server (the bundled bootstrap model when the pointer says so). */
  private async materializeModel(modelDataUrl: string, pointer: string | undefined): Promise<ServedModel> {
    let modelDir: string;
    if (pointer === undefined || pointer === POINTER_SENTINEL) {
      modelDir = this.options.bootstrapModelDir;
    } else {
      const id = createHash('sha256').update(modelDataUrl).digest('hex').slice(0, 16);
      modelDir = join(this.options.dataDir, 'models-stack', 'models', id);
      if (!existsSync(join(modelDir, 'model.onnx'))) {
        mkdirSync(join(modelDir, 'baseline'), { recursive: true });
        const entries = readTarGz(await this.options.s3.get(modelDataUrl));
        const onnx = entries.find((e) => e.path.endsWith('/model.onnx') || e.path === 'model.onnx');
        if (!onnx)
          throw new Error(`${modelDataUrl} holds no model.onnx (has ${entries.map((e) => e.path).join(', ')})`);
        // Triton reads config.pbtxt; the local server reads the version's model card beside the archive.
        const prefix = modelDataUrl.slice(0, modelDataUrl.lastIndexOf('/') + 1);
        writeFileSync(join(modelDir, 'model-card.json'), await this.options.s3.get(`${prefix}model-card.json`));
        writeFileSync(
          join(modelDir, 'baseline', 'psi-bins.json'),
          await this.options.s3.get(`${prefix}baseline/psi-bins.json`),
        );
        writeFileSync(join(modelDir, 'model.onnx'), onnx.data);
      }
    }
    const card = JSON.parse(readFileSync(join(modelDir, 'model-card.json'), 'utf8')) as { version?: string };
    return { modelDataUrl, modelDir, version: card.version ?? 'unknown' };
  }

  private startFleet(deployed: DeployedModels, color: string): Promise<LocalModelEndpoint> {
    return startLocalModelEndpoint({
      root: this.options.root,
      modelDir: deployed.modelDir,
      manifestDir: this.options.manifestDir,
      logFile: join(this.options.dataDir, 'logs', `model-server-${this.options.model}-${color}.log`),
    });
  }

  // ---- CloudFormation

  /** The model this stack's endpoint serves (its `aims:model`). */
  get model(): string {
    return this.options.model;
  }

  /** When this endpoint's status last changed (ISO), for the stack-wide status of several endpoints. */
  get lastUpdated(): string | undefined {
    return this.state.lastUpdated;
  }

  get statusReason(): string | undefined {
    return this.state.statusReason;
  }

  stackId(): string {
    const t = this.options.template;
    return `arn:aws:cloudformation:${t.region}:${t.account}:stack/${this.stackName}/${createHash('sha256').update(this.stackName).digest('hex').slice(0, 8)}-local`;
  }

  /**
   * This endpoint's part of an UpdateStack with the previous template (validated by the caller, see
   * LocalModelEndpoints): re-resolves the template with the current SSM values and, when what this endpoint serves
   * changed, deploys in the background like CloudFormation and returns true; false when it has nothing to update.
   */
  beginUpdate(): boolean {
    // The template as last deployed, then as this update resolves it (resolvedTemplate rewrites one folder: last wins).
    const deployedTemplate = this.resolvedTemplate(this.state.deployed.parameters);
    const resolved = this.resolve();
    const next = this.resources(resolved.template);
    if (
      next.modelDataUrl === this.state.deployed.modelDataUrl &&
      next.shadowModelDataUrl === this.state.deployed.shadow?.modelDataUrl
    )
      return false;
    const plan = planStackUpdate(this.plannable(deployedTemplate), this.plannable(resolved.template));
    this.setStatus('UPDATE_IN_PROGRESS', 'User Initiated');
    const deploying =
      plan.refused.length > 0
        ? this.refuse(plan.refused)
        : next.modelDataUrl === this.state.deployed.modelDataUrl
          ? this.deployShadow(resolved)
          : this.deploy(resolved);
    this.running = deploying.finally(() => {
      this.running = undefined;
    });
    return true;
  }

  /** This stack's resources with their resolved (literal) properties, as the update rules compare them. */
  private plannable(template: LocalTemplate): PlannableTemplate {
    return {
      Resources: Object.fromEntries(
        template.resources
          .filter((r) => r.stackName === this.stackName)
          .map((r) => [r.logicalId, { Type: r.type, Properties: { ...r.properties } }]),
      ),
    };
  }

  /**
   * An update that replaces a custom-named resource whose name stays: CloudFormation fails that resource and rolls the
   * stack back, so nothing changes. (On AWS it gets there after the resources it depends on, the endpoint among
   * them, and rolls those back too: the same end state, sooner.)
   */
  private async refuse(refused: readonly RefusedReplacement[]): Promise<void> {
    await Promise.resolve(); // UpdateStack answers first; the stack fails while the caller polls, as on AWS.
    const record: DeploymentRecord = {
      startedAt: new Date().toISOString(),
      from: this.state.deployed.version,
      to: '(refused)',
    };
    this.state.deployments.push(record);
    const reason = `The following resource(s) failed to update: [${refused.map((r) => r.logicalId).join(', ')}]. ${refused
      .map((r) => `${r.logicalId}: ${r.reason}`)
      .join(' ')}`;
    this.setStatus('UPDATE_ROLLBACK_IN_PROGRESS', reason);
    record.outcome = 'rolled-back';
    record.reason = reason;
    record.endedAt = new Date().toISOString();
    this.setStatus('UPDATE_ROLLBACK_COMPLETE', reason);
    this.log(`  models stack: ${reason} (UPDATE_ROLLBACK_COMPLETE)`);
  }

  private setStatus(status: StackStatus, reason?: string): void {
    this.state.status = status;
    if (reason === undefined) delete this.state.statusReason;
    else this.state.statusReason = reason;
    this.state.lastUpdated = new Date().toISOString();
    this.save();
  }

  /** Minutes without an invocation before this endpoint scales to zero (its `scale-to-zero` alarm), if it does. */
  private idleMinutes(template: LocalTemplate): number | undefined {
    const alarm = templateModel(template, this.options.root, this.options.model).one('scale-to-zero');
    if (!alarm) return undefined;
    const minutes = (Number(alarm.properties.EvaluationPeriods) * Number(alarm.properties.Period)) / 60;
    if (!(minutes > 0)) throw new Error(`${alarm.logicalId}: EvaluationPeriods × Period is not a positive duration`);
    return minutes;
  }

  private async deploy(resolved: { parameters: Record<string, string>; template: LocalTemplate }): Promise<void> {
    const { endpoint, component, alarms } = this.resources(resolved.template);
    // A new model rolls through the inference component when there is one, else blue/green on the endpoint.
    const deployment = (component ?? endpoint).properties.DeploymentConfig as
      | {
          AutoRollbackConfiguration?: { Alarms?: { AlarmName?: string }[] };
          BlueGreenUpdatePolicy?: {
            TrafficRoutingConfiguration?: {
              CanarySize?: { Type?: string; Value?: number };
              WaitIntervalInSeconds?: number;
            };
          };
          RollingUpdatePolicy?: {
            MaximumBatchSize?: { Type?: string; Value?: number };
            WaitIntervalInSeconds?: number;
          };
        }
      | undefined;
    const routing = deployment?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration;
    const first = routing?.CanarySize ?? deployment?.RollingUpdatePolicy?.MaximumBatchSize;
    const percent = first?.Type === 'CAPACITY_PERCENT' ? (first.Value ?? 100) : 100;
    const wait = routing?.WaitIntervalInSeconds ?? deployment?.RollingUpdatePolicy?.WaitIntervalInSeconds;
    const bakeSeconds = this.options.canaryBakeSeconds ?? wait ?? 0;
    const rollbackAlarmNames = new Set((deployment?.AutoRollbackConfiguration?.Alarms ?? []).map((a) => a.AlarmName));
    const rollbackAlarms = alarms.filter((a) => rollbackAlarmNames.has(a.ref));
    const record: DeploymentRecord = {
      startedAt: new Date().toISOString(),
      from: this.state.deployed.version,
      to: '(materializing)',
    };
    this.state.deployments.push(record);
    let green: Fleet | undefined;
    try {
      const deployed = await this.materialize(resolved);
      Object.assign(record, { to: deployed.version });
      green = { endpoint: await this.startFleet(deployed, `green-${randomUUID().slice(0, 8)}`), deployed };
      this.log(`  models stack: canary ${deployed.version} takes ${percent}% for ${bakeSeconds}s`);
      this.proxy.startCanary(green.endpoint.url, percent);
      // The bake ends early when the stage stops (the update then counts as rolled back).
      await new Promise<void>((r) => {
        const timer = setTimeout(r, bakeSeconds * 1000);
        this.stopping.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          r();
        });
      });
      if (this.stopping.signal.aborted) throw new Error('the local stage stopped during the canary bake');
      const metrics = this.proxy.canaryMetrics() ?? { requests: 0, errors5xx: 0, latenciesUs: [], scores: [] };
      const verdict = this.evaluate(rollbackAlarms, metrics, green.deployed.modelDir);
      record.canary = verdict.summary;
      if (verdict.breached.length > 0) throw new CanaryAlarm(verdict.breached.join('; '));
      // Promote: all traffic to green, then retire blue (TerminationWait is a safety net for a manual rollback).
      const old = this.blue;
      this.blue = green;
      this.proxy.setChampion(() => green?.endpoint.url ?? old.endpoint.url);
      this.proxy.endCanary();
      this.proxy.setCapture(this.captureSettings(resolved.template, 'champion'));
      const shadow = green.deployed.shadow;
      if (shadow && shadow.modelDataUrl !== this.shadowFleet?.model.modelDataUrl) {
        await this.replaceShadow(shadow, resolved.template);
      }
      this.setStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      await old.endpoint.close();
      this.state.deployed = green.deployed;
      record.outcome = 'promoted';
      record.endedAt = new Date().toISOString();
      this.setStatus('UPDATE_COMPLETE');
      this.log(`  models stack: ${green.deployed.version} serves (UPDATE_COMPLETE)`);
    } catch (error) {
      this.proxy.endCanary();
      const reason =
        error instanceof CanaryAlarm
          ? `endpoint update rolled back: alarm ${error.message}`
          : `endpoint update failed: ${(error as Error).message}`;
      this.setStatus('UPDATE_ROLLBACK_IN_PROGRESS', reason);
      await green?.endpoint.close().catch(() => {});
      record.outcome = 'rolled-back';
      record.reason = reason;
      record.endedAt = new Date().toISOString();
      this.setStatus('UPDATE_ROLLBACK_COMPLETE', reason);
      this.log(`  models stack: ${reason} (UPDATE_ROLLBACK_COMPLETE)`);
    }
  }

  /**
   * An update that changes only the shadow's model (the pipeline moved the challenger pointer): the shadow never
   * answers callers, so its new model server replaces the old one at once; one that cannot start rolls back.
   */
  private async deployShadow(resolved: { parameters: Record<string, string>; template: LocalTemplate }): Promise<void> {
    const record: DeploymentRecord = {
      startedAt: new Date().toISOString(),
      from: `shadow ${this.state.deployed.shadow?.version ?? '(none)'}`,
      to: 'shadow (materializing)',
    };
    this.state.deployments.push(record);
    try {
      const deployed = await this.materialize(resolved);
      if (!deployed.shadow) throw new Error('the template no longer has a shadow variant');
      Object.assign(record, { to: `shadow ${deployed.shadow.version}` });
      await this.replaceShadow(deployed.shadow, resolved.template);
      this.state.deployed = deployed;
      record.outcome = 'promoted';
      record.endedAt = new Date().toISOString();
      this.setStatus('UPDATE_COMPLETE');
      this.log(`  models stack: the shadow serves ${deployed.shadow.version} (UPDATE_COMPLETE)`);
    } catch (error) {
      const reason = `shadow variant update failed: ${(error as Error).message}`;
      record.outcome = 'rolled-back';
      record.reason = reason;
      record.endedAt = new Date().toISOString();
      this.setStatus('UPDATE_ROLLBACK_COMPLETE', reason);
      this.log(`  models stack: ${reason} (UPDATE_ROLLBACK_COMPLETE)`);
    }
  }

  /** The rollback alarms applied to the canary window (GreaterThanThreshold on Sum / pNN / PSI). */
  private evaluate(alarms: readonly LocalResource[], m: FleetMetrics, modelDir: string) {
    const breached: string[] = [];
    const sorted = [...m.latenciesUs].sort((a, b) => a - b);
    const percentile = (p: number) =>
      sorted.length === 0
        ? null
        : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null);
    let scorePsi: number | null = null;
    const bins = join(modelDir, 'baseline', 'psi-bins.json');
    if (m.scores.length >= (this.options.minScoreSamples ?? 50) && existsSync(bins)) {
      const baseline: PsiBinsType = PsiBins.parse(JSON.parse(readFileSync(bins, 'utf8')));
      scorePsi = psi(baseline.prediction, m.scores);
    }
    for (const alarm of alarms) {
      const p = alarm.properties;
      const threshold = Number(p.Threshold);
      let value: number | null = null;
      if (p.MetricName === 'Invocation5XXErrors') value = m.errors5xx;
      else if (p.MetricName === 'ModelLatency') {
        const stat = /^p(\d+(?:\.\d+)?)$/.exec(String(p.ExtendedStatistic ?? 'p99'));
        value = percentile(Number(stat?.[1] ?? 99));
      } else if (p.MetricName === 'ScoreShiftPsi') value = scorePsi;
      if (value === null) continue; // missing data: the alarms treat it as not breaching
      const op = String(p.ComparisonOperator);
      const hit =
        op === 'GreaterThanThreshold'
          ? value > threshold
          : op === 'GreaterThanOrEqualToThreshold'
            ? value >= threshold
            : op === 'LessThanThreshold'
              ? value < threshold
              : value <= threshold;
      if (hit) breached.push(`${alarm.ref} (${p.MetricName} ${value.toFixed(3)} vs ${threshold})`);
    }
    return {
      breached,
      summary: { requests: m.requests, errors5xx: m.errors5xx, p99LatencyUs: percentile(99), scorePsi },
    };
  }

  /** DescribeMonitoringSchedule of the data-quality schedule, as the last completed update left it. */
  describeMonitoringSchedule(name: string) {
    const dq = this.state.deployed.dataQuality;
    if (!dq || dq.scheduleName !== name) {
      throw new AwsServiceError('ResourceNotFound', `Monitoring schedule ${name} does not exist`);
    }
    return {
      MonitoringScheduleName: name,
      MonitoringScheduleArn: dq.scheduleArn,
      MonitoringScheduleStatus: 'Scheduled',
      MonitoringType: 'DataQuality',
      MonitoringScheduleConfig: { MonitoringJobDefinitionName: dq.jobDefinitionName, MonitoringType: 'DataQuality' },
    };
  }

  /** DescribeDataQualityJobDefinition: the job definition as the last completed update left it. */
  describeDataQualityJobDefinition(name: string) {
    const dq = this.state.deployed.dataQuality;
    if (!dq || dq.jobDefinitionName !== name) {
      throw new AwsServiceError('ResourceNotFound', `Could not find job definition ${name}`);
    }
    return {
      JobDefinitionName: name,
      JobDefinitionArn: `arn:aws:sagemaker:${this.options.template.region}:${this.options.template.account}:data-quality-job-definition/${name}`,
      DataQualityBaselineConfig: {
        StatisticsResource: { S3Uri: dq.statisticsUri },
        ConstraintsResource: { S3Uri: dq.constraintsUri },
      },
    };
  }

  async close(): Promise<void> {
    this.idleScaler?.close();
    this.stopping.abort();
    await this.running?.catch(() => {});
    await this.proxy.close();
    await this.blue?.endpoint.close();
    await this.shadowFleet?.endpoint.close();
  }
}

class CanaryAlarm extends Error {
  override readonly name = 'CanaryAlarm';
}
