'use strict';
// Accounts, roles and the route table, against the real server (docs/access.md):
// - every route of GET /api/v1/auth/routes refuses a request without a token, and with a
//   garbage token, with 401; every role gets 403 on exactly the routes whose permission it
//   lacks, and never 401/403 on the others; a member of one project gets 403 on another;
// - login, lockout after five failures, logout; API tokens limited to their scopes;
// - maker-checker with accounts (the approver must be another account holding journey.approve);
// - advisors see and complete only their own tasks.

const test = require('node:test');
const assert = require('node:assert/strict');
const { waitFor, uniqueName } = require('../lib/server');
const J = require('../lib/journeys');

let ctx;
let srv;
const PASSWORD = 'a long enough password';
const ROLES = ['admin', 'operator', 'approver', 'analyst', 'advisor', 'auditor'];
const sessions = {};  // role → {token, permissions}
let project;
let otherProject;

const bearer = (token) => ({ token });

async function createAccount(name, roles, projects) {
  const r = await srv.api('POST', '/api/v1/admin/accounts', { name, password: PASSWORD, roles, projects });
  assert.equal(r.status, 201, r.text);
  return r.body;
}
async function login(name, password = PASSWORD) {
  return srv.api('POST', '/api/v1/auth/login', { name, password }, { token: null });
}

test.before(async () => {
  ctx = await J.startJourneyServer();
  srv = ctx.srv;
  project = await J.project(ctx);
  otherProject = uniqueName('other');
  await srv.createProject(otherProject);
  for (const role of ROLES) {
    await createAccount(`${role}-user`, [role], [project]);
    const r = await login(`${role}-user`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.body.token, /^sxs_[0-9a-f]{64}$/);
    assert.deepEqual(r.body.account.roles, [role]);
    sessions[role] = { token: r.body.token, permissions: new Set(r.body.account.permissions) };
  }
});
test.after(async () => ctx && ctx.stop());

// A concrete path for a route pattern.
function concrete(pattern, p = project) {
  return pattern.replace('{project}', encodeURIComponent(p)).replace(/\{[a-z_]+\}/g, 'no-such-thing');
}
// What a route is sent: a JSON object body for methods that take one.
function call(route, token, p) {
  const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : {};
  return srv.api(route.method, concrete(route.path, p), body, bearer(token));
}
// Routes that end the caller's session or change shared state in a way that would disturb the
// walk are checked separately below.
// (Refusals are still walked: sending them to a role that may not use them changes nothing.)
const SKIP_IN_WALK = new Set(['POST /api/v1/auth/logout', 'POST /api/v1/auth/password',
  'PUT /api/v1/admin/operators', 'PUT /api/v1/projects/{project}/touch-rules']);

test('the route table lists every endpoint with its access', async () => {
  const r = await srv.api('GET', '/api/v1/auth/routes');
  assert.equal(r.status, 200, r.text);
  const routes = r.body.routes;
  assert.ok(routes.length >= 85, `only ${routes.length} routes`);
  for (const route of routes) {
    assert.ok(['public', 'authenticated', 'permission'].includes(route.access), JSON.stringify(route));
    if (route.access === 'permission') assert.ok(route.permission, JSON.stringify(route));
  }
  const publicRoutes = routes.filter((x) => x.access === 'public').map((x) => `${x.method} ${x.path}`);
  assert.deepEqual(publicRoutes.sort(), [
    'GET /api/v1/projects/{project}/inapp/{distinct_id}',
    'GET /api/v1/projects/{project}/unsubscribe',
    'POST /api/v1/auth/login',
  ]);
});

test('no route answers without authentication, or to a garbage or revoked token', async () => {
  const { body } = await srv.api('GET', '/api/v1/auth/routes');
  const out = await login('operator-user');
  assert.equal(out.status, 200);
  assert.equal((await srv.api('POST', '/api/v1/auth/logout', undefined, bearer(out.body.token))).status, 200);
  for (const route of body.routes.filter((x) => x.access !== 'public')) {
    for (const token of [null, 'sxs_' + '0'.repeat(64), 'not-a-token', out.body.token]) {
      const r = await call(route, token);
      assert.equal(r.status, 401, `${route.method} ${route.path} with ${token}: ${r.status} ${r.text}`);
      assert.equal(r.body.error.name, 'unauthorized');
    }
  }
});

