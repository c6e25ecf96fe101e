// Observability of one environment: the dashboard and alarms of every stack in the stage, built from the stacks.
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { Observability, type ObservabilityThresholds, powertoolsIdentity } from '../constructs/observability.js';
import type { DataStack } from './data-stack.js';
import type { ModelsStack } from './models-stack.js';
import type { RetrainingStack } from './retraining-stack.js';
import type { ServicesStack } from './services-stack.js';

export interface ObservabilityStackProps extends StackProps {
  /** The data stack: its key encrypts the alarm topic; its stream and bus dead-letter queue are watched. */
  readonly data: DataStack;
  /** The services stack: the API, its functions and dead-letter queues; `functions.score` counts the decisions. */
  readonly services: ServicesStack;
  /** The models stack: endpoints, monitors, drift checks and their dead-letter queue. */
  readonly models: ModelsStack;
  /** The retraining stack: state machines, task functions and their dead-letter queue. */
  readonly retraining: RetrainingStack;
  readonly thresholds: ObservabilityThresholds;
  /** Each real-time model's policy outcomes (its predictions are graphed by outcome). @default - none */
  readonly predictOutcomes?: Readonly<Record<string, readonly string[]>>;
}

export class ObservabilityStack extends Stack {
  public readonly observability: Observability;
  /** Every alarm of the environment publishes here. */
  public readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const score = props.services.functions.score;
    if (!score) throw new Error("services.functions must include 'score', whose decisions the dashboard counts");
    const model = powertoolsIdentity(score).environment.MODEL_NAME;
    if (typeof model !== 'string') throw new Error(`${score.node.path}: expected MODEL_NAME in its environment`);

    this.observability = new Observability(this, 'Observability', {
      sources: [props.data, props.services, props.models, props.retraining],
      key: props.data.key,
      thresholds: props.thresholds,
      // The scorer tags its counters with the model it called.
      decisions: { function: score, dimensions: { model } },
      predictions: Object.fromEntries(
        Object.entries(props.services.predictFunctions).map(([name, fn]) => [
          name,
          { function: fn, outcomes: props.predictOutcomes?.[name] ?? [] },
        ]),
      ),
    });
    this.alarmTopic = this.observability.alarmTopic;
  }
}
