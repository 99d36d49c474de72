/**
 * How `tandem` runs a subcommand: finds it among the commands it is given,
 * loads only that command's module, parses its flags strictly, and turns
 * errors into a one-line message and an exit code (2 for usage errors). The command list itself is composed in
 * replicator/cli/tandem.ts, the one place that joins the job server's
 * commands (this folder) with the replicator's: server/ never imports
 * replicator/ (checked by test/layout.test.ts).
 */
import { parseArgs } from 'node:util';
import { productVersion } from '../app/version.js';
import { loadConfig } from '../config/load.js';
import { createConfigurableLogger } from '../log.js';
import { EXIT_CODES, TandemError, type ExitCode, errorMessage, isTandemError } from '../errors.js';
import type { CommandEntry, FlagSpec } from './command.js';

function usage(commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: tandem <command> [flags]',
    '',
    'Tandem is a job server with cross-site disaster recovery.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global flags:',
    '  --help, -h     show help (also: tandem <command> --help)',
    '  --version      print the version',
    '',
    'Example:',
    '  tandem migrate --database-url postgres://tandem@db-a:5432/tandem',
  ].join('\n');
}

const commonFlags: FlagSpec = {
  help: { type: 'boolean', short: 'h' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
};

/** Find the longest command name matching the leading words of argv. */
function findCommand(commands: readonly CommandEntry[], argv: string[]): { entry?: CommandEntry; rest: string[] } {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  for (let n = words.length; n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    const entry = commands.find((c) => c.name === name);
    if (entry) return { entry, rest: argv.slice(n) };
  }
  return { rest: argv };
}

class UsageError extends TandemError {
  constructor(message: string) {
    super('usage', message);
  }
}

export async function runTandem(commands: readonly CommandEntry[], argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<ExitCode> {
  const err = (s: string) => process.stderr.write(s + '\n');
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    if (argv[0] === 'help' && argv[1]) return runTandem(commands, [...argv.slice(1), '--help'], out);
    out(usage(commands));
    return argv.length === 0 ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    out(`tandem ${productVersion()}`);
    return EXIT_CODES.ok;
  }
  const { entry, rest } = findCommand(commands, argv);
  if (!entry) {
    const what = argv[0]!.startsWith('-') ? `unknown flag ${argv[0]}` : `unknown command "${argv.filter((a) => !a.startsWith('-')).join(' ')}"`;
    err(`tandem: ${what}`);
    err(usage(commands));
    return EXIT_CODES.usage;
  }
  const { name } = entry;
  const cmd = await entry.load();
  const options: FlagSpec = { ...commonFlags, ...cmd.flags };
  for (const flag of Object.keys(cmd.configFlags ?? {})) options[flag] ??= { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: cmd.allowPositionals ?? false });
  } catch (e) {
    const msg = errorMessage(e).replace(/\. To specify a positional argument starting with a '-'.*$/, '');
    err(`tandem ${name}: ${msg}`);
    err(`Run "tandem ${name} --help" for usage.`);
    return EXIT_CODES.usage;
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    out(cmd.help.trim());
    return EXIT_CODES.ok;
  }
  const level = (values['log-level'] as string | undefined) ?? process.env.TANDEM_LOG_LEVEL;
  const { log, configure: configureLog } = createConfigurableLogger(
    { component: name.split(' ')[0] },
    {
      ...(level && ['debug', 'info', 'warn', 'error'].includes(level) ? { level: level as 'info' } : {}),
      // The long-running server logs much and for long: asynchronous writes (flushed at exit, server/log.ts).
      async: name === 'server',
    },
  );
  const controller = new AbortController();
  const onSignal = (sig: string) => {
    if (controller.signal.aborted) {
      err(`tandem: second ${sig}, exiting now`);
      process.exit(EXIT_CODES.interrupted);
    }
    controller.abort(new Error(sig));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const flags: Record<string, unknown> = {};
    for (const [flag, key] of Object.entries(cmd.configFlags ?? {})) if (values[flag] !== undefined) flags[key] = values[flag];
    // --log-level is common to every command; it is also the config key log.level (flags beat the file and the environment).
    if (values['log-level'] !== undefined) flags['log.level'] = values['log-level'];
    const code = await cmd.run({
      values,
      positionals: parsed.positionals,
      config: () => {
        const config = loadConfig({ file: values.config as string | undefined, flags });
        // The file's log settings (already overlaid by TANDEM_LOG_* and --log-level) apply from here on.
        configureLog({ level: config.log.level, format: config.log.format === 'auto' ? undefined : config.log.format });
        return config;
      },
      log,
      out,
      signal: controller.signal,
    });
    return code ?? EXIT_CODES.ok;
  } catch (e) {
    if (isTandemError(e)) {
      err(`tandem ${name}: ${e.message}`);
      return e.exitCode;
    }
    err(`tandem ${name}: ${errorMessage(e)}`);
    if (process.env.TANDEM_DEBUG) err((e as Error).stack ?? '');
    return EXIT_CODES.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export { UsageError };