test('each role gets 403 exactly on the routes whose permission it lacks', async () => {
  const { body } = await srv.api('GET', '/api/v1/auth/routes');
  let allowed = 0;
  let refused = 0;
  for (const role of ROLES) {
    const { token, permissions } = sessions[role];
    for (const route of body.routes) {
      if (route.access === 'public') continue;
      const refusedByTable = route.access === 'permission' && !permissions.has(route.permission);
      if (!refusedByTable && SKIP_IN_WALK.has(`${route.method} ${route.path}`)) continue;
      const r = await call(route, token);
      const where = `${role}: ${route.method} ${route.path} → ${r.status} ${r.text.slice(0, 200)}`;
      if (refusedByTable) {
        assert.equal(r.status, 403, where);
        assert.match(r.body.error.message, new RegExp(`needs the ${route.permission.replace('.', '\\.')} permission`), where);
        refused++;
      } else {
        assert.ok(r.status !== 401 && r.status !== 403, where);
        allowed++;
      }
    }
  }
  assert.ok(allowed > 100 && refused > 100, `allowed ${allowed}, refused ${refused}`);
});

test('an account sees and reaches only its member projects', async () => {
  const { token } = sessions.operator;
  const list = await srv.api('GET', '/api/v1/projects', undefined, bearer(token));
  assert.deepEqual(list.body.projects.map((x) => x.name), [project]);
  const r = await srv.api('GET', `/api/v1/projects/${otherProject}/journeys`, undefined, bearer(token));
  assert.equal(r.status, 403, r.text);
  assert.match(r.body.error.message, /not a member of project/);
  assert.equal((await srv.api('GET', `/api/v1/projects/${project}/journeys`, undefined, bearer(token))).status, 200);
});

test('login: same answer for unknown names and wrong passwords; lockout after five failures', async () => {
  await createAccount('locky', ['analyst'], ['*']);
  const unknown = await login('nobody-here', 'whatever whatever');
  const wrong = await login('locky', 'not the password');
  assert.equal(unknown.status, 401);
  assert.equal(wrong.status, 401);
  assert.equal(unknown.body.error.message, wrong.body.error.message);
  for (let i = 0; i < 4; i++) assert.equal((await login('locky', 'not the password')).status, 401);
  const locked = await login('locky');
  assert.equal(locked.status, 429, locked.text);
  assert.match(locked.body.error.message, /locked .* retry in 15 min/);
  // An admin re-enabling the account unlocks it.
  const r = await srv.api('PUT', '/api/v1/admin/accounts/locky', { disabled: false });
  assert.equal(r.status, 200, r.text);
  assert.equal((await login('locky')).status, 200);
  const bad = await srv.api('POST', '/api/v1/auth/login', 'name=x', { token: null });
  assert.equal(bad.status, 400);
});

