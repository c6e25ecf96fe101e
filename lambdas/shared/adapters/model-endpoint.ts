// The model endpoint over SageMaker InvokeEndpoint with an Open Inference Protocol v2 body (Triton on SageMaker and the
// local model server speak the same).
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import * as z from 'zod';
import type { ModelRef } from '../../../models/shared/contracts/decision.js';
import type { ModelEndpoint } from '../inference.js';

/** The v2 infer response, validated: a misbehaving endpoint becomes an error (and so the rules fallback). */
const InferResponse = z.object({
  model_name: z.string().optional(),
  model_version: z.string().optional(),
  outputs: z
    .array(
      z.object({
        name: z.string(),
        shape: z.array(z.number().int()),
        datatype: z.string().optional(),
        data: z.array(z.number()),
      }),
    )
    .min(1),
});

export interface SageMakerModelEndpointProps {
  readonly client: SageMakerRuntimeClient;
  readonly endpointName: string;
  /** Named in every call when the endpoint hosts inference components (SageMaker requires it then). @default - none */
  readonly inferenceComponentName?: string;
  /** Used when the response carries no model_name. */
  readonly modelName: string;
  /** @default 'features' */
  readonly inputName?: string;
  /** @default 'score' */
  readonly outputName?: string;
}

/** InvokeEndpoint with an Open Inference Protocol v2 body; `InferenceId` lets Model Monitor join ground truth. */
export class SageMakerModelEndpoint implements ModelEndpoint {
  constructor(private readonly props: SageMakerModelEndpointProps) {}

  async invoke(
    rows: readonly (readonly number[])[],
    options: { inferenceId: string; signal: AbortSignal },
  ): Promise<{ scores: number[]; model: ModelRef }> {
    const width = rows[0]?.length ?? 0;
    if (rows.length === 0 || rows.some((r) => r.length !== width))
      throw new Error('rows must be non-empty and equal-length');
    const body = {
      inputs: [
        { name: this.props.inputName ?? 'features', shape: [rows.length, width], datatype: 'FP32', data: rows.flat() },
      ],
    };
    const out = await this.props.client.send(
      new InvokeEndpointCommand({
        EndpointName: this.props.endpointName,
        ...(this.props.inferenceComponentName ? { InferenceComponentName: this.props.inferenceComponentName } : {}),
        ContentType: 'application/json',
        Accept: 'application/json',
        InferenceId: options.inferenceId,
        Body: new TextEncoder().encode(JSON.stringify(body)),
      }),
      { abortSignal: options.signal },
    );
    const text = new TextDecoder().decode(out.Body);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`model endpoint ${this.props.endpointName} returned non-JSON: ${text.slice(0, 200)}`);
    }
    const parsed = InferResponse.safeParse(json);
    if (!parsed.success) {
      throw new Error(
        `model endpoint ${this.props.endpointName} returned an invalid v2 response: ${z.prettifyError(parsed.error)}`,
      );
    }
    const outputName = this.props.outputName ?? 'score';
    const output = parsed.data.outputs.find((o) => o.name === outputName);
    if (!output) throw new Error(`model response has no output named '${outputName}'`);
    if (output.data.length !== rows.length) {
      throw new Error(`model returned ${output.data.length} scores for ${rows.length} rows`);
    }
    const bad = output.data.findIndex((s) => !(s >= 0 && s <= 1));
    if (bad !== -1) throw new Error(`model score ${output.data[bad]} at row ${bad} is not a probability`);
    return {
      scores: output.data,
      model: { name: parsed.data.model_name || this.props.modelName, version: parsed.data.model_version || 'unknown' },
    };
  }
}
