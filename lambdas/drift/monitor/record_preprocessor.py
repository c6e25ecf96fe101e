"""Model Monitor record preprocessor: turns one captured Open Inference Protocol v2 JSON record into feature rows.

The endpoint receives {"inputs":[{"name":"features","shape":[n,F],"data":[...]}]} and answers
{"outputs":[{"name":"score","shape":[n,1],"data":[...]}]}; the analyzer needs one flat dict per row, named by feature.
The feature names (model-input order) come from the job definition's environment as FEATURE_NAMES_0, FEATURE_NAMES_1,
… (comma-separated; SageMaker caps each value at 256 characters, so the construct splits the list between names).
"""

import json
import os

PREFIX = 'FEATURE_NAMES_'


def feature_names(environ):
    """The names of FEATURE_NAMES_0..n joined in index order; a gap in the numbering is an error, not a truncation."""
    indices = sorted(int(key[len(PREFIX):]) for key in environ if key.startswith(PREFIX) and key[len(PREFIX):].isdigit())
    if indices != list(range(len(indices))):
        raise ValueError(f'{PREFIX}* must be numbered 0..n without gaps, got {indices}')
    return [name for i in indices for name in environ[f'{PREFIX}{i}'].split(',') if name]


FEATURES = feature_names(os.environ)


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
