/** `tandem acl validate FILE...`: check ACL policy files, pointing at the line of each problem. */
import { readFileSync } from 'node:fs';
import { EXIT_CODES, TandemError } from '../errors.js';
import { formatProblem, parseAclText } from '../auth/acl/parse.js';
import type { Command } from './command.js';

export const aclValidateCommand: Command = {
  help: `
Usage: tandem acl validate FILE [FILE...]

Parses each policy file (YAML documents separated by ---, see server/README.md,
"Access control policies") and prints every problem as FILE:LINE:COLUMN: path: message.
Exits 0 when all files are valid, 1 otherwise.

Example:
  tandem acl validate /etc/tandem/acl/ops.aclpolicy
`,
  allowPositionals: true,
  async run(ctx) {
    if (!ctx.positionals.length) throw new TandemError('usage', 'give at least one policy file (see tandem acl validate --help)');
    let bad = 0;
    for (const file of ctx.positionals) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        ctx.out(`${file}: cannot read: ${(e as Error).message}`);
        bad++;
        continue;
      }
      const { policies, problems } = parseAclText(text, file);
      if (problems.length) {
        bad++;
        for (const p of problems) ctx.out(formatProblem(p));
      } else {
        const rules = policies.reduce((n, p) => n + Object.values(p.rules).reduce((m, r) => m + (r?.length ?? 0), 0), 0);
        ctx.out(`${file}: ok (${policies.length} polic${policies.length === 1 ? 'y' : 'ies'}, ${rules} rule(s))`);
      }
    }
    return bad ? EXIT_CODES.failed : EXIT_CODES.ok;
  },
};
