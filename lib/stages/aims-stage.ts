// One deployable environment: the stacks of AIMS wired together from one EnvironmentConfig.
import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.js';
import { DataStack } from '../stacks/data-stack.js';

export interface AimsStageProps extends StageProps {
  readonly config: EnvironmentConfig;
}

export class AimsStage extends Stage {
  public readonly data: DataStack;

  constructor(scope: Construct, id: string, props: AimsStageProps) {
    super(scope, id, { ...props, env: { account: props.config.account, region: props.config.region } });
    const { config } = props;

    this.data = new DataStack(this, 'Data', {
      description: `AIMS ${id}: stateful data (keys, buckets, tables, stream, bus)`,
      terminationProtection: config.terminationProtection,
      removalPolicy: config.removalPolicy,
      data: config.data,
    });
  }
}
