// The lake seeding and drift traffic are the transaction simulator's: they feed a model that reads its features and
// refuse one that does not (a second model in the template is never sent fraud rows).
import { join } from 'node:path';
import { loadManifest } from '../../../models/shared/manifest.js';
import { ROOT } from '../../stage.js';
import { assertSimulatorFeeds } from '../lake.js';

describe('GIVEN the simulator behind the local lake', () => {
  it('THEN it feeds the fraud model and refuses the merchant-risk model, naming it', () => {
    expect(() => assertSimulatorFeeds(loadManifest(join(ROOT, 'models', 'fraud-detector')))).not.toThrow();
    expect(() => assertSimulatorFeeds(loadManifest(join(ROOT, 'models', 'merchant-risk')))).toThrow(
      /^merchant-risk does not read the transaction simulator's features/,
    );
  });
});
