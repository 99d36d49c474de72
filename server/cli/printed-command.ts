/**
 * Commands that tandem prints for the user to run next (the demo's summary,
 * `next:` lines of failover and rejoin) must work as printed: with the
 * command path the user ran (`node bin/tandem.js` in a checkout, where
 * `tandem` is not on PATH) and with the `--config` file the command was given.
 */
import path from 'node:path';

/** A path as the user can type it here: relative when below the current directory; quoted for the shell when needed. */
export function shellPath(p: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, p);
  const shown = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
  return /^[\w./@%+=:,-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/** How the user ran tandem, e.g. `node bin/tandem.js`; `tandem` when run as an installed command. */
export function cliPrefix(script = process.argv[1]): string {
  if (!script || !/(^|[/\\])tandem(\.js)?$/.test(script)) return 'tandem';
  return script.endsWith('.js') ? `node ${shellPath(script)}` : shellPath(script);
}

/**
 * A function giving the full command line for `tandem ARGS`, as it can be run
 * from here: `tandemCommand('.demo/b/tandem.yaml')('rejoin --site a --from b')`
 * is `node bin/tandem.js rejoin --config .demo/b/tandem.yaml --site a --from b`.
 * Without a configuration file (the default tandem.yaml, or environment
 * variables only) no --config is added: the same lookup applies to the next command.
 */
export function tandemCommand(configFile?: string, cli = cliPrefix()): (args: string) => string {
  return (args) => {
    const [sub, ...rest] = args.split(' ');
    return [cli, sub, ...(configFile ? ['--config', shellPath(path.resolve(configFile))] : []), ...rest].join(' ');
  };
}
