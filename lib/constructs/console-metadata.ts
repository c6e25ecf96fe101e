// Construct metadata that marks the console's resources in the synthesized template, so the local stage finds the
// console's app client and distribution without guessing from types, names or order.
import { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The `Metadata` key on the console's resources. */
export const CONSOLE_METADATA_KEY = 'aims:console';
/** What a resource is to the console. */
export const CONSOLE_ROLES = ['app-client', 'distribution'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/** Writes the console role into the CloudFormation resource behind `construct`. */
export function tagConsoleResource(construct: IConstruct, role: ConsoleRole): void {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  resource.addMetadata(CONSOLE_METADATA_KEY, role);
}
