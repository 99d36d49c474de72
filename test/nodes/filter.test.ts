/**
 * The node filter language, case by case from Rundeck's NodeSet semantics
 * (parseFilter, matchesInput, matchesInputSet, matchRegexOrEquals, shouldExclude).
 */
import t from 'tap';
import { filterNodes, parseNodeFilter, tokenize } from '../../server/nodes/filter.js';
import type { NodeEntry } from '../../server/nodes/node-executor.js';
import { TandemError } from '../../server/errors.js';

function node(name: string, attrs: Record<string, string> = {}, tags: string[] = []): NodeEntry {
  return { name, attributes: { nodename: name, hostname: attrs.hostname ?? name, ...attrs }, tags };
}

const nodes: NodeEntry[] = [
  node('web1', { osFamily: 'unix', env: 'prod', rank: '10' }, ['web', 'prod']),
  node('web2', { osFamily: 'unix', env: 'staging', rank: '2' }, ['web', 'staging']),
  node('db1', { osFamily: 'unix', env: 'prod', hostname: 'db1.example.com:2022' }, ['db', 'prod']),
  node('win1', { osFamily: 'windows', env: 'prod' }, ['web', 'windows']),
  node('bare', {}, []),
];
const names = (filter: string, o = {}) => filterNodes(nodes, filter, o).map((n) => n.name);

t.test('tokenizer: whitespace, quotes, columns', async (t) => {
  t.same(tokenize('  tags: web  name:"a b"'), [
    { text: 'tags:', column: 3 },
    { text: 'web', column: 9 },
    { text: 'name:a b', column: 14 },
  ]);
  t.same(tokenize(`env:'x "y"'`).map((x) => x.text), ['env:x "y"']);
  t.same(tokenize(''), []);
});

t.test('parseFilter: keys, default key, exclusions, repeated keys joined with commas', async (t) => {
  const p = parseNodeFilter('web1 tags: web !tags:staging name:db1 env: prod');
  t.same([...p.include.values()].map((x) => [x.key, x.value]), [['name', 'web1,db1'], ['tags', 'web'], ['env', 'prod']]);
  t.same([...p.exclude.values()].map((x) => [x.key, x.value]), [['tags', 'staging']]);
  // "key:" followed by a token containing ":" takes it as the value
  t.same(parseNodeFilter('hostname: db1.example.com:2022').include.get('hostname')!.value, 'db1.example.com:2022');
});

t.test('bare values are node names; regex or comma list', async (t) => {
  t.same(names('web1'), ['web1']);
  t.same(names('web1,db1'), ['web1', 'db1']);
  t.same(names('web.*'), ['web1', 'web2']);
  t.same(names('.*'), ['web1', 'web2', 'db1', 'win1', 'bare']);
  t.same(names('name: .*'), ['web1', 'web2', 'db1', 'win1', 'bare']);
  // a regex must match the whole value (Java String.matches)
  t.same(names('eb1'), []);
  t.same(names('/web[0-9]/'), ['web1', 'web2']);
});

t.test('tags: "," is OR, "+" is AND, each tag also a regex', async (t) => {
  t.same(names('tags: web'), ['web1', 'web2', 'win1']);
  t.same(names('tags: web+prod'), ['web1']);
  t.same(names('tags: db,staging'), ['web2', 'db1']);
  t.same(names('tags: web+prod,db'), ['web1', 'db1']);
  t.same(names('tags: w.*'), ['web1', 'web2', 'win1']);
  t.same(names('tags: " web + prod "'), ['web1'], 'spaces around tags are trimmed');
  t.same(names('tags: nope'), []);
});

t.test('attribute keys: well-known names map to node fields, others to attributes', async (t) => {
  t.same(names('os-family: windows'), ['win1']);
  t.same(names('osFamily: windows'), ['win1'], 'the attribute name works too');
  t.same(names('env: prod'), ['web1', 'db1', 'win1']);
  t.same(names('env: prod tags: web'), ['web1', 'win1'], 'all include keys must match');
  t.same(names('hostname: db1.example.com:2022'), ['db1']);
  t.same(names('missing: .*'), [], 'an absent attribute never matches, not even .*');
});

t.test('exclusions and exclude precedence', async (t) => {
  t.same(names('tags: web !name: win1'), ['web1', 'web2']);
  t.same(names('!tags: web'), ['db1', 'bare'], 'only exclusions: every other node');
  t.same(names('!web1'), ['web2', 'db1', 'win1', 'bare'], 'a bare !name excludes that node');
  // excludePrecedence=false: dropped only when it fails the include AND matches the exclude
  t.same(names('tags: web !env: prod', { excludePrecedence: false }), ['web1', 'web2', 'win1', 'bare']);
  t.same(names('tags: web !env: prod'), ['web2']);
  t.same(names('tags: web', { filterExclude: 'name: win1' }), ['web1', 'web2'], 'filterExclude terms are exclusions');
});

t.test('empty filter selects nothing', async (t) => {
  t.same(names(''), []);
  t.same(names('   '), []);
});

t.test('comma list and regex both apply; invalid implicit regex compares as text', async (t) => {
  t.same(names('web1,d.*'), ['web1'], 'a comma list is not split into regexes (Rundeck)');
  const odd = [node('a(b'), node('x')];
  t.same(filterNodes(odd, 'a(b').map((n) => n.name), ['a(b']);
  // Java-only syntax (lookahead) is not RE2: text comparison, as Rundeck does for an invalid pattern
  t.same(filterNodes(odd, '(?=x)x').map((n) => n.name), []);
});

t.test('errors name the token and the column', async (t) => {
  const err = (f: string) => {
    try {
      parseNodeFilter(f);
      filterNodes(nodes, f);
    } catch (e) {
      t.ok(e instanceof TandemError);
      return (e as TandemError).message;
    }
    return 'no error';
  };
  t.equal(err('tags: web name:'), 'node filter: "name:" has no value at column 11 ("name:")');
  t.equal(err('name: "web'), 'node filter: unterminated double quote at column 7 (""web")');
  t.equal(err('tags: web  name: /web[/'), 'node filter: "web[" is not a valid regular expression (RE2 syntax) at column 12 ("name: /web[/")');
  t.equal(err(':web'), 'node filter: a filter key is empty at column 1 (":web")');
});

t.test('a pathological pattern is linear time (RE2), not catastrophic backtracking', async (t) => {
  const evil = [node('a'.repeat(5000) + '!')];
  const start = process.hrtime.bigint();
  t.same(filterNodes(evil, '/(a+)+$/').map((n) => n.name), []);
  // Bound is generous on purpose (a backtracking engine takes years here); not a speed goal.
  t.ok(Number(process.hrtime.bigint() - start) / 1e6 < 5000);
});

t.test('literal and prefix.* shortcuts answer as the regex would', async (t) => {
  const odd = [node('web'), node('web\nx'), node('webby'), node('xweb'), node('we')];
  t.same(filterNodes(odd, 'web.*').map((n) => n.name), ['web', 'webby'], '. does not match a newline');
  t.same(filterNodes(odd, 'web').map((n) => n.name), ['web']);
  t.same(filterNodes(odd, '/web.*/').map((n) => n.name), ['web', 'webby']);
  t.same(filterNodes(odd, '/(?s)web.*/').map((n) => n.name), ['web', 'web\nx', 'webby'], 'the regex engine when flags are given');
});
