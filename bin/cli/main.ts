// The operator CLI (`npx aims …`): commander wiring, global options, and the one place errors become exit codes
// (0 ok, 1 failure, 2 usage).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CLIENTS, decisionsGetCommand, healthCommand, scoreCommand, tokenCommand } from './commands/basic.js';
import {
  driftStatusCommand,
  modelsApproveCommand,
  modelsListCommand,
  modelsRetrainCommand,
  modelsRollbackCommand,
} from './commands/models.js';
import { Context, DEFAULT_LOCAL_URL, type GlobalOptions } from './context.js';
import { CliError } from './errors.js';
import { consoleOutput, type Output } from './output.js';

const HELP_FOOTER = `
Targets:
  By default the CLI talks to the local stage (\`npm start\`): its URL and OAuth2 client credentials are read from
  <data-dir>/api/clients.json (data dir: --data-dir, else $AIMS_DATA_DIR, else .aims in the repository).
  For a deployed stage pass --url (the stack's API URL, https://<api-id>.execute-api.<region>.amazonaws.com/<stage>),
  --token-url https://<cognito-domain>/oauth2/token, --client-id and --client-secret (or AIMS_URL, AIMS_TOKEN_URL, AIMS_CLIENT_ID, AIMS_CLIENT_SECRET).
  No AWS credentials are needed, nor an API key: every command goes through the API with an OAuth2 client-credentials
  token, and the authorizer meters it on the client's own usage-plan key.

Clients (the defaults per command): score → ${DEFAULT_CLIENTS.score}, decisions → ${DEFAULT_CLIENTS.read},
  models/drift → ${DEFAULT_CLIENTS.admin}; override with --client <name>.

Exit codes: 0 ok, 1 failure, 2 usage error.
`;