test('API tokens: scopes within the account, refused outside them, listed and revoked', async () => {
  const { token } = sessions.operator;
  let r = await srv.api('POST', '/api/v1/auth/tokens', { name: 'bi', scopes: ['journey.approve'] }, bearer(token));
  assert.equal(r.status, 403, r.text);
  r = await srv.api('POST', '/api/v1/auth/tokens', { name: 'bi', scopes: ['analysis.read'], expires_in_days: 30 }, bearer(token));
  assert.equal(r.status, 201, r.text);
  const api = r.body;
  assert.match(api.token, /^sxt_/);
  const query = { type: 'events', from: '2026-01-01', to: '2026-01-02', measures: [{ event: '$all', aggregator: 'count' }] };
  r = await srv.api('POST', `/api/v1/projects/${project}/query`, query, bearer(api.token));
  assert.ok(r.status !== 401 && r.status !== 403, r.text);
  r = await srv.api('GET', `/api/v1/projects/${project}/journeys`, undefined, bearer(api.token));
  assert.equal(r.status, 403, r.text);
  r = await srv.api('GET', '/api/v1/auth/tokens', undefined, bearer(token));
  assert.deepEqual(r.body.tokens.map((t) => [t.id, t.name, t.scopes]), [[api.id, 'bi', ['analysis.read']]]);
  assert.equal(JSON.stringify(r.body).includes(api.token), false);
  r = await srv.api('DELETE', `/api/v1/auth/tokens/${api.id}`, undefined, bearer(token));
  assert.equal(r.status, 200, r.text);
  r = await srv.api('GET', '/api/v1/auth/me', undefined, bearer(api.token));
  assert.equal(r.status, 401);
  // The admin token is not an account: it cannot mint API tokens.
  r = await srv.api('POST', '/api/v1/auth/tokens', { name: 'x', scopes: ['data.read'] });
  assert.equal(r.status, 403, r.text);
});

test('maker-checker with accounts: the operator submits, another account approves', async () => {
  const maker = sessions.operator.token;
  const checker = sessions.approver.token;
  await createAccount('both-roles', ['operator', 'approver'], [project]);
  const both = (await login('both-roles')).body.token;
  const definition = { name: 'welcome', entry: { type: 'event', event: 'signup' }, start: 's', nodes: { s: { type: 'send', channel: 'hook', template: 'hello', next: 'e' }, e: { type: 'exit' } } };
  const base = `/api/v1/projects/${project}/journeys`;
  let r = await srv.api('POST', base, definition, bearer(both));
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  assert.equal(r.body.created_by, 'both-roles');
  r = await srv.api('POST', `${base}/${id}/submit`, undefined, bearer(both));
  assert.equal(r.status, 200, r.text);
  // The operator role cannot approve at all; the submitter cannot approve their own version.
  r = await srv.api('POST', `${base}/${id}/approve`, undefined, bearer(maker));
  assert.equal(r.status, 403, r.text);
  r = await srv.api('POST', `${base}/${id}/approve`, undefined, bearer(both));
  assert.equal(r.status, 403, r.text);
  assert.match(r.body.error.message, /maker-checker/);
  // The approver cannot start what they approved (no journey.write).
  r = await srv.api('POST', `${base}/${id}/approve`, undefined, bearer(checker));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.approved_by, 'approver-user');
  r = await srv.api('POST', `${base}/${id}/start`, undefined, bearer(checker));
  assert.equal(r.status, 403, r.text);
  r = await srv.api('POST', `${base}/${id}/start`, undefined, bearer(maker));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'running');
  // An edit of the running journey makes version 2, which cannot be approved before it is
  // submitted (the review of version 1 does not carry over).
  r = await srv.api('PUT', `${base}/${id}`, { ...definition, name: 'welcome v2' }, bearer(maker));
  assert.equal(r.status, 200, r.text);
  r = await srv.api('POST', `${base}/${id}/approve`, undefined, bearer(checker));
  assert.equal(r.status, 409, r.text);
  assert.match(r.body.error.message, /nothing is waiting for review/);
  r = await srv.api('POST', `${base}/${id}/submit`, undefined, bearer(maker));
  assert.equal(r.status, 200, r.text);
  r = await srv.api('POST', `${base}/${id}/approve`, undefined, bearer(checker));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.approved_version, 2);
});

