"""Model Monitor record preprocessor: turns one captured Open Inference Protocol v2 JSON record into feature rows.

The endpoint receives {"inputs":[{"name":"features","shape":[n,F],"data":[...]}]} and answers
{"outputs":[{"name":"score","shape":[n,1],"data":[...]}]}; the analyzer needs one flat dict per row, named by feature.
FEATURE_NAMES (comma-separated, model-input order) comes from the job definition's environment.
"""

import json
import os

FEATURES = [name for name in os.environ.get('FEATURE_NAMES', '').split(',') if name]


def _tensor(payload, key):
    body = json.loads(payload) if isinstance(payload, str) else payload
    tensors = body.get(key) or []
    if not tensors:
        return [], [0, 0]
    tensor = tensors[0]
    return tensor.get('data') or [], tensor.get('shape') or [0, 0]


def preprocess_handler(inference_record):
    data, shape = _tensor(inference_record.endpoint_input.data, 'inputs')
    rows, width = int(shape[0]), int(shape[1]) if len(shape) > 1 else 1
    if width != len(FEATURES) or len(data) != rows * width:
        raise ValueError(f'captured input shape {shape} does not match {len(FEATURES)} features')
    scores = []
    if inference_record.endpoint_output is not None:
        scores, _ = _tensor(inference_record.endpoint_output.data, 'outputs')
    if rows < 1:
        return []
    # Row 0 is the scored transaction; the scorer appends one occlusion row per feature after it, which are
    # perturbations for the explanation, not traffic, so they stay out of the monitored distribution.
    row = {name: data[j] for j, name in enumerate(FEATURES)}
    if scores:
        row['score'] = scores[0]
    return [row]
