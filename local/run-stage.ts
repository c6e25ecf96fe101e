// The local stage as `npm start` runs it (entry: ./start.ts): synthesizes the dev stage when its inputs changed (else
// reuses it) and runs it here until Ctrl-C.
import { parseArgs } from 'node:util';
import { readLocalUsers } from './api/index.js';
import { LOCAL_ASSEMBLY_DIR } from './assembly.js';
import { ensureConsoleBuilt } from './console-build.js';
import { defaultDataDir, ROOT, runProjectCommand, startLocalStage } from './stage.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    synth: { type: 'boolean', default: false },
    'no-synth': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: npm start -- [--port N] [--data-dir DIR] [--synth | --no-synth]

  --port N         API port (default: $AIMS_PORT or 3000)
  --data-dir DIR   where all local state lives (default: $AIMS_DATA_DIR or .aims)
  (neither)        synthesize the dev stage alone into ${LOCAL_ASSEMBLY_DIR}/ when an input changed since the last
                   synth there (sources, models, cdk.json, lockfile, AIMS_<STAGE>_* variables, Node/CDK versions),
                   else reuse it
  --synth          synthesize even when nothing changed
  --no-synth       run the dev stage in cdk.out/ as \`npm run synth\` left it, without checking it
`);
  process.exit(0);
}
if (values.synth && values['no-synth']) {
  process.stderr.write('--synth and --no-synth contradict each other: give one\n');
  process.exit(2);
}
const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
  process.stderr.write(`--port must be an integer from 0 to 65535, got '${values.port}'\n`);
  process.exit(2);
}

const started = Date.now();
// The synth takes console/dist as an asset, and the local API serves it at /console/.
await ensureConsoleBuilt(ROOT, runProjectCommand, (line) => process.stdout.write(`${line}\n`)).catch(
  (error: unknown) => {
    process.stderr.write(`\n✖ the console did not build: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
const stage = await startLocalStage({
  dataDir: values['data-dir'] ?? defaultDataDir(),
  ...(port !== undefined ? { port } : {}),
  synth: values['no-synth'] ? false : values.synth ? 'always' : true,
}).catch((error: unknown) => {
  process.stderr.write(
    `\n✖ the local stage did not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});

const creds = stage.api.credentials();
const client = creds.clients.find((c) => c.name === 'merchant-gateway') ?? creds.clients[0];
const functions = stage.runtime.functions.length;
const lines = [
  '',
  `✔ AIMS local stage ready in ${stage.readySeconds.toFixed(1)} s (${((Date.now() - started) / 1000).toFixed(1)} s in all)`,
  `  API      ${stage.url}        docs ${stage.url}/docs/   OpenAPI ${stage.url}/openapi.json`,
  `  console  ${stage.url}/console/`,
  `  running  ${functions} functions, ${stage.services.provisioned.tables.length} tables, ${stage.services.provisioned.streams.length} stream, ${stage.services.provisioned.buckets.length} buckets, ${stage.servedModels.length} model endpoints at ${stage.endpoints.sagemakerRuntime}`,
  ...stage.servedModels.map((m) => `  endpoint ${m.endpointName} → ${m.name}`),
  `  state    ${stage.dataDir}   (logs in ${stage.dataDir}/logs)`,
  '',
  '  Get a client token (OAuth2 client credentials) and score a transaction:',
];
if (client) {
  lines.push(
    `    TOKEN=$(curl -s -u ${client.clientId}:${client.clientSecret} -d grant_type=client_credentials ${client.tokenUrl} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
    `    curl -s ${stage.url}/v1/score -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
    `      -d '{"transactionId":"t-1","customerId":"c-1","merchantId":"m-1","merchantCategory":"grocery","amount":42.5,"currency":"EUR","country":"DE","channel":"card_present","timestamp":"${new Date().toISOString()}"}'`,
    '',
    `  Clients: ${creds.clients.map((c) => `${c.name} (${c.scopes.join(' ')})`).join(', ')}; their ids and secrets are in ${stage.dataDir}/api/clients.json.`,
    '  Demo traffic: `npm run demo` in another terminal.  Stop: Ctrl-C.',
    '',
    `  Sign in to the console (${stage.url}/console/) as:`,
    ...readLocalUsers(stage.dataDir).map((u) => `    ${u.username.padEnd(9)} ${u.password}   (${u.groups.join(', ')})`),
  );
}
process.stdout.write(`${lines.join('\n')}\n`);

// Ctrl-C sends SIGINT to the whole foreground group: to us, to the backends and model servers (they ignore it and
// wait for us to stop them) and to npm, which forwards it to us once more; one press is one stop request.
const SAME_PRESS_MS = 500;
/** The stop budget: past it, something is hung and we exit anyway (the children end with us, see local/backends). */
const STOP_DEADLINE_MS = 5_000;
let stopRequested: number | undefined;
const stop = (signal: NodeJS.Signals) => {
  const now = Date.now();
  if (stopRequested !== undefined) {
    if (now - stopRequested < SAME_PRESS_MS) return;
    process.stderr.write(`\n${signal} again: exiting now; abandoned while ${stage.closingStep()}.\n`);
    process.exit(130);
  }
  stopRequested = now;
  process.stdout.write(`\n${signal}: stopping the local stage (again to force)…\n`);
  setTimeout(() => {
    process.stderr.write(`the stop took over ${STOP_DEADLINE_MS / 1000} s; exiting while ${stage.closingStep()}.\n`);
    process.exit(1);
  }, STOP_DEADLINE_MS).unref();
  stage
    .close()
    .then(() => {
      process.stdout.write(
        `stopped in ${((Date.now() - now) / 1000).toFixed(1)} s; state kept in the data directory.\n`,
      );
      process.exit(0);
    })
    .catch((error: unknown) => {
      process.stderr.write(`error while stopping: ${String(error)}\n`);
      process.exit(1);
    });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// Supervised by ./start.ts (launched by the tsx CLI): if the supervisor dies, stop as on SIGTERM, never outlive it.
if (process.send) process.once('disconnect', () => stop('SIGTERM'));
