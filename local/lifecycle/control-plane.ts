// The local control plane on one loopback server: Step Functions (AWS JSON 1.0), SageMaker and SSM (AWS JSON 1.1)
// told apart by X-Amz-Target, and CloudFormation (AWS Query: form body, XML answers). Lambda workers reach it through
// AWS_ENDPOINT_URL_SFN, _SAGEMAKER, _SSM and _CLOUDFORMATION.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AwsServiceError,
  awsJsonHandler,
  type JsonOperations,
  listen,
  type RunningServer,
  readBody,
} from '../services/http.js';

export interface ControlPlaneOperations {
  readonly sfn: JsonOperations;
  readonly sagemaker: JsonOperations;
  readonly ssm: JsonOperations;
  /** CloudFormation actions: flat Query parameters in, a JSON-like result object out (rendered as XML). */
  readonly cloudformation: Readonly<Record<string, (params: Readonly<Record<string, string>>) => unknown>>;
}

const CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function xmlEscape(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}

/** Query-protocol XML of a value: arrays become `<member>` lists, objects nested elements. */
export function toXml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => `<member>${toXml(v)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join('');
  }
  return xmlEscape(String(value));
}

function cloudFormationHandler(actions: ControlPlaneOperations['cloudformation']) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    const send = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
    };
    try {
      const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
      const action = params.Action ?? '';
      const run = actions[action];
      if (!run) throw new AwsServiceError('InvalidAction', `${action || '(no Action)'} is not supported locally`);
      const result = await run(params);
      send(
        200,
        `<${action}Response xmlns="${CFN_NS}"><${action}Result>${toXml(result)}</${action}Result>` +
          `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
      );
    } catch (error) {
      const known = error instanceof AwsServiceError ? error : undefined;
      send(
        known?.status ?? 500,
        `<ErrorResponse xmlns="${CFN_NS}"><Error><Type>${known ? 'Sender' : 'Receiver'}</Type>` +
          `<Code>${xmlEscape(known?.code ?? 'InternalFailure')}</Code><Message>${xmlEscape((error as Error).message)}</Message>` +
          `</Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    }
  };
}

export async function startControlPlane(ops: ControlPlaneOperations, port = 0): Promise<RunningServer> {
  const sfn = awsJsonHandler('AWSStepFunctions', 'application/x-amz-json-1.0', ops.sfn);
  const sagemaker = awsJsonHandler('SageMaker', 'application/x-amz-json-1.1', ops.sagemaker);
  const ssm = awsJsonHandler('AmazonSSM', 'application/x-amz-json-1.1', ops.ssm);
  const cloudformation = cloudFormationHandler(ops.cloudformation);
  return listen((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target.startsWith('AWSStepFunctions.')) return sfn(req, res);
    if (target.startsWith('SageMaker.')) return sagemaker(req, res);
    if (target.startsWith('AmazonSSM.')) return ssm(req, res);
    return cloudformation(req, res);
  }, port);
}
