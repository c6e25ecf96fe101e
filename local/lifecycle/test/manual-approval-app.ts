// The dev stage with one change, Prod's manual model approval, for the local manual-approval test: the same
// constructs and props as bin/aims.ts builds for Dev (lib/app.ts), only `lifecycle.approval` differs, with an approval
// timeout the test gives as context (`-c approvalTimeoutSeconds=N`), so the unapproved run's timeout can be watched. The test
// synthesizes it with the CDK CLI (cdk.json's context and feature flags apply) into an assembly under test/.tmp that
// is reused while its inputs are unchanged (manualApprovalAssembly in ./support.ts).
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { API_CLIENTS } from '../../../lib/config/api-clients.js';
import { resolveEnvironment } from '../../../lib/config/environments.js';
import { loadModels } from '../../../lib/config/models.js';
import { PROJECT_ROOT } from '../../../lib/constructs/service-function.js';
import { AimsStage } from '../../../lib/stages/aims-stage.js';

const dev = resolveEnvironment('Dev', process.env);
const app = new App();
const approvalTimeoutSeconds = Number(app.node.getContext('approvalTimeoutSeconds'));
new AimsStage(app, 'Dev', {
  config: { ...dev, lifecycle: { ...dev.lifecycle, approval: 'manual', approvalTimeoutSeconds } },
  models: await loadModels(path.join(PROJECT_ROOT, 'models')),
  clients: API_CLIENTS,
});
app.synth();
