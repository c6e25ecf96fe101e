"""The model-independent half of every AIMS training script: arguments and SageMaker conventions, the CSV channel,
metrics, the early-stopping loop, ONNX export, the model card, metrics.json and the Model Monitor baseline.

A model's train.py defines only its network and loss (a `ModelSpec`) and calls `run(sys.argv[1:], spec)`. In the
repository this file lives in models/shared/python/ (train.py puts that folder on sys.path); in a SageMaker
script-mode source bundle it sits beside train.py. Needs only torch and numpy.
"""

import argparse
import copy
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time

# Must be set before CUDA initialises, or deterministic cuBLAS kernels refuse to run.
os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')

import numpy as np  # noqa: E402
import torch  # noqa: E402

HYPERPARAMETERS_FILE = '/opt/ml/input/config/hyperparameters.json'
ONNX_OPSET = 17
ALERT_RATES = (0.005, 0.01, 0.02, 0.05)
INPUT_NAME = 'features'
OUTPUT_NAME = 'score'
# The dataset column holding the baseline scorer's score (the bar the quality gate compares with).
BASELINE_COLUMN = 'rules_score'
DATASET_FILES = ('dataset.json', 'train.csv', 'validation.csv', 'test.csv')

# name -> (parser, default, help). SageMaker passes every hyperparameter as a string, so each value is parsed.
# A model's ModelSpec adds its own (network shape, loss weights) to these.
COMMON_HYPERPARAMETERS = {
    'epochs': (int, 40, 'maximum training epochs'),
    'min_epochs': (int, 3, 'epochs before early stopping may trigger'),
    'patience': (int, 5, 'epochs without a validation AUC-PR gain before stopping'),
    'batch_size': (int, 512, 'mini-batch size'),
    'learning_rate': (float, 2e-3, 'Adam learning rate'),
    'weight_decay': (float, 1e-5, 'Adam weight decay'),
    'threads': (int, 1, 'torch CPU threads'),
    'psi_bins': (int, 10, 'quantile bins per feature in baseline/psi-bins.json'),
    'drift_threshold': (float, 0.1, 'Model Monitor distribution comparison_threshold in constraints.json'),
    'model_name': (str, '', 'name recorded in the model card (default: the model spec name)'),
    'model_version': (str, '', 'version recorded in the model card (default: derived from the data and seed)'),
}
COMMON_ALIASES = {'lr': 'learning_rate'}


class TrainingError(Exception):
    """A problem with the inputs that the operator must fix; printed without a traceback."""


class ModelSpec:
    """What one model adds to the shared trainer.

    name: the model name recorded in the card by default. description: the script's --help text.
    hyperparameters / aliases: model-specific ones, same shape as COMMON_HYPERPARAMETERS.
    output_meaning: what the score means, for the model card.
    validate(config): raises TrainingError on a bad model-specific value.
    build(config, x_train, y_train, device) -> (model, loss_fn, info): a torch module whose forward() returns the
      served score [n, 1] and whose logits() the loss is computed on; info holds 'metrics' (extra metrics.json keys)
      and 'preprocessing' (recorded in the model card).
    """

    def __init__(self, name, description, hyperparameters, output_meaning, build, aliases=None, validate=None):
        self.name = name
        self.description = description
        self.hyperparameters = hyperparameters
        self.aliases = aliases or {}
        self.output_meaning = output_meaning
        self.build = build
        self.validate = validate or (lambda config: None)


def log(message):
    print(f'[train] {message}', flush=True)


# ---------------------------------------------------------------------------------------------------------------------
# configuration


def normalise_key(key):
    # Manifests use camelCase, SageMaker users kebab-case, Python snake_case: accept all three.
    out = []
    for ch in key.replace('-', '_'):
        if ch.isupper():
            out.append('_' + ch.lower())
        else:
            out.append(ch)
    return ''.join(out).lstrip('_')


