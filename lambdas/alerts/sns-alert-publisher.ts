// Adapter: the AlertPublisher port over SNS Publish, with the attributes subscription filters match on.
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alert, AlertPublisher } from './core.js';

export class SnsAlertPublisher implements AlertPublisher {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(alert: Alert): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: alert.subject,
        Message: alert.message,
        MessageAttributes: {
          decision: { DataType: 'String', StringValue: alert.attributes.decision },
          severity: { DataType: 'String', StringValue: alert.attributes.severity },
        },
      }),
    );
  }
}
