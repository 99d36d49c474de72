import t from 'tap';
import { execFileSync } from 'node:child_process';
import { expandOptions, optionEnv } from '../../server/jobs/interpolate.js';
import { optionReferencesForShell } from '../../server/jobs/shell-references.js';

/** Runs `command` with /bin/sh -c and the options' environment variables, as a step would; returns stdout. */
function sh(command: string, values: Record<string, string>): string {
  return execFileSync('/bin/sh', ['-c', command], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...optionEnv(values) }, encoding: 'utf8' });
}

const hostile = [
  'plain',
  'two words',
  '; echo INJECTED',
  '$(echo INJECTED)',
  '`echo INJECTED`',
  "it's",
  '"quoted" \\ back\\slash',
  '*',
  '${HOME}',
  "'; echo INJECTED; '",
  '"; echo INJECTED; "',
  'line1\nline2',
  '',
  '-n',
];

t.test('option values reach the shell as data, whatever they contain', async (t) => {
  for (const value of hostile) {
    const v = { msg: value };
    t.equal(sh(optionReferencesForShell("printf '[%s]' ${option.msg}"), v), `[${value}]`, `unquoted: ${JSON.stringify(value)} is one word, unchanged`);
    t.equal(sh(optionReferencesForShell('printf "[%s]" "x ${option.msg} y"'), v), `[x ${value} y]`, `inside double quotes: ${JSON.stringify(value)}`);
    t.equal(sh(optionReferencesForShell("printf '[%s]' 'x ${option.msg} y'"), v), `[x ${value} y]`, `inside single quotes: ${JSON.stringify(value)}`);
    t.equal(sh(optionReferencesForShell('printf "[%s]" --msg=${option.msg}'), v), `[--msg=${value}]`, `as part of a word: ${JSON.stringify(value)}`);
  }
  t.match(sh(expandOptions('echo ${option.msg}', { msg: '; echo INJECTED' }), {}), 'INJECTED', 'pasting the value into the text would have run it (the hazard this avoids)');
});

t.test('the command text never contains the value', async (t) => {
  t.equal(optionReferencesForShell('deploy --env ${option.env} --tag "${option.release.tag}"'), 'deploy --env "$TANDEM_OPTION_ENV" --tag "${TANDEM_OPTION_RELEASE_TAG}"');
  t.equal(optionReferencesForShell("echo 'a ${option.x}'"), `echo 'a '"$TANDEM_OPTION_X"''`);
  t.equal(optionReferencesForShell('echo \\${option.x} $HOME ${other.name}'), 'echo \\${option.x} $HOME ${other.name}', 'escaped and other references are left alone');
  t.equal(optionReferencesForShell('echo ${node.os-family} "${job.execid}"'), 'echo "$RD_NODE_OS_FAMILY" "${RD_JOB_EXECID}"', 'step context references become RD_* variables');
  t.equal(sh(optionReferencesForShell('printf "[%s]" ${option.missing}'), {}), '[]', 'an option without a value is empty, as with expandOptions');
});
