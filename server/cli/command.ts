/**
 * The shape of a `tandem` subcommand. Each command lives in its own file and
 * is listed in replicator/cli/tandem.ts; main.ts parses flags (node:util parseArgs, strict:
 * unknown flags are refused) and runs it.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config/schema.js';
import type { ExitCode } from '../errors.js';
import type { Logger } from '../log.js';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  /** Parsed flag values (after the command name). */
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Load and validate the configuration (--config, env, and the command's config flags). */
  config(): Config;
  log: Logger;
  out(line: string): void;
  /** Resolves when the user asks the command to stop (SIGINT/SIGTERM). */
  signal: AbortSignal;
}

export interface Command {
  /** Words after `tandem`, e.g. `migrate` or `replication status`. */
  name: string;
  summary: string;
  /** Full `--help` text; must contain at least one example. */
  help: string;
  flags?: FlagSpec;
  /** Flags that set configuration keys: flag name (without --) → key path. */
  configFlags?: Record<string, string>;
  allowPositionals?: boolean;
  /** Return the exit code (default EXIT_CODES.ok; the table is in ../errors.ts). */
  run(ctx: CommandContext): Promise<ExitCode | void>;
}
