// Assembles the GET /v1/decisions/{id} handler.
import { type DecisionReader, DynamoDecisionReader } from '../shared/adapters/decision-reader.js';
import { dynamoDocumentClient } from '../shared/aws.js';
import { DecisionPathParams } from '../shared/contracts/api.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { type HttpHandler, httpHandler } from '../shared/http.js';
import { createPowertools, type Powertools } from '../shared/powertools.js';
import { getDecision } from './core.js';

export const DecisionsEnv = CommonEnv.extend({ DECISIONS_TABLE: envString() });

export interface DecisionsDeps {
  readonly powertools: Powertools;
  readonly decisions: DecisionReader;
}

export function decisionsDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): DecisionsDeps {
  const e = parseEnv(DecisionsEnv, env);
  const powertools = createPowertools();
  const doc = powertools.tracer.captureAWSv3Client(dynamoDocumentClient());
  return { powertools, decisions: new DynamoDecisionReader(doc, e.DECISIONS_TABLE) };
}

export function createDecisionsHandler(deps: DecisionsDeps): HttpHandler {
  return httpHandler({ powertools: deps.powertools, path: DecisionPathParams }, ({ path }) =>
    getDecision(path.id, { decisions: deps.decisions }),
  );
}
