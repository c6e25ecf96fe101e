#!/usr/bin/env python3
"""Trains the fraud-detector MLP and writes model.onnx, model-card.json, metrics.json and a Model Monitor baseline.

Runs unchanged locally (`/usr/bin/python3 train.py --train <dir> --model-dir <dir> --seed 7`) and as a SageMaker
training job (SM_CHANNEL_TRAIN, SM_MODEL_DIR, SM_OUTPUT_DATA_DIR, /opt/ml/input/config/hyperparameters.json).
Needs only torch and numpy (Debian's python3-torch / python3-numpy); no sklearn, no onnx package. This file holds
what is fraud-specific (the network, its loss weighting); the rest is models/shared/python/aims_training.py.
"""

import math
import os
import sys

# In the repository the shared trainer is models/shared/python/; in a SageMaker source bundle it sits beside this file
# (the script's own folder is already first on sys.path).
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'shared', 'python'))
# Run in place, importing it must not leave a __pycache__ in the source tree.
sys.dont_write_bytecode = True

import aims_training as shared  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from aims_training import TrainingError  # noqa: E402
from torch import nn  # noqa: E402

HYPERPARAMETERS = {
    'hidden_units': (str, '64,32', 'comma-separated hidden layer widths'),
    'dropout': (float, 0.1, 'dropout after each hidden layer'),
    'pos_weight': (str, 'auto', "positive-class loss weight, or 'auto' = min(neg/pos, pos_weight_cap)"),
    'pos_weight_cap': (float, 50.0, "upper bound for the 'auto' positive weight"),
}
ALIASES = {'hidden_layers': 'hidden_units'}


class FraudMlp(nn.Module):
    """Raw features in, fraud probability out; standardisation and prior correction live inside the graph."""

    def __init__(self, n_features, hidden, dropout, mean, std, logit_offset):
        super().__init__()
        self.register_buffer('mean', torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1))
        self.register_buffer('inv_std', torch.as_tensor(1.0 / std, dtype=torch.float32).reshape(1, -1))
        # pos_weight shifts the optimal logit by log(pos_weight); subtracting it makes the score a probability again.
        self.register_buffer('logit_offset', torch.tensor([float(logit_offset)], dtype=torch.float32))
        layers = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def logits(self, x):
        return self.net((x - self.mean) * self.inv_std)

    def forward(self, x):
        return torch.sigmoid(self.logits(x) - self.logit_offset)


def hidden_widths(config):
    try:
        hidden = [int(x) for x in config['hidden_units'].split(',') if x.strip()]
    except ValueError:
        raise TrainingError(f"hidden_units: expected widths like '64,32', got '{config['hidden_units']}'") from None
    if not hidden or min(hidden) < 1:
        raise TrainingError(f"hidden_units: expected positive widths like '64,32', got '{config['hidden_units']}'")
    return hidden


def validate(config):
    hidden_widths(config)
    if config['pos_weight'] != 'auto':
        try:
            if float(config['pos_weight']) <= 0:
                raise ValueError
        except ValueError:
            raise TrainingError(f"pos_weight: expected 'auto' or a positive number, got '{config['pos_weight']}'") from None


def build(config, x_train, y_train, device):
    mean = x_train.astype(np.float64).mean(axis=0)
    std = x_train.astype(np.float64).std(axis=0)
    # Constant columns would divide by zero; leave them centred but unscaled.
    std = np.where(std > 1e-12, std, 1.0)
    positives = float(y_train.sum())
    negatives = float(len(y_train) - positives)
    if config['pos_weight'] == 'auto':
        pos_weight = min(negatives / positives, config['pos_weight_cap'])
    else:
        pos_weight = float(config['pos_weight'])
    model = FraudMlp(x_train.shape[1], hidden_widths(config), config['dropout'], mean, std, math.log(pos_weight))
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([pos_weight], device=device))
    return (
        model.to(device),
        loss_fn,
        {
            'metrics': {'posWeight': pos_weight},
            'preprocessing': {
                'inGraph': 'standardise with train-split mean/std, then score = sigmoid(logit - log(posWeight))',
                'mean': mean.tolist(),
                'std': std.tolist(),
                'posWeight': pos_weight,
            },
        },
    )


SPEC = shared.ModelSpec(
    name='fraud-detector',
    description=__doc__,
    hyperparameters=HYPERPARAMETERS,
    aliases=ALIASES,
    output_meaning='fraud probability',
    build=build,
    validate=validate,
)

if __name__ == '__main__':
    shared.run(sys.argv[1:], SPEC, __file__)