test('advisors see and work only their own tasks', async () => {
  const j = await J.launch(ctx, project, {
    name: 'call-back', entry: { type: 'event', event: 'deposit' }, start: 'call',
    nodes: { call: { type: 'task', title: 'call', assign: { property: 'advisor_id', pool: 'desk' }, sla: '4h', next: 'e' }, e: { type: 'exit' } },
  });
  assert.ok(j);
  await createAccount('adv007', ['advisor'], [project]);
  const adv = (await login('adv007')).body.token;
  await J.ingest(ctx, project, [J.profile('c1', { advisor_id: 'adv007' }), J.profile('c2', { advisor_id: 'adv008' }),
    J.track('c1', 'deposit'), J.track('c2', 'deposit')]);
  const all = await waitFor(async () => {
    const r = await srv.api('GET', `/api/v1/projects/${project}/tasks`);
    return r.body.tasks.length === 2 && r.body.tasks;
  }, 10000);
  const mine = all.find((t) => t.assignee === 'adv007');
  const theirs = all.find((t) => t.assignee === 'adv008');
  // Asking for someone else's tasks still lists only one's own.
  let r = await srv.api('GET', `/api/v1/projects/${project}/tasks?assignee=adv008`, undefined, bearer(adv));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.tasks.map((t) => t.id), [mine.id]);
  r = await srv.api('POST', `/api/v1/projects/${project}/tasks/${encodeURIComponent(theirs.id)}/complete`, { outcome: 'done' }, bearer(adv));
  assert.equal(r.status, 403, r.text);
  r = await srv.api('POST', `/api/v1/projects/${project}/tasks/${encodeURIComponent(mine.id)}/complete`, { outcome: 'interested' }, bearer(adv));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'completed');
  // Nothing else of the customer is theirs to read.
  r = await srv.api('GET', `/api/v1/projects/${project}/users/c1`, undefined, bearer(adv));
  assert.equal(r.status, 403, r.text);
  // A branch manager sees the tasks of the advisors in their branch only.
  r = await srv.api('PUT', '/api/v1/admin/accounts/adv007', { org_unit: '/hq/shanghai/team-1' });
  assert.equal(r.status, 200, r.text);
  r = await srv.api('POST', '/api/v1/admin/accounts', { name: 'adv008', password: PASSWORD, roles: ['advisor'], org_unit: '/hq/beijing' });
  assert.equal(r.status, 201, r.text);
  await createAccount('mgr-sh', ['operator'], [project]);
  r = await srv.api('PUT', '/api/v1/admin/accounts/mgr-sh', { org_unit: '/hq/shanghai' });
  assert.equal(r.status, 200, r.text);
  const manager = (await login('mgr-sh')).body.token;
  r = await srv.api('GET', `/api/v1/projects/${project}/tasks`, undefined, bearer(manager));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.tasks.map((t) => t.assignee), ['adv007']);
  r = await srv.api('GET', `/api/v1/projects/${project}/tasks`);  // head office: all
  assert.equal(r.body.tasks.length, 2);
  // ... and only the customers of their branch: served by an advisor of the branch, or with
  // an org_unit in it; not Beijing's, not those of no branch.
  await J.ingest(ctx, project, [J.profile('c3', { org_unit: '/hq/shanghai/team-2' }),
    J.profile('c4', { org_unit: '/hq/beijing' }), J.profile('c5', { name: 'nobody' })]);
  for (const [customer, status] of [['c1', 200], ['c3', 200], ['c2', 403], ['c4', 403], ['c5', 403]]) {
    for (const suffix of ['', '/events', '/segments']) {
      r = await srv.api('GET', `/api/v1/projects/${project}/users/${customer}${suffix}`, undefined, bearer(manager));
      assert.equal(r.status, status, `${customer}${suffix}: ${r.text}`);
    }
  }
  r = await srv.api('GET', `/api/v1/projects/${project}/users/c2`, undefined, bearer(manager));
  assert.match(r.body.error.message, /customer c2 belongs to \/hq\/beijing, outside mgr-sh's org unit \/hq\/shanghai/);
  r = await srv.api('GET', `/api/v1/projects/${project}/users/c4`);  // head office: everyone
  assert.equal(r.status, 200, r.text);
});

