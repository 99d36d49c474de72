// Printed commands work as printed (server/cli/printed-command.ts): the command path the user ran, the --config
// they gave, quoting for the shell. Pure, no server.
import t from 'tap';
import path from 'node:path';
import { cliPrefix, shellPath, tandemCommand } from '../../server/cli/printed-command.js';

t.test('the command path: node bin/tandem.js in a checkout, tandem when installed', async (t) => {
  t.equal(cliPrefix(path.join(process.cwd(), 'bin/tandem.js')), 'node bin/tandem.js');
  t.equal(cliPrefix('/usr/local/bin/tandem'), '/usr/local/bin/tandem');
  t.equal(cliPrefix('/opt/x/node_modules/.bin/something-else'), 'tandem');
  t.equal(cliPrefix(undefined), 'tandem');
});

t.test('--config as given, right after the subcommand; none without a file', async (t) => {
  const withConfig = tandemCommand(path.join(process.cwd(), '.demo/b/tandem.yaml'), 'node bin/tandem.js');
  t.equal(withConfig('rejoin --site a --from b'), 'node bin/tandem.js rejoin --config .demo/b/tandem.yaml --site a --from b');
  t.equal(tandemCommand(undefined, 'tandem')('rejoin --site a --from b'), 'tandem rejoin --site a --from b');
  t.equal(tandemCommand('/etc/tandem/my site.yaml', 'tandem')('status'), "tandem status --config '/etc/tandem/my site.yaml'");
});

t.test('paths: relative below the current directory, quoted when the shell needs it', async (t) => {
  t.equal(shellPath('/srv/a/b.yaml', '/srv'), 'a/b.yaml');
  t.equal(shellPath('/etc/tandem.yaml', '/srv'), '/etc/tandem.yaml');
  t.equal(shellPath("/srv/it's here", '/tmp'), `'/srv/it'\\''s here'`);
});
