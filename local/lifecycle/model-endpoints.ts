// Every real-time endpoint of the dev template on the local stage: one LocalModelsStack per endpoint the stacks tag
// (`aims:role` endpoint) — its own model servers, capture, canary, rollback and shadow — a router that answers
// InvokeEndpoint for each endpoint name from that endpoint's servers, and the CloudFormation face of the stack that
// holds them (UpdateStack / DescribeStacks over all its endpoints, as one stack update on AWS).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsServiceError, listen, type RunningServer } from '../services/http.js';
import type { LocalTemplate } from '../types.js';
import { LocalModelsStack, type LocalModelsStackOptions, type StackStatus } from './models-stack.js';

/** One served model: its name (`aims:model`), manifest folder and the model the `bootstrap` pointer serves. */
export interface ServedModelSource {
  readonly name: string;
  readonly manifestDir: string;
  readonly bootstrapModelDir: string;
}

export interface LocalModelEndpointsOptions
  extends Omit<LocalModelsStackOptions, 'model' | 'manifestDir' | 'bootstrapModelDir'> {
  /** Every model with an endpoint in the template (at least one). */
  readonly models: readonly ServedModelSource[];
}

/** One stack as DescribeStacks answers it. */
export interface DescribedStack {
  readonly StackName: string;
  readonly StackId: string;
  readonly StackStatus: StackStatus;
  readonly StackStatusReason?: string;
  readonly LastUpdatedTime?: string;
  readonly Parameters: readonly { ParameterKey: string; ParameterValue: string; ResolvedValue: string }[];
}

export class LocalModelEndpoints {
  private constructor(
    private readonly stacks: ReadonlyMap<string, LocalModelsStack>,
    private readonly router: RunningServer,
    private readonly template: LocalTemplate,
  ) {}

  static async start(options: LocalModelEndpointsOptions): Promise<LocalModelEndpoints> {
    if (options.models.length === 0) throw new Error('the template has no model endpoint to serve');
    const stacks = new Map<string, LocalModelsStack>();
    try {
      // One after the other: each start spawns model servers, and two cores are shared with the emulators.
      for (const model of options.models) {
        const { models: _, ...shared } = options;
        stacks.set(
          model.name,
          await LocalModelsStack.start({
            ...shared,
            model: model.name,
            manifestDir: model.manifestDir,
            bootstrapModelDir: model.bootstrapModelDir,
          }),
        );
      }
    } catch (error) {
      for (const stack of stacks.values()) await stack.close().catch(() => {});
      throw error;
    }
    const byEndpoint = new Map([...stacks.values()].map((s) => [s.endpointName, s]));
    const router = await listen((req, res) => route(byEndpoint, options.template, req, res));
    return new LocalModelEndpoints(stacks, router, options.template);
  }

  /** The local SageMaker runtime: `/endpoints/<name>/invocations` is answered by that endpoint's servers. */
  get url(): string {
    return this.router.url;
  }

  /** The served models' names, in the template's order. */
  get models(): string[] {
    return [...this.stacks.keys()];
  }

  /** The endpoint (models-stack part) of a served model. */
  get(model: string): LocalModelsStack {
    const stack = this.stacks.get(model);
    if (!stack) throw new Error(`no endpoint serves ${model} locally (served: ${this.models.join(', ')})`);
    return stack;
  }

  all(): LocalModelsStack[] {
    return [...this.stacks.values()];
  }

  private inStack(name: unknown): LocalModelsStack[] {
    return this.all().filter((s) => s.stackName === name || s.stackId() === name);
  }

  /** UpdateStack with the previous template: every endpoint of the stack whose resolved models changed deploys. */
  updateStack(input: { StackName?: unknown; UsePreviousTemplate?: unknown }): { StackId: string } {
    const members = this.inStack(input.StackName);
    const first = members[0];
    if (!first) {
      throw new AwsServiceError(
        'ValidationError',
        `Stack ${String(input.StackName)} cannot be updated locally: only ${[...new Set(this.all().map((s) => s.stackName))].join(', ')} can`,
      );
    }
    if (input.UsePreviousTemplate !== true && input.UsePreviousTemplate !== 'true') {
      throw new AwsServiceError(
        'ValidationError',
        'the local stage updates the models stack with UsePreviousTemplate only (a new template needs `npm start` again)',
      );
    }
    const busy = members.find((s) => s.status.endsWith('IN_PROGRESS'));
    if (busy) {
      throw new AwsServiceError(
        'ValidationError',
        `Stack:${busy.stackId()} is in ${busy.status} state and can not be updated.`,
      );
    }
    const updating = members.filter((s) => s.beginUpdate());
    if (updating.length === 0) throw new AwsServiceError('ValidationError', 'No updates are to be performed.');
    return { StackId: first.stackId() };
  }