test('a branch manager\'s analysis numbers, segment sizes and member lists count only the branch\'s customers', async () => {
  // Customers of the previous test: c1 (served by adv007, Shanghai team 1), c3 (org_unit in
  // Shanghai) belong to mgr-sh's branch; c2 (adv008, Beijing), c4 (Beijing), c5 (none) do not.
  const manager = (await login('mgr-sh')).body.token;
  const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
  // A journey the viewers enter and wait in, to count who is inside.
  const journey = await J.launch(ctx, project, {
    name: 'scope wait', entry: { type: 'event', event: 'scope_view' }, start: 'w',
    nodes: { w: { type: 'wait', duration: '3d', next: 'e' }, e: { type: 'exit' } },
  });
  await J.ingest(ctx, project, [
    ...ids.map((id) => J.track(id, 'scope_view', { amount: 10 })),
    ...ids.map((id) => J.track(id, 'scope_buy', { amount: 100 })),
    J.track('c1', 'scope_view', { amount: 10 }),
  ]);
  const run = async (query, token) => {
    const r = await srv.api('POST', `/api/v1/projects/${project}/query`, query, token && bearer(token));
    assert.equal(r.status, 200, r.text);
    return r.body;
  };
  const events = { type: 'events', last: '30d', unit: 'total', measures: [
    { event: 'scope_view', aggregator: 'count' }, { event: 'scope_view', aggregator: 'uniq_users' },
    { event: 'scope_buy', aggregator: 'sum', property: 'amount' }] };
  assert.deepEqual((await run(events)).rows[0].slice(1), [6, 5, 500]);
  assert.deepEqual((await run(events, manager)).rows[0].slice(1), [3, 2, 200]);
  // A filter of the query's own still applies inside the scope.
  const filtered = { ...events, filter: { property: 'user.org_unit', op: 'is_set' } };
  assert.deepEqual((await run(filtered, manager)).rows[0].slice(1), [1, 1, 100]);
  const funnel = { type: 'funnel', last: '30d', window_seconds: 3600, steps: [{ event: 'scope_view' }, { event: 'scope_buy' }] };
  assert.deepEqual((await run(funnel)).steps.map((s) => s.users), [5, 5]);
  assert.deepEqual((await run(funnel, manager)).steps.map((s) => s.users), [2, 2]);
  const drilled = await run({ ...funnel, users: { cell: { step: 1 } } }, manager);
  assert.deepEqual(drilled.users.map((u) => u.distinct_id).sort(), ['c1', 'c3']);
  // Saved metrics and dashboards run in the caller's scope too.
  let r = await srv.api('POST', `/api/v1/projects/${project}/metrics`, { name: 'scope views', query: events });
  assert.equal(r.status, 201, r.text);
  const metric = r.body.id;
  r = await srv.api('POST', `/api/v1/projects/${project}/metrics/${metric}/run`, undefined, bearer(manager));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.rows[0].slice(1), [3, 2, 200]);
  r = await srv.api('POST', `/api/v1/projects/${project}/dashboards`, { name: 'scope board', items: [{ metric_id: metric }] });
  assert.equal(r.status, 201, r.text);
  r = await srv.api('GET', `/api/v1/projects/${project}/dashboards/${r.body.id}/run`, undefined, bearer(manager));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.results[0].answer.rows[0].slice(1), [3, 2, 200]);

  // Segments: sizes, the estimate and the member list count the branch only.
  r = await srv.api('POST', `/api/v1/projects/${project}/segments`, { name: uniqueName('viewers'), rule: { did: 'scope_view', within: { last: '30d' } } });
  assert.equal(r.status, 201, r.text);
  const segment = r.body.id;
  assert.equal(r.body.size, 5);
  r = await srv.api('GET', `/api/v1/projects/${project}/segments/${segment}`, undefined, bearer(manager));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.size, 2);
  r = await srv.api('GET', `/api/v1/projects/${project}/segments`, undefined, bearer(manager));
  assert.equal(r.body.segments.find((s) => s.id === segment).size, 2);
  r = await srv.api('GET', `/api/v1/projects/${project}/segments/${segment}/users`, undefined, bearer(manager));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2);
  assert.deepEqual(r.body.users.map((u) => u.distinct_id).sort(), ['c1', 'c3']);
  r = await srv.api('POST', `/api/v1/projects/${project}/segments/estimate`, { rule: { did: 'scope_buy', within: { last: '30d' } } }, bearer(manager));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.size, 2);
  // A static segment saved from a drill-down holds the branch's people only.
  r = await srv.api('POST', `/api/v1/projects/${project}/segments`, { name: uniqueName('from-funnel'), query: { ...funnel, users: { cell: { step: 0 } } } }, bearer(manager));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.segment.size, 2);
  // Tag coverage and the number of customers inside a journey count the branch only.
  r = await srv.api('POST', `/api/v1/projects/${project}/tags`, { name: uniqueName('last_buy'), kind: 'first_last', event: 'scope_buy', which: 'last' });
  assert.equal(r.status, 201, r.text);
  const tag = r.body.id;
  assert.equal(r.body.coverage, 5);
  r = await srv.api('GET', `/api/v1/projects/${project}/tags/${tag}`, undefined, bearer(manager));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.coverage, 2);
  r = await srv.api('GET', `/api/v1/projects/${project}/tags`, undefined, bearer(manager));
  assert.equal(r.body.tags.find((t) => t.id === tag).coverage, 2);
  const inside = async (token) => {
    const got = await srv.api('GET', `/api/v1/projects/${project}/journeys/${journey}`, undefined, token && bearer(token));
    assert.equal(got.status, 200, got.text);
    const listed = await srv.api('GET', `/api/v1/projects/${project}/journeys`, undefined, token && bearer(token));
    assert.equal(listed.body.journeys.find((x) => x.id === journey).customers_inside, got.body.customers_inside);
    return got.body.customers_inside;
  };
  await waitFor(async () => (await inside()) === 5, 10000);
  assert.equal(await inside(manager), 2);
  // The list's journey-wide counters span every branch: the manager's list leaves them out.
  const managerList = await srv.api('GET', `/api/v1/projects/${project}/journeys`, undefined, bearer(manager));
  const managerRow = managerList.body.journeys.find((x) => x.id === journey);
  assert.deepEqual([managerRow.entered, managerRow.goal_reached], [undefined, undefined]);
  const adminRow = (await srv.api('GET', `/api/v1/projects/${project}/journeys`)).body.journeys.find((x) => x.id === journey);
  assert.equal(adminRow.entered, 5);
  // What spans every branch and cannot be cut to one is refused, naming why.
  for (const [method, path] of [['GET', `/segments/${segment}/history`], ['GET', `/tags/${tag}/history`], ['GET', '/events/recent'],
    ['GET', '/ingest-errors'], ['GET', '/ledger']]) {
    r = await srv.api(method, `/api/v1/projects/${project}${path}`, undefined, bearer(manager));
    assert.equal(r.status, 403, `${path}: ${r.text}`);
    assert.match(r.body.error.message, /covers the customers of every branch; mgr-sh sees only org unit \/hq\/shanghai/);
    r = await srv.api(method, `/api/v1/projects/${project}${path}`);
    assert.equal(r.status, 200, `${path} as admin: ${r.text}`);
  }
});

