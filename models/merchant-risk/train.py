#!/usr/bin/env python3
"""Trains the merchant-risk model (probability that a merchant is compromised within the next 24 h, from one day of
its aggregates) and writes model.onnx, model-card.json, metrics.json and a Model Monitor baseline.

Runs locally (`/usr/bin/python3 train.py --train <dir> --model-dir <dir> --seed 7`) and as a SageMaker training job.
The network is a logistic layer beside one small hidden layer (wide and deep): merchant-days are few and the signal
is a handful of shares, so capacity stays small. Everything else is models/shared/python/aims_training.py.
"""

import math
import os
import sys

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'shared', 'python'))
sys.dont_write_bytecode = True

import aims_training as shared  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from aims_training import TrainingError  # noqa: E402
from torch import nn  # noqa: E402

HYPERPARAMETERS = {
    'hidden': (int, 16, 'width of the hidden layer beside the logistic one (0 = plain logistic regression)'),
    'pos_weight_cap': (float, 20.0, 'upper bound of the positive-class loss weight (neg/pos)'),
}


class WideAndDeep(nn.Module):
    """Raw merchant-day features in, compromise probability out; scaling and prior correction are in the graph."""

    def __init__(self, mean, std, hidden, logit_offset):
        super().__init__()
        n = len(mean)
        self.register_buffer('center', torch.tensor(mean, dtype=torch.float32).unsqueeze(0))
        self.register_buffer('scale', torch.tensor(1.0 / std, dtype=torch.float32).unsqueeze(0))
        self.register_buffer('offset', torch.tensor([logit_offset], dtype=torch.float32))
        self.wide = nn.Linear(n, 1)
        self.deep = nn.Sequential(nn.Linear(n, hidden), nn.Tanh(), nn.Linear(hidden, 1)) if hidden > 0 else None

    def logits(self, x):
        z = (x - self.center) * self.scale
        return self.wide(z) if self.deep is None else self.wide(z) + self.deep(z)

    def forward(self, x):
        # The weighted loss moves the optimum by log(pos_weight); taking it back off gives a calibrated probability.
        return torch.sigmoid(self.logits(x) - self.offset)


def validate(config):
    if config['hidden'] < 0:
        raise TrainingError(f'hidden: expected >= 0, got {config["hidden"]}')
    if config['pos_weight_cap'] < 1:
        raise TrainingError(f'pos_weight_cap: expected >= 1, got {config["pos_weight_cap"]}')


def build(config, x_train, y_train, device):
    x = x_train.astype(np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std < 1e-12] = 1.0
    positives = float(y_train.sum())
    pos_weight = min((len(y_train) - positives) / positives, config['pos_weight_cap'])
    model = WideAndDeep(mean.tolist(), std, config['hidden'], math.log(pos_weight)).to(device)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([pos_weight], device=device))
    preprocessing = {
        'inGraph': 'z = (x - mean) / std; score = sigmoid(wide(z) + deep(z) - log(posWeight))',
        'mean': mean.tolist(),
        'std': std.tolist(),
        'posWeight': pos_weight,
    }
    return model, loss_fn, {'metrics': {'posWeight': pos_weight}, 'preprocessing': preprocessing}


SPEC = shared.ModelSpec(
    name='merchant-risk',
    description=__doc__,
    hyperparameters=HYPERPARAMETERS,
    output_meaning='probability that the merchant is compromised within the next 24 h',
    build=build,
    validate=validate,
)

if __name__ == '__main__':
    shared.run(sys.argv[1:], SPEC, __file__)
