'use strict';
// Black-box: docs/openapi.yaml stays true. It parses as YAML (OpenAPI 3), every `$ref` resolves,
// every operation declares its responses and the parameters its path names, and its /api/v1
// operations are exactly the routes the server answers (GET /api/v1/auth/routes, the route
// table every request is matched against).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const { startServer } = require('../lib/server');

const SPEC_PATH = path.join(__dirname, '..', '..', 'docs', 'openapi.yaml');
const METHODS = ['get', 'post', 'put', 'delete', 'patch', 'options', 'head'];

let spec;
let srv;
before(async () => {
  spec = YAML.parse(fs.readFileSync(SPEC_PATH, 'utf8'), { maxAliasCount: -1 });
  srv = await startServer();
});
after(async () => { if (srv) await srv.stop(); });

function resolveRef(ref) {
  assert.match(ref, /^#\//, `only local references are used: ${ref}`);
  let node = spec;
  for (const part of ref.slice(2).split('/')) {
    node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

test('openapi.yaml parses, its references resolve and its operations are complete', () => {
  assert.match(String(spec.openapi), /^3\./);
  assert.ok(spec.info?.title && spec.info?.version, 'info.title and info.version');
  const broken = [];
  (function walk(node, where) {
    if (Array.isArray(node)) node.forEach((child, i) => walk(child, `${where}[${i}]`));
    else if (node && typeof node === 'object') {
      if (typeof node.$ref === 'string' && resolveRef(node.$ref) === undefined) broken.push(`${where}: ${node.$ref}`);
      for (const [key, child] of Object.entries(node)) walk(child, `${where}.${key}`);
    }
  })(spec, '');
  assert.deepEqual(broken, [], 'unresolved $ref');

  const problems = [];
  for (const [route, item] of Object.entries(spec.paths)) {
    const named = [...route.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const where = `${method.toUpperCase()} ${route}`;
      if (!op.responses || Object.keys(op.responses).length === 0) problems.push(`${where}: no responses`);
      const declared = [...(item.parameters || []), ...(op.parameters || [])]
        .map((p) => (p.$ref ? resolveRef(p.$ref) : p))
        .filter((p) => p && p.in === 'path').map((p) => p.name);
      for (const name of named) {
        if (!declared.includes(name)) problems.push(`${where}: path parameter {${name}} not declared`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('the /api/v1 operations of openapi.yaml are exactly the routes the server answers', async () => {
  const r = await srv.api('GET', '/api/v1/auth/routes');
  assert.equal(r.status, 200, r.text);
  // Parameter names may differ ({id} / {journey}), and one template may cover routes the other
  // side lists apart (…/{id}/{action} covers …/{id}/approve, which needs another permission):
  // two operations match when their methods are equal and, segment by segment, the paths are
  // equal or one of them has a parameter there.
  const split = (method, route) => [method.toUpperCase(), ...route.split('/').map((s) => (/^\{.+\}$/.test(s) ? '{}' : s))];
  const matches = (a, b) => a.length === b.length && a.every((s, i) => s === b[i] || (i > 0 && (s === '{}' || b[i] === '{}')));
  const served = r.body.routes.map((route) => split(route.method, route.path));
  const documented = [];
  for (const [route, item] of Object.entries(spec.paths)) {
    if (!route.startsWith('/api/v1/')) continue;
    for (const method of METHODS) if (item[method]) documented.push(split(method, route));
  }
  const show = (op) => `${op[0]} ${op.slice(1).join('/')}`;
  const undocumented = served.filter((op) => !documented.some((d) => matches(op, d))).map(show).sort();
  const notServed = documented.filter((op) => !served.some((s) => matches(op, s))).map(show).sort();
  assert.deepEqual({ undocumented, notServed }, { undocumented: [], notServed: [] });
});