test('password change ends the other sessions; a disabled account is signed out', async () => {
  await createAccount('pw-user', ['analyst'], ['*']);
  const first = (await login('pw-user')).body.token;
  const second = (await login('pw-user')).body.token;
  let r = await srv.api('POST', '/api/v1/auth/password', { old_password: PASSWORD, new_password: 'another long password' }, bearer(first));
  assert.equal(r.status, 200, r.text);
  assert.equal((await srv.api('GET', '/api/v1/auth/me', undefined, bearer(first))).status, 200);
  assert.equal((await srv.api('GET', '/api/v1/auth/me', undefined, bearer(second))).status, 401);
  r = await srv.api('PUT', '/api/v1/admin/accounts/pw-user', { disabled: true });
  assert.equal(r.status, 200, r.text);
  assert.equal((await srv.api('GET', '/api/v1/auth/me', undefined, bearer(first))).status, 401);
  assert.equal((await login('pw-user', 'another long password')).status, 403);
});

test('the audit trail records logins, changes with their actor, and refusals; only auditors read it', async () => {
  const auditor = sessions.auditor.token;
  let r = await srv.api('GET', '/api/v1/audit?limit=1000', undefined, bearer(sessions.operator.token));
  assert.equal(r.status, 403, r.text);
  r = await srv.api('GET', '/api/v1/audit?limit=10000', undefined, bearer(auditor));
  assert.equal(r.status, 200, r.text);
  const entries = r.body.entries;
  const has = (pred, what) => assert.ok(entries.some(pred), `no audit entry for ${what}`);
  has((e) => e.action === 'login' && e.actor === 'approver-user' && e.peer === '127.0.0.1', 'a login');
  has((e) => e.action === 'login_failed' && e.actor === 'locky', 'a failed login');
  has((e) => e.action === 'change' && e.actor === 'approver-user' && e.route.endsWith('/journeys/{id}/approve') && e.status === 200, 'an approval');
  has((e) => e.action === 'change' && e.actor === 'admin' && e.route === '/api/v1/admin/accounts' && e.status === 201, 'an account creation');
  has((e) => e.action === 'denied' && e.actor === 'adv007' && e.status === 403, 'a refusal');
  // Reads and queries are not configuration changes.
  assert.ok(!entries.some((e) => e.method === 'GET' && e.action === 'change'));
  assert.ok(!entries.some((e) => e.route.endsWith('/query') && e.action === 'change'));
  // Newest first, sequence numbers strictly decreasing, chained.
  for (let i = 1; i < entries.length; i++) {
    assert.ok(entries[i - 1].seq > entries[i].seq);
    if (entries[i - 1].seq === entries[i].seq + 1) assert.equal(entries[i - 1].prev, entries[i].hash);
  }
  const mine = await srv.api('GET', '/api/v1/audit?actor=locky', undefined, bearer(auditor));
  assert.ok(mine.body.entries.length >= 6 && mine.body.entries.every((e) => e.actor === 'locky'));
  r = await srv.api('GET', '/api/v1/audit/verify', undefined, bearer(auditor));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.valid, true);
  assert.ok(r.body.entries >= entries.length);
});

