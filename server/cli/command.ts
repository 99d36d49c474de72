/**
 * The shape of a `tandem` subcommand. Each command lives in its own file and
 * is listed, with its name and one-line summary, in replicator/cli/tandem.ts;
 * main.ts parses flags (node:util parseArgs, strict: unknown flags are
 * refused) and runs it.
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

/**
 * One line of the command table: what `tandem --help` lists, and how to load
 * the command when it is chosen. A command's module is imported only when that
 * command runs (or shows its own --help): importing every command would load
 * the whole job server (koa, ldapts, ssh2, @google-cloud/storage, ...) into
 * every process, e.g. ~60 MB RSS and seconds of CPU for `tandem replicate`
 * (replicator/docs/performance.md, "Start-up").
 */
export interface CommandEntry {
  /** Words after `tandem`, e.g. `migrate` or `replication status`. */
  name: string;
  /** One line for `tandem --help`. */
  summary: string;
  load(): Promise<Command>;
}

/** A loaded command: its help, flags and what it does. */
export interface Command {
  /** Full `--help` text; must contain at least one example. */
  help: string;
  flags?: FlagSpec;
  /** Flags that set configuration keys: flag name (without --) → key path. */
  configFlags?: Record<string, string>;
  allowPositionals?: boolean;
  /** Return the exit code (default EXIT_CODES.ok; the table is in ../errors.ts). */
  run(ctx: CommandContext): Promise<ExitCode | void>;
}
