/**
 * `${option.NAME}` in a command line that a POSIX shell will run, without
 * putting the value into the command text.
 *
 * Pasting values into `sh -c` text lets whoever runs a job inject commands
 * (`env=prod; rm -rf ~`), and shows secure values in the process list.
 * Instead each reference becomes a reference to the option's environment
 * variable (`TANDEM_OPTION_NAME`, see interpolate.ts), which the shell expands
 * at run time: the result of a variable expansion is never parsed as shell
 * syntax again, so a value can contain anything.
 *
 * The reference is written to fit the quoting around it, so the value stays
 * one word, as Rundeck quotes option values in commands:
 *   echo ${option.m}      → echo "$TANDEM_OPTION_M"
 *   echo "x ${option.m}"  → echo "x ${TANDEM_OPTION_M}"
 *   echo 'x ${option.m}'  → echo 'x '"$TANDEM_OPTION_M"''
 * Quoting is tracked simply (no nested `$(...)` contexts); a misjudged context
 * changes word splitting at worst, never what is executed.
 */
import { optionEnvName } from './interpolate.js';

/**
 * `${option.X}`, and the step context `${node.X}`, `${job.X}`, `${result.X}`
 * (server/nodes/context.ts: Rundeck's `RD_NODE_X`, `RD_JOB_X`, `RD_RESULT_X`).
 */
const REFERENCE = /^\$\{(option|node|job|result)\.([A-Za-z0-9_][A-Za-z0-9_.-]*)\}/;

function envName(group: string, name: string): string {
  return group === 'option' ? optionEnvName(name) : `RD_${group.toUpperCase()}_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

type Quoting = 'none' | 'single' | 'double';

function reference(group: string, name: string, quoting: Quoting): string {
  const variable = envName(group, name);
  switch (quoting) {
    case 'none':
      return `"$${variable}"`;
    case 'double':
      return `\${${variable}}`;
    case 'single':
      return `'"$${variable}"'`;
  }
}

/** `text` with every `${option.NAME}` replaced by a quoted reference to `$TANDEM_OPTION_NAME` (and `${node.X}` to `$RD_NODE_X`, ...). */
export function optionReferencesForShell(text: string): string {
  let out = '';
  let quoting: Quoting = 'none';
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (ch === '$') {
      const m = REFERENCE.exec(text.slice(i, i + 300));
      if (m) {
        out += reference(m[1]!, m[2]!, quoting);
        i += m[0].length;
        continue;
      }
    }
    if (ch === '\\' && quoting !== 'single') {
      // An escaped character (or a line continuation) is copied as is.
      out += text.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (ch === "'" && quoting !== 'double') quoting = quoting === 'single' ? 'none' : 'single';
    else if (ch === '"' && quoting !== 'single') quoting = quoting === 'double' ? 'none' : 'double';
    out += ch;
    i += 1;
  }
  return out;
}