test('personal data is masked for roles without pii.read, in answers and CSV exports; exports are audited', async () => {
  const p = `/api/v1/projects/${project}`;
  await J.ingest(ctx, project, [J.profile('vip1', { name: '张三丰', phone: '13812345678', email: 'zsf@example.com', city: '上海', segment_flag: 'yes' })]);
  const operator = bearer(sessions.operator.token);
  let r = await srv.api('GET', `${p}/users/vip1`, undefined, operator);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.profile, { name: '张**', phone: '138****5678', email: 'z***@example.com', city: '上海', segment_flag: 'yes' });
  assert.ok(!r.text.includes('13812345678'));
  r = await srv.api('GET', `${p}/users/vip1/consent`, undefined, operator);
  assert.deepEqual(r.body, { distinct_id: 'vip1', consent: {} });
  r = await srv.api('PUT', `${p}/users/vip1/consent`, { purpose: 'marketing', channel: 'sms', granted: false }, operator);
  assert.equal(r.status, 200, r.text);
  r = await srv.api('GET', `${p}/users/vip1/consent`, undefined, bearer(sessions.auditor.token));
  assert.deepEqual(r.body.consent, { 'marketing:sms': false });
  r = await srv.api('GET', `${p}/users/vip1`);  // the admin token holds pii.read
  assert.equal(r.body.profile.phone, '13812345678');
  r = await srv.api('POST', `${p}/segments`, { name: 'flagged', rule: { profile: 'segment_flag', op: '=', value: 'yes' } }, operator);
  assert.equal(r.status, 201, r.text);
  const segment = r.body.id;
  await waitFor(async () => (await srv.api('POST', `${p}/segments/${segment}/refresh`, undefined, operator)).body.size === 1, 5000);
  r = await srv.api('GET', `${p}/segments/${segment}/users?format=csv&columns=name,phone,city`, undefined, operator);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, 'distinct_id,name,phone,city\nvip1,张**,138****5678,上海\n');
  // The project's classification: declassify name, classify city.
  r = await srv.api('PUT', `${p}/pii`, { fields: { name: 'none', city: 'address' } }, operator);
  assert.equal(r.status, 403, r.text);
  r = await srv.api('PUT', `${p}/pii`, { fields: { name: 'none', city: 'address' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.effective.city, 'address');
  r = await srv.api('GET', `${p}/users/vip1`, undefined, operator);
  assert.equal(r.body.profile.name, '张三丰');
  assert.equal(r.body.profile.city, '上海****');
  r = await srv.api('PUT', `${p}/pii`, { fields: { phone: 'mobile-ish' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.field, 'fields.phone');
  const audit = await srv.api('GET', '/api/v1/audit?actor=operator-user', undefined, bearer(sessions.auditor.token));
  assert.ok(audit.body.entries.some((e) => e.action === 'export' && e.route.endsWith('/segments/{id}/users') && e.detail === 'personal data masked'), audit.text.slice(0, 500));
});

test('data-subject access: everything held about one customer as a file, admin only, audited', async () => {
  const p = `/api/v1/projects/${project}`;
  let r = await srv.api('GET', `${p}/users/c1/export`, undefined, bearer(sessions.operator.token));
  assert.equal(r.status, 403, r.text);
  r = await srv.api('GET', `${p}/users/c1/export`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-disposition'), /^attachment; filename="customer-\d+\.json"$/);
  const file = r.body;
  assert.equal(file.distinct_id, 'c1');
  assert.equal(file.customer.profile.advisor_id, 'adv007');
  const names = new Set(file.events.map((e) => e.event));
  for (const name of ['deposit', '$journey_enter', '$task_created', '$task_completed']) assert.ok(names.has(name), `no ${name} in ${[...names]}`);
  assert.ok(file.journeys.length >= 1, JSON.stringify(file.journeys));
  assert.ok(file.decisions.some((d) => d.kind === 'task'), JSON.stringify(file.decisions).slice(0, 400));
  assert.equal(file.tasks.length, 1);
  assert.equal(file.tasks[0].outcome, 'interested');
  assert.ok(Array.isArray(file.segments.segments) || typeof file.segments === 'object');
  r = await srv.api('GET', `${p}/users/nobody-at-all/export`);
  assert.equal(r.status, 404);
  const audit = await srv.api('GET', '/api/v1/audit?actor=admin&limit=50', undefined, bearer(sessions.auditor.token));
  assert.ok(audit.body.entries.some((e) => e.action === 'export' && e.target === `${p}/users/c1/export` && e.detail === 'personal data unmasked'));
});

test('accounts and sessions survive a restart; the listing never shows a hash', async () => {
  const { token } = sessions.analyst;
  await srv.restart();
  const me = await srv.api('GET', '/api/v1/auth/me', undefined, bearer(token));
  assert.equal(me.status, 200, me.text);
  assert.equal(me.body.name, 'analyst-user');
  const list = await srv.api('GET', '/api/v1/admin/accounts');
  assert.ok(list.body.accounts.length >= ROLES.length);
  assert.doesNotMatch(list.text, /argon2/);
  assert.deepEqual(list.body.roles.map((x) => x.name), ROLES);
  // The audit trail verifies offline, with the server stopped.
  await srv.stop();
  const { execFileSync } = require('node:child_process');
  const out = execFileSync(process.env.SEXTANT_BIN || require('node:path').join(__dirname, '..', '..', 'build', 'src', 'cli', 'sextant'),
    ['audit', 'verify', '--data-dir', srv.dataDir]).toString();
  assert.match(out, /^audit trail: ok, \d+ entries/);
  await srv.start();
});
