// Lambda entry for POST /v1/models/<name>/labels: one function per labelled model, its module bundled through the
// `@aims/model-module` alias; the assembly is in app.ts.
import model from '@aims/model-module';
import { createLabelsHandler, labelsDepsFromEnv } from './app.js';

export const handler = createLabelsHandler(labelsDepsFromEnv(model));