  /** DescribeStacks: a stack with endpoints reports the one in progress, else the one that changed last. */
  describeStacks(name: string | undefined): DescribedStack[] {
    const names = new Set(this.template.resources.map((r) => r.stackName));
    const list = name ? [name] : [...names];
    return list.map((n) => {
      const members = this.inStack(n);
      if (!names.has(n) && members.length === 0)
        throw new AwsServiceError('ValidationError', `Stack with id ${n} does not exist`);
      const shown =
        members.find((s) => s.status.endsWith('IN_PROGRESS')) ??
        [...members].sort((a, b) => (a.lastUpdated ?? '').localeCompare(b.lastUpdated ?? '')).pop();
      if (!shown) {
        return {
          StackName: n,
          StackId: `arn:aws:cloudformation:${this.template.region}:${this.template.account}:stack/${n}/local`,
          StackStatus: 'CREATE_COMPLETE',
          Parameters: [],
        };
      }
      const parameters = Object.assign({}, ...members.map((s) => s.deployed.parameters)) as Record<string, string>;
      return {
        StackName: shown.stackName,
        StackId: shown.stackId(),
        StackStatus: shown.status,
        ...(shown.statusReason ? { StackStatusReason: shown.statusReason } : {}),
        ...(shown.lastUpdated ? { LastUpdatedTime: shown.lastUpdated } : {}),
        Parameters: Object.entries(parameters).map(([k, v]) => ({
          ParameterKey: k,
          ParameterValue: v,
          ResolvedValue: v,
        })),
      };
    });
  }

  /** The first endpoint whose monitor owns `name` answers; none does: ResourceNotFound. */
  private fromAny<T>(read: (stack: LocalModelsStack) => T): T {
    let last: unknown;
    for (const stack of this.all()) {
      try {
        return read(stack);
      } catch (error) {
        if (!(error instanceof AwsServiceError) || error.code !== 'ResourceNotFound') throw error;
        last = error;
      }
    }
    throw last;
  }

  describeMonitoringSchedule(name: string) {
    return this.fromAny((s) => s.describeMonitoringSchedule(name));
  }

  describeDataQualityJobDefinition(name: string) {
    return this.fromAny((s) => s.describeDataQualityJobDefinition(name));
  }

  /** Resolves when no endpoint is deploying. */
  async idle(): Promise<void> {
    await Promise.all(this.all().map((s) => s.idle()));
  }

  async close(): Promise<void> {
    await this.router.close();
    for (const stack of this.all()) await stack.close();
  }
}

async function route(
  byEndpoint: ReadonlyMap<string, LocalModelsStack>,
  template: LocalTemplate,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const name = /^\/endpoints\/([^/]+)\//.exec(path)?.[1];
  const stack = name === undefined ? undefined : byEndpoint.get(decodeURIComponent(name));
  if (!stack) {
    // SageMaker's answer to an endpoint name it does not know.
    validationError(res, `Endpoint ${name ?? '(none)'} of account ${template.account} not found.`);
    return;
  }
  // A caller that names an inference component must name this endpoint's (on AWS naming none fails too: not required
  // here, see docs/decisions/0005-idle-endpoints.md).
  const component = req.headers['x-amzn-sagemaker-inference-component'];
  if (component !== undefined && component !== stack.inferenceComponentName) {
    validationError(res, `Inference Component ${String(component)} not found on endpoint ${stack.endpointName}.`);
    return;
  }
  await stack.proxy.handle(req, res);
}

function validationError(res: ServerResponse, message: string): void {
  res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationError' });
  res.end(JSON.stringify({ message }));
}
