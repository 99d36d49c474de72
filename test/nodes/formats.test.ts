/** Rundeck resource documents → node entries (pure). */
import t from 'tap';
import { formatFromExtension, formatFromMime, parseResources } from '../../server/nodes/formats.js';
import { rankNodes } from '../../server/nodes/dispatch.js';
import { readSourceSpecs } from '../../server/nodes/sources.js';
import type { NodeEntry } from '../../server/nodes/node-executor.js';

t.test('resourceyaml: a list or a mapping keyed by name; tags as string or list; values as strings', async (t) => {
  const list = parseResources('- nodename: a\n  hostname: a.example.com:2022\n  tags: "x, y ,,"\n  port: 22\n  enabled: true\n', 'resourceyaml');
  t.same(list, [{ name: 'a', tags: ['x', 'y'], attributes: { nodename: 'a', hostname: 'a.example.com:2022', port: '22', enabled: 'true' } }]);
  const map = parseResources('b:\n  tags: [p, q]\n  osFamily: unix\nc: {}\n', 'resourceyaml');
  t.same(map.map((n) => [n.name, n.tags, n.attributes.nodename]), [['b', ['p', 'q'], 'b'], ['c', [], 'c']]);
  t.same(parseResources('', 'resourceyaml'), [], 'an empty document is an empty model');
  t.throws(() => parseResources('- hostname: x\n', 'resourceyaml'), /resourceyaml\[0\]: node has no nodename/);
  t.throws(() => parseResources('a:\n  attrs: {x: 1}\n', 'resourceyaml'), /resourceyaml\.a\.attrs: must be a string, not a mapping/);
});

t.test('resourcejson: array or object', async (t) => {
  t.same(parseResources('{"n1":{"hostname":"h1","tags":"t"}}', 'resourcejson').map((n) => [n.name, n.attributes.hostname, n.tags]), [['n1', 'h1', ['t']]]);
  t.same(parseResources('[{"nodename":"n2"}]', 'resourcejson').map((n) => n.name), ['n2']);
  t.throws(() => parseResources('{', 'resourcejson'), /resourcejson:/);
});

t.test('resourcexml: attributes and <attribute> children; entities decoded', async (t) => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<project>
  <node name="x1" hostname="x1.example.com" tags="a,b" osFamily="unix" username="deploy">
    <attribute name="role" value="db &amp; cache"/>
  </node>
  <node name="x2"/>
</project>`;
  const nodes = parseResources(xml, 'resourcexml');
  t.same(nodes[0], { name: 'x1', tags: ['a', 'b'], attributes: { hostname: 'x1.example.com', osFamily: 'unix', username: 'deploy', role: 'db & cache', nodename: 'x1' } });
  t.equal(nodes[1]!.name, 'x2');
  t.same(parseResources('<project/>', 'resourcexml'), []);
  t.throws(() => parseResources('<nodes/>', 'resourcexml'), /document element must be <project>/);
  t.throws(() => parseResources('<project><node hostname="h"/></project>', 'resourcexml'), /node\[0\]: node has no name/);
});

t.test('format from extension and MIME type', async (t) => {
  t.equal(formatFromExtension('/a/b.YML'), 'resourceyaml');
  t.equal(formatFromExtension('/a/b.json'), 'resourcejson');
  t.equal(formatFromExtension('/a/b.xml'), 'resourcexml');
  t.equal(formatFromExtension('/a/b.txt'), null);
  t.equal(formatFromMime('application/json; charset=utf-8'), 'resourcejson');
  t.equal(formatFromMime('text/yaml'), 'resourceyaml');
  t.equal(formatFromMime('application/xml'), 'resourcexml');
  t.equal(formatFromMime('text/html'), null);
});

t.test('source lists: defaults and errors naming the field', async (t) => {
  t.same(readSourceSpecs([{ type: 'file', file: '/etc/tandem/nodes.yaml' }]), [{ type: 'file', file: '/etc/tandem/nodes.yaml', format: 'resourceyaml', requireFileExists: false }]);
  t.same(readSourceSpecs([{ type: 'url', url: 'https://cmdb/nodes' }]), [{ type: 'url', url: 'https://cmdb/nodes', timeout: 30, cache: true }]);
  const err = (v: unknown, dirs: string[] = []) => {
    try {
      readSourceSpecs(v, dirs);
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  t.equal(err({}), 'sources: must be a list of sources');
  t.equal(err([{ type: 'directory' }]), 'sources[0].type: must be one of file, script, url');
  t.equal(err([{ type: 'file', file: 'rel.yaml' }]), 'sources[0].file: must be an absolute path');
  t.equal(err([{ type: 'file', file: '/x/n.txt' }]), 'sources[0].format: required when the file name does not end in .yaml, .yml, .json or .xml');
  t.equal(err([{ type: 'script', file: '/x/s.sh', format: 'resourceyaml', timeout: 0 }]), 'sources[0].timeout: must be a whole number of seconds from 1 to 3600');
  t.equal(err([{ type: 'url', url: 'http://x', bogus: 1 }]), 'sources[0].bogus: unknown field for a url source');
  t.equal(err([{ type: 'file', file: '/etc/passwd.yaml' }], ['/srv/nodes']), 'sources[0].file: must be under one of the directories allowed by nodes.sourcePaths (/srv/nodes)');
  t.equal(err([{ type: 'file', file: '/srv/nodes/../x.yaml' }], ['/srv/nodes']), 'sources[0].file: must be under one of the directories allowed by nodes.sourcePaths (/srv/nodes)');
  t.equal(err([{ type: 'file', file: '/srv/nodes/a.yaml' }], ['/srv/nodes']), 'no error');
});

t.test('rank: attribute, numbers as numbers, missing last, order', async (t) => {
  const n = (name: string, rank?: string): NodeEntry => ({ name, tags: [], attributes: rank === undefined ? {} : { rank } });
  const nodes = [n('a', '10'), n('b', '9'), n('c'), n('d', '100')];
  t.same(rankNodes(nodes, 'rank', 'ascending').map((x) => x.name), ['b', 'a', 'd', 'c']);
  t.same(rankNodes(nodes, 'rank', 'descending').map((x) => x.name), ['d', 'a', 'b', 'c']);
  t.same(rankNodes(nodes, 'nodename', 'descending').map((x) => x.name), ['d', 'c', 'b', 'a']);
});