function positiveNumber(label: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${label} must be a positive number`);
    return n;
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Builds the program; `run` receives (context, output) for the command's action. */
export function buildProgram(): Command {
  const program = new Command('aims')
    .description('Operate an AIMS stage: tokens, scoring, audit records, the model lifecycle and drift.')
    .version('0.1.0', '-V, --version')
    .option('--url <url>', `API base URL (default: the local stage's, else ${DEFAULT_LOCAL_URL})`)
    .option(
      '--data-dir <dir>',
      'local stage data dir holding its client credentials (default: $AIMS_DATA_DIR or .aims)',
    )
    .option('--client <name>', 'OAuth2 client (local stage) to act as; each command has its default')
    .option('--token <jwt>', 'use this bearer token instead of minting one (or $AIMS_TOKEN)')
    .option('--token-url <url>', 'OAuth2 token endpoint of a deployed stage (or $AIMS_TOKEN_URL)')
    .option('--client-id <id>', 'OAuth2 client id for a deployed stage (or $AIMS_CLIENT_ID)')
    .option('--client-secret <secret>', 'OAuth2 client secret for a deployed stage (or $AIMS_CLIENT_SECRET)')
    .option('--request-timeout <seconds>', 'per-request timeout', positiveNumber('--request-timeout'), 30)
    .option('--json', 'print machine-readable JSON (errors as JSON on stderr)')
    .option('-q, --quiet', 'print only the result (no notes, no progress bar)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', HELP_FOOTER);

  const action =
    (fn: (ctx: Context, out: Output, ...args: never[]) => Promise<void>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      const ctx = new Context(globals);
      const out = consoleOutput(ctx.quiet || ctx.json);
      // commander passes (positional…, options, command); our handlers take (ctx, out, positional…, options).
      await (fn as (...a: unknown[]) => Promise<void>)(ctx, out, ...args.slice(0, -1));
    };

  program
    .command('token')
    .description(`mint an OAuth2 client-credentials token (default client ${DEFAULT_CLIENTS.token}) and print it`)
    .option(
      '--scope <scope>',
      'scope to request, e.g. score or aims/read (repeatable; default: all of the client)',
      collect,
    )
    .addHelpText('after', '\nExample:  TOKEN=$(npx aims token --client analyst-console --scope read)')
    .action(action((ctx, out, options: { scope?: string[] }) => tokenCommand(ctx, out, options)));

  program
    .command('health')
    .description('check that the API answers (GET /v1/health, no token)')
    .action(action((ctx, out) => healthCommand(ctx, out)));

  program
    .command('score')
    .description('score one transaction from flags or a JSON file, print the decision and its explanation')
    .option('--file <path>', 'transaction JSON (- for stdin); flags override its fields')
    .option('--id <transactionId>', 'transaction id (default: a fresh cli-<uuid>)')
    .option('--customer <id>', 'customer id')
    .option('--merchant <id>', 'merchant id')
    .option('--amount <amount>', 'amount in the major unit, e.g. 42.5', positiveNumber('--amount'))
    .option('--currency <code>', 'ISO 4217 currency (default EUR)')
    .option('--country <code>', 'ISO 3166 alpha-2 country (default DE)')
    .option('--category <category>', 'merchant category, e.g. grocery, electronics, gambling')
    .option('--channel <channel>', 'card_present | online | contactless (default card_present)')
    .option('--device <id>', 'device id')
    .option('--timestamp <iso>', 'when it happened, ISO 8601 with zone (default: now)')
    .addOption(new Option('--top <n>', 'explanation rows to show').argParser(positiveNumber('--top')).default(5))
    .addHelpText(
      'after',
      '\nExamples:\n  npx aims score --customer c-1 --merchant m-1 --amount 42.5 --category grocery\n' +
        '  npx aims score --file tx.json --json\n  cat tx.json | npx aims score --file -',
    )
    .action(action((ctx, out, options: Parameters<typeof scoreCommand>[2]) => scoreCommand(ctx, out, options)));

  const decisions = program.command('decisions').description('audit records of decisions');
  decisions
    .command('get')
    .description(`read the audit record of a transaction (default client ${DEFAULT_CLIENTS.read})`)
    .argument('<transactionId>', 'the scored transaction')
    .addOption(new Option('--top <n>', 'explanation rows to show').argParser(positiveNumber('--top')).default(5))
    .action(action((ctx, out, id: string, options: { top: number }) => decisionsGetCommand(ctx, out, id, options)));

  const models = program
    .command('models')
    .description(`the model lifecycle (admin routes, default client ${DEFAULT_CLIENTS.admin})`);
  models
    .command('list')
    .description('list models and their versions (GET /v1/models)')
    .action(action((ctx, out) => modelsListCommand(ctx, out)));
  models
    .command('retrain')
    .description('start a retraining run (POST /v1/models/{name}/retrain)')
    .argument('<name>', 'model name, e.g. fraud-detector')
    .option('--reason <text>', 'why, recorded with the run')
    .option('--wait', 'poll until the run ends, with a progress bar')
    .option('--timeout <seconds>', 'give up waiting after this long', positiveNumber('--timeout'), 3600)
    .option('--interval <seconds>', 'seconds between polls', positiveNumber('--interval'), 5)
    .action(
      action((ctx, out, name: string, options: Parameters<typeof modelsRetrainCommand>[3]) =>
        modelsRetrainCommand(ctx, out, name, options),
      ),
    );
  models
    .command('approve')
    .description('approve a registered version for deployment (POST /v1/models/{name}/versions/{version}/approve)')
    .argument('<name>', 'model name')
    .argument('<version>', 'version to approve')
    .action(action((ctx, out, name: string, version: string) => modelsApproveCommand(ctx, out, name, version)));
  models
    .command('rollback')
    .description('roll back to the previous approved version (POST /v1/models/{name}/rollback)')
    .argument('<name>', 'model name')
    .action(action((ctx, out, name: string) => modelsRollbackCommand(ctx, out, name)));

  const drift = program.command('drift').description('model drift');
  drift
    .command('status')
    .description('latest drift measurements of a model, and its last windows (GET /v1/models/{name}/drift)')
    .argument('<name>', 'model name')
    .option('--history <n>', 'how many windows to list, newest first', positiveNumber('--history'), 6)
    .action(
      action((ctx, out, name: string, options: { history: number }) =>
        driftStatusCommand(ctx, out, name, options.history),
      ),
    );

  return program;
}

function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json');
}

function reportError(error: CliError, json: boolean): void {
  if (json) process.stderr.write(`${JSON.stringify({ error: { message: error.message, ...error.info } })}\n`);
  else process.stderr.write(`✖ ${error.message}\n`);
}

/** Runs the CLI on `argv` (process.argv shape) and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const json = wantsJson(argv);
  // Every command and subcommand: throw instead of exiting, so exit codes are decided here.
  const override = (command: Command) => {
    command.exitOverride();
    for (const sub of command.commands) override(sub);
  };
  override(program);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version were asked for; anything else commander rejects is a usage error (already printed).
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (json) process.stderr.write(`${JSON.stringify({ error: { message: error.message, code: 'usage' } })}\n`);
      return 2;
    }
    if (error instanceof CliError) {
      reportError(error, json);
      return error.exitCode;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    reportError(new CliError(`unexpected error (a bug in the CLI; please report it): ${message}`), json);
    return 1;
  }
}