def parse_args(argv, spec, hyperparameters):
    parser = argparse.ArgumentParser(description=spec.description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--train', default=os.environ.get('SM_CHANNEL_TRAIN'), help='channel dir (SM_CHANNEL_TRAIN)')
    parser.add_argument('--model-dir', default=os.environ.get('SM_MODEL_DIR'), help='output dir (SM_MODEL_DIR)')
    parser.add_argument('--output-data-dir', default=os.environ.get('SM_OUTPUT_DATA_DIR'), help='extra outputs')
    parser.add_argument('--seed', default=None, help='random seed (default 42)')
    parser.add_argument('--hyperparameters', default=HYPERPARAMETERS_FILE, help='SageMaker hyperparameters JSON')
    parser.add_argument('--reference-out', default=None, help='write torch inputs+scores on test rows as JSON')
    parser.add_argument('--reference-rows', type=int, default=64, help='rows in --reference-out')
    for name, (_, _, text) in hyperparameters.items():
        parser.add_argument('--' + name.replace('_', '-'), dest=name, default=None, help=text)
    return parser.parse_args(argv)


def resolve_config(args, spec, hyperparameters):
    """CLI args win over hyperparameters.json, which wins over defaults."""
    aliases = {**COMMON_ALIASES, **spec.aliases}
    raw = {}
    if args.hyperparameters and os.path.isfile(args.hyperparameters):
        with open(args.hyperparameters, encoding='utf-8') as f:
            for key, value in json.load(f).items():
                if key.startswith('sagemaker_'):
                    continue
                name = normalise_key(key)
                raw[aliases.get(name, name)] = value
    unknown = sorted(k for k in raw if k not in hyperparameters and k != 'seed')
    if unknown:
        raise TrainingError(
            f'unknown hyperparameter(s) {", ".join(unknown)} in {args.hyperparameters}; '
            f'expected any of: seed, {", ".join(hyperparameters)}'
        )
    for name in hyperparameters:
        cli_value = getattr(args, name)
        if cli_value is not None:
            raw[name] = cli_value
    if args.seed is not None:
        raw['seed'] = args.seed

    config = {}
    for name, (kind, default, _) in hyperparameters.items():
        value = raw.get(name, default)
        try:
            config[name] = kind(value)
        except (TypeError, ValueError):
            raise TrainingError(f"hyperparameter {name}: expected {kind.__name__}, got '{value}'") from None
    try:
        config['seed'] = int(raw.get('seed', 42))
    except (TypeError, ValueError):
        raise TrainingError(f"seed: expected an integer, got '{raw.get('seed')}'") from None
    for name in ('epochs', 'batch_size', 'threads', 'psi_bins'):
        if config[name] < 1:
            raise TrainingError(f'{name}: expected >= 1, got {config[name]}')
    config['model_name'] = config['model_name'] or spec.name
    spec.validate(config)
    return config


# ---------------------------------------------------------------------------------------------------------------------
# data


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def load_dataset_spec(channel):
    path = os.path.join(channel, 'dataset.json')
    if not os.path.isfile(path):
        raise TrainingError(f'missing {path}: the training channel must hold dataset.json and train/validation/test.csv')
    with open(path, encoding='utf-8') as f:
        spec = json.load(f)
    features = spec.get('features')
    if not isinstance(features, list) or not features or not all(isinstance(x, str) for x in features):
        raise TrainingError(f'{path}: expected "features" to be a non-empty list of names')
    if len(set(features)) != len(features):
        raise TrainingError(f'{path}: feature names repeat')
    spec.setdefault('label', 'label')
    return spec


def load_split(channel, split, spec):
    """Returns (X float32 [n, F], y float64 [n], baseline float64 [n] or None) for one CSV split."""
    path = os.path.join(channel, f'{split}.csv')
    if not os.path.isfile(path):
        raise TrainingError(f'missing {path}')
    with open(path, encoding='utf-8') as f:
        header = [h.strip() for h in f.readline().strip().split(',')]
    position = {name: i for i, name in enumerate(header)}
    missing = [c for c in spec['features'] + [spec['label']] if c not in position]
    if missing:
        raise TrainingError(f'{path}: header lacks column(s) {", ".join(missing)}; header is {",".join(header)}')
    in_file_order = [c for c in header if c in set(spec['features'])]
    if in_file_order != spec['features']:
        raise TrainingError(f'{path}: feature columns are not in dataset.json order')
    has_baseline = BASELINE_COLUMN in position
    columns = [position[c] for c in spec['features']] + [position[spec['label']]]
    if has_baseline:
        columns.append(position[BASELINE_COLUMN])
    try:
        data = np.loadtxt(path, delimiter=',', skiprows=1, usecols=columns, dtype=np.float64, ndmin=2, quotechar='"')
    except ValueError as err:
        raise TrainingError(f'{path}: cannot parse numeric columns: {err}') from None
    if data.shape[0] == 0:
        raise TrainingError(f'{path}: no rows')
    n_features = len(spec['features'])
    x = data[:, :n_features]
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise TrainingError(f'{path}: non-finite value in row {bad[0] + 1}, column {spec["features"][bad[1]]}')
    y = data[:, n_features]
    if not np.all((y == 0) | (y == 1)):
        raise TrainingError(f'{path}: label column "{spec["label"]}" must be 0 or 1')
    baseline = data[:, n_features + 1] if has_baseline else None
    return x.astype(np.float32), y, baseline


# ---------------------------------------------------------------------------------------------------------------------
# metrics (numpy only)


def average_precision(y, score):
    """AUC-PR as average precision; tied scores form one threshold, as in sklearn."""
    y = np.asarray(y, dtype=np.float64)
    positives = y.sum()
    if positives == 0:
        return float('nan')
    order = np.argsort(-score, kind='mergesort')
    s, yy = score[order], y[order]
    tp = np.cumsum(yy)
    # Last index of each run of tied scores.
    ends = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp_at, n_at = tp[ends], ends + 1.0
    recall = tp_at / positives
    precision = tp_at / n_at
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_auc(y, score):
    """ROC AUC via the Mann-Whitney U statistic with average ranks for ties."""
    y = np.asarray(y, dtype=np.float64)
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float('nan')
    order = np.argsort(score, kind='mergesort')
    s = score[order]
    ranks = np.empty(len(s), dtype=np.float64)
    starts = np.r_[0, np.nonzero(np.diff(s))[0] + 1]
    ends = np.r_[starts[1:], len(s)]
    for a, b in zip(starts, ends):
        ranks[a:b] = (a + b + 1) / 2.0
    rank_of = np.empty(len(s), dtype=np.float64)
    rank_of[order] = ranks
    return float((rank_of[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def at_alert_rate(y, score, rate):
    """Recall and precision when the top `rate` of rows (by score) raise an alert.

    The threshold is the score above which `rate` of rows fall. Rows tied at the threshold share the remaining alert
    budget pro rata, so a coarse score (like a rules score) gets neither more nor fewer than k alerts.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    k = max(1, int(math.ceil(rate * n)))
    positives = y.sum()
    order = np.argsort(-score, kind='mergesort')
    threshold = float(score[order[k - 1]])
    above = score > threshold
    tied = score == threshold
    budget = k - int(above.sum())
    tp = float(y[above].sum()) + budget * float(y[tied].sum()) / float(tied.sum())
    return {
        'threshold': threshold,
        'alerts': k,
        'recall': tp / positives if positives > 0 else float('nan'),
        'precision': tp / k,
    }


def score_metrics(y, score):
    out = {'aucPr': average_precision(y, score), 'rocAuc': roc_auc(y, score)}
    for rate in ALERT_RATES:
        at = at_alert_rate(y, score, rate)
        suffix = f'At{rate * 100:g}pct'.replace('.', '_')
        out['recall' + suffix] = at['recall']
        out['precision' + suffix] = at['precision']
        out['threshold' + suffix] = at['threshold']
    return out


# ---------------------------------------------------------------------------------------------------------------------
# training


def seed_everything(seed, threads):
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def predict(model, x, device, batch=65536):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(torch.from_numpy(x[i : i + batch]).to(device)).cpu().numpy()[:, 0])
    return np.concatenate(out).astype(np.float64)


def fit(model, loss_fn, config, x_train, y_train, x_val, y_val, device):
    """Adam on mini-batches, keeping the epoch with the best validation AUC-PR; stops after `patience` epochs without
    a gain. Returns the model at its best epoch (in eval mode) and the run's history."""
    optimiser = torch.optim.Adam(model.parameters(), lr=config['learning_rate'], weight_decay=config['weight_decay'])
    xt = torch.from_numpy(x_train).to(device)
    yt = torch.from_numpy(y_train.astype(np.float32)).reshape(-1, 1).to(device)
    generator = torch.Generator().manual_seed(config['seed'])

    best = {'aucPr': -1.0, 'epoch': 0, 'state': None}
    history = []
    epochs_run = 0
    for epoch in range(1, config['epochs'] + 1):
        model.train()
        order = torch.randperm(len(xt), generator=generator).to(device)
        # One gather per epoch, then contiguous slices: cheaper than fancy-indexing every mini-batch.
        xs, ys = xt[order], yt[order]
        total = 0.0
        for i in range(0, len(xs), config['batch_size']):
            xb, yb = xs[i : i + config['batch_size']], ys[i : i + config['batch_size']]
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(model.logits(xb), yb)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(xb)
        epochs_run = epoch
        val_ap = average_precision(y_val, predict(model, x_val, device))
        history.append({'epoch': epoch, 'trainLoss': total / len(xt), 'validationAucPr': val_ap})
        log(f'epoch {epoch:3d}  loss {total / len(xt):.5f}  validation AUC-PR {val_ap:.4f}')
        if val_ap > best['aucPr']:
            best = {'aucPr': val_ap, 'epoch': epoch, 'state': copy.deepcopy(model.state_dict())}
        elif epoch >= config['min_epochs'] and epoch - best['epoch'] >= config['patience']:
            log(f'early stop: no validation AUC-PR gain for {config["patience"]} epochs (best epoch {best["epoch"]})')
            break
    model.load_state_dict(best['state'])
    model.eval()
    return model, {
        'bestEpoch': best['epoch'],
        'epochs': epochs_run,
        'bestValidationAucPr': best['aucPr'],
        'history': history,
    }


def export_onnx(model, n_features, path):
    cpu_model = copy.deepcopy(model).to('cpu').eval()
    example = torch.zeros(2, n_features, dtype=torch.float32)
    torch.onnx.export(
        cpu_model,
        example,
        path,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: 'batch'}, OUTPUT_NAME: {0: 'batch'}},
        opset_version=ONNX_OPSET,
        do_constant_folding=True,
    )
    return cpu_model


# ---------------------------------------------------------------------------------------------------------------------
# monitoring baseline


def kll_sketch(values, k=2048):
    """A KLL sketch state: `values` summarised at the level whose weight 2^h keeps at most k items.

    Items at level h stand for 2^h rows each; we place evenly spaced order statistics there, which is what a KLL
    compactor converges to, so Model Monitor's quantile reader sees a sketch of the right shape and weight.
    """
    n = len(values)
    level = 0
    while n / (2**level) > k:
        level += 1
    sorted_values = np.sort(values)
    m = max(1, int(round(n / (2**level))))
    picks = sorted_values[np.minimum(((np.arange(m) + 0.5) * n / m).astype(np.int64), n - 1)]
    data = [[] for _ in range(level)] + [[float(v) for v in picks]]
    return {'parameters': {'c': 0.64, 'k': float(k)}, 'data': data}


def numerical_statistics(values):
    lo, hi = float(values.min()), float(values.max())
    # Model Monitor materialises 10 equal-width buckets; a constant column gets a unit-wide range around its value.
    edges = np.linspace(lo, hi, 11) if hi > lo else np.linspace(lo - 0.5, hi + 0.5, 11)
    counts = np.histogram(values, bins=edges)[0]
    buckets = [
        {'lower_bound': float(edges[i]), 'upper_bound': float(edges[i + 1]), 'count': float(counts[i])}
        for i in range(10)
    ]
    return {
        'common': {'num_present': int(len(values)), 'num_missing': 0},
        'mean': float(values.mean()),
        'sum': float(values.sum()),
        'std_dev': float(values.std()),
        'min': lo,
        'max': hi,
        'distribution': {'kll': {'buckets': buckets, 'sketch': kll_sketch(values)}},
    }


def psi_bins(values, bins):
    """Quantile cut points and the share of rows per bin; bins are (-inf,e0], (e0,e1], ..., (e_last, inf)."""
    cuts = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    index = np.searchsorted(cuts, values, side='left')
    counts = np.bincount(index, minlength=len(cuts) + 1)
    return {'edges': [float(c) for c in cuts], 'proportions': [float(c) / len(values) for c in counts]}


def write_baseline(out_dir, features, x, scores, config):
    os.makedirs(out_dir, exist_ok=True)
    x64 = x.astype(np.float64)
    statistics = {
        'version': 0.0,
        'dataset': {'item_count': int(len(x))},
        'features': [
            {'name': name, 'inferred_type': 'Fractional', 'numerical_statistics': numerical_statistics(x64[:, j])}
            for j, name in enumerate(features)
        ],
    }
    constraints = {
        'version': 0.0,
        'features': [
            {
                'name': name,
                'inferred_type': 'Fractional',
                'completeness': 1.0,
                'num_constraints': {'is_non_negative': bool(x64[:, j].min() >= 0)},
            }
            for j, name in enumerate(features)
        ],
        'monitoring_config': {
            'evaluate_constraints': 'Enabled',
            'emit_metrics': 'Enabled',
            'datatype_check_threshold': 1.0,
            'domain_content_threshold': 1.0,
            'distribution_constraints': {
                'perform_comparison': 'Enabled',
                'comparison_threshold': config['drift_threshold'],
                'comparison_method': 'Robust',
                'categorical_comparison_threshold': 0.1,
                'categorical_drift_method': 'LInfinity',
            },
        },
    }
    bins = {
        'version': 1,
        'source': 'train split',
        'binning': 'quantile',
        'intervals': 'right-closed: (-inf, edges[0]], (edges[0], edges[1]], ..., (edges[-1], +inf)',
        'rows': int(len(x)),
        'features': [{'name': name, **psi_bins(x64[:, j], config['psi_bins'])} for j, name in enumerate(features)],
        'prediction': {'name': OUTPUT_NAME, **psi_bins(scores, config['psi_bins'])},
    }
    for name, body in (('statistics.json', statistics), ('constraints.json', constraints), ('psi-bins.json', bins)):
        write_json(os.path.join(out_dir, name), body)


# ---------------------------------------------------------------------------------------------------------------------
# outputs


def write_json(path, body):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(body, f, indent=2, allow_nan=False)
        f.write('\n')


def finite(value):
    # JSON has no NaN; a metric that cannot be computed (no positives) is recorded as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def code_hashes(script):
    """sha256 of the training code (the model's script and this module), recorded in the model card so a cached
    model is reused only when both the data and the code that trained it are unchanged."""
    return {os.path.basename(p): sha256_file(p) for p in (os.path.abspath(script), os.path.abspath(__file__))}


def main(argv, spec, script):
    started = time.monotonic()
    hyperparameters = {**COMMON_HYPERPARAMETERS, **spec.hyperparameters}
    args = parse_args(argv, spec, hyperparameters)
    if not args.train:
        raise TrainingError('no training channel: pass --train <dir> or set SM_CHANNEL_TRAIN')
    if not args.model_dir:
        raise TrainingError('no model dir: pass --model-dir <dir> or set SM_MODEL_DIR')
    config = resolve_config(args, spec, hyperparameters)
    seed_everything(config['seed'], config['threads'])
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    log(f'torch {torch.__version__} on {device}, seed {config["seed"]}, threads {config["threads"]}')

    dataset = load_dataset_spec(args.train)
    features = dataset['features']
    splits = {name: load_split(args.train, name, dataset) for name in ('train', 'validation', 'test')}
    x_train, y_train, _ = splits['train']
    x_val, y_val, _ = splits['validation']
    x_test, y_test, baseline_test = splits['test']
    loaded = time.monotonic()
    log(
        f'{len(features)} features; rows train {len(x_train)} ({int(y_train.sum())} positive), '
        f'validation {len(x_val)} ({int(y_val.sum())}), test {len(x_test)} ({int(y_test.sum())})'
    )
    if y_train.sum() == 0:
        raise TrainingError('the training split has no positive labels')
    if y_val.sum() == 0:
        raise TrainingError('the validation split has no positive labels; early stopping on AUC-PR needs some')

    model, loss_fn, built = spec.build(config, x_train, y_train, device)
    model, training = fit(model, loss_fn, config, x_train, y_train, x_val, y_val, device)
    trained = time.monotonic()

    os.makedirs(args.model_dir, exist_ok=True)
    onnx_path = os.path.join(args.model_dir, 'model.onnx')
    cpu_model = export_onnx(model, len(features), onnx_path)

    test_scores = predict(cpu_model, x_test, 'cpu')
    metrics = {
        'model': score_metrics(y_test, test_scores),
        'rules': score_metrics(y_test, baseline_test) if baseline_test is not None else None,
        'bestEpoch': training['bestEpoch'],
        'epochs': training['epochs'],
        'bestValidationAucPr': training['bestValidationAucPr'],
        **built.get('metrics', {}),
        'rows': {
            'train': int(len(x_train)),
            'validation': int(len(x_val)),
            'test': int(len(x_test)),
            'trainPositives': int(y_train.sum()),
            'validationPositives': int(y_val.sum()),
            'testPositives': int(y_test.sum()),
        },
        'seed': config['seed'],
        'history': training['history'],
    }
    if metrics['rules'] is not None and metrics['rules']['recallAt1pct']:
        metrics['recallLiftAt1pct'] = metrics['model']['recallAt1pct'] / metrics['rules']['recallAt1pct']

    file_hashes = {name: sha256_file(os.path.join(args.train, name)) for name in DATASET_FILES}
    dataset_sha = hashlib.sha256(''.join(f'{n}:{h}\n' for n, h in file_hashes.items()).encode()).hexdigest()
    card_hyperparameters = {k: v for k, v in config.items() if k not in ('model_name', 'model_version')}
    card = {
        'name': config['model_name'],
        'version': config['model_version'] or f'{dataset_sha[:12]}-s{config["seed"]}',
        'features': features,
        'label': dataset['label'],
        'input': {'name': INPUT_NAME, 'dtype': 'float32', 'shape': [-1, len(features)]},
        'output': {'name': OUTPUT_NAME, 'dtype': 'float32', 'shape': [-1, 1], 'meaning': spec.output_meaning},
        'framework': f'pytorch {torch.__version__}',
        'opset': ONNX_OPSET,
        'seed': config['seed'],
        'dataset': {'sha256': dataset_sha, 'files': file_hashes, 'id': dataset.get('id') or dataset.get('datasetId')},
        'code': code_hashes(script),
        'hyperparameters': card_hyperparameters,
        'preprocessing': built.get('preprocessing', {}),
        'modelSha256': sha256_file(onnx_path),
        'metrics': {k: metrics['model'][k] for k in ('aucPr', 'rocAuc', 'recallAt1pct', 'precisionAt1pct')},
    }
    write_json(os.path.join(args.model_dir, 'model-card.json'), finite(card))

    write_baseline(
        os.path.join(args.model_dir, 'baseline'), features, x_train, predict(cpu_model, x_train, 'cpu'), config
    )
    finished = time.monotonic()
    metrics['timing'] = {
        'loadSeconds': round(loaded - started, 3),
        'trainSeconds': round(trained - loaded, 3),
        'totalSeconds': round(finished - started, 3),
    }
    write_json(os.path.join(args.model_dir, 'metrics.json'), finite(metrics))

    if args.reference_out:
        rows = x_test[: args.reference_rows]
        with torch.no_grad():
            reference = cpu_model(torch.from_numpy(rows)).numpy()
        write_json(
            args.reference_out,
            {
                'features': features,
                'inputs': [[float(v) for v in row] for row in rows],
                'scores': [float(v) for v in reference[:, 0]],
            },
        )

    if args.output_data_dir:
        os.makedirs(args.output_data_dir, exist_ok=True)
        shutil.copy(os.path.join(args.model_dir, 'metrics.json'), args.output_data_dir)
        shutil.copytree(
            os.path.join(args.model_dir, 'baseline'), os.path.join(args.output_data_dir, 'baseline'), dirs_exist_ok=True
        )

    m, r = metrics['model'], metrics['rules'] or {}
    log(
        f'test AUC-PR {m["aucPr"]:.4f}, ROC AUC {m["rocAuc"]:.4f}, recall@1% {m["recallAt1pct"]:.4f} '
        f'(baseline {r.get("recallAt1pct", float("nan")):.4f}); best epoch {training["bestEpoch"]}/{training["epochs"]}; '
        f'train {trained - loaded:.1f}s, total {finished - started:.1f}s'
    )
    log(f'wrote {onnx_path}, model-card.json, metrics.json, baseline/ in {args.model_dir}')


def run(argv, spec, script):
    """The script's entry point: runs `main`, and turns a TrainingError into one line on stderr and exit code 2."""
    try:
        main(argv, spec, script)
    except TrainingError as err:
        print(f'{os.path.basename(script)}: error: {err}', file=sys.stderr)
        sys.exit(2)
