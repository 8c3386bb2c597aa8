'use strict';
// Black-box: journey touches over every channel type to real receivers on loopback — SMS
// through Tencent Cloud's SendSms API (TC3-HMAC-SHA256 checked by an independent verifier),
// e-mail over SMTP to a real SMTP server (aiosmtpd), WeChat template messages, app push
// (signed), webhook — plus fallback to the next channel when the customer has no address and
// the best-channel choice from the customer's own click history.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('../lib/server');
const { startHttpReceiver, startSmtpReceiver, smtpMessageIdFor } = require('../lib/receivers');
const J = require('../lib/journeys');
const { base, as, track, profile } = J;

const TENCENT_KEY = 'tencent-secret-key';
const PUSH_SECRET = 'push-secret';
let ctx;
let srv;
let provider;  // SMS, WeChat and push provider endpoints
let mail;

before(async () => {
  ctx = await J.startJourneyServer();
  ({ srv } = ctx);
  provider = await startHttpReceiver({ secret: PUSH_SECRET, tencentSecretKey: TENCENT_KEY });
  mail = await startSmtpReceiver();
});
after(async () => {
  if (mail) await mail.close();
  if (provider) await provider.close();
  if (ctx) await ctx.stop();
});

async function channelProject() {
  const p = await J.project(ctx);
  const channels = {
    sms: { type: 'tencent_sms', url: `${provider.url}/sms`, key_id: 'AKIDtest', secret: TENCENT_KEY, sender: '1400000001', sign_name: '示例银行' },
    email: { type: 'smtp', url: mail.url, sender: 'noreply@bank.example' },
    wechat: { type: 'wechat_template', url: `${provider.url}/cgi-bin/message/template/send`, sender: 'ACCESS_TOKEN_1' },
    push: { type: 'http_push', url: `${provider.url}/push`, secret: PUSH_SECRET },
  };
  for (const [name, config] of Object.entries(channels)) {
    const r = await srv.api('PUT', `${base(p)}/channels/${name}`, config);
    assert.equal(r.status, 200, `${name}: ${r.text}`);
  }
  await J.approveTemplates(ctx, p, {
    // Tencent SMS: the provider's template id, and the parameters separated by U+001F.
    sms_due: { channel: 'sms', subject: '2001', body: '{{profile.name}}\u001f{{event.amount}}' },
    mail_due: { channel: 'email', subject: '您的账单已出', body: '{{profile.name}}，本期应还 {{event.amount}} 元。退订：{{unsubscribe_url}}' },
    wx_due: { channel: 'wechat', subject: 'TPL_BILL', body: '{{profile.name}} 应还 {{event.amount}}' },
    push_due: { channel: 'push', subject: '还款提醒', body: '应还 {{event.amount}} 元' },
  });
  return p;
}

const sendNode = (channels, template, extra = {}) => ({
  name: `send ${template}`, entry: { type: 'api' }, start: 's',
  nodes: { s: { type: 'send', channels, template, ...extra, next: 'e' }, e: { type: 'exit' } },
});

async function trigger(p, j, id, properties) {
  const r = await srv.api('POST', `${base(p)}/journeys/${j}/trigger`, { distinct_id: id, properties });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.entered, true, r.text);
}

test('SMS through Tencent Cloud SendSms, signed with TC3-HMAC-SHA256', async () => {
  const p = await channelProject();
  await J.ingest(ctx, p, [profile('u1', { name: '王五', phone: '+8613800000001' })]);
  const j = await J.launch(ctx, p, sendNode(['sms'], 'sms_due'));
  await trigger(p, j, 'u1', { amount: 1288 });
  const sms = await waitFor(() => provider.requests.find((r) => r.path === '/sms'), 5000);
  assert.equal(sms.signatureValid, true, JSON.stringify(sms.signature));
  assert.equal(sms.headers['x-tc-action'], 'SendSms');
  assert.deepEqual(sms.json.PhoneNumberSet, ['+8613800000001']);
  assert.equal(sms.json.TemplateId, '2001');
  assert.deepEqual(sms.json.TemplateParamSet, ['王五', '1288']);
  assert.equal(sms.json.SmsSdkAppId, '1400000001');
  await waitFor(async () => (await J.report(ctx, p, j)).nodes.s.delivered === 1);
});

test('e-mail over SMTP to a real SMTP server, Chinese subject and body', async () => {
  const p = await channelProject();
  await J.ingest(ctx, p, [profile('u2', { name: '赵六', email: 'zhao@example.com' })]);
  const j = await J.launch(ctx, p, sendNode(['email'], 'mail_due'));
  await trigger(p, j, 'u2', { amount: 3500 });
  const [message] = await mail.waitForMessages(1, 5000);
  assert.equal(message.subject, '您的账单已出');
  assert.deepEqual(message.rcptTos, ['zhao@example.com']);
  assert.equal(message.mailFrom, 'noreply@bank.example');
  const touch = (await J.ledger(ctx, p, 'distinct_id=u2'))[0].touch_id;
  assert.equal(message.messageId, smtpMessageIdFor(touch), 'the idempotency key is the Message-ID');
  assert.match(message.body, /^赵六，本期应还 3500 元。退订：\/api\/v1\/projects\/.+\/unsubscribe\?token=/);
  await waitFor(async () => (await J.report(ctx, p, j)).nodes.s.delivered === 1);
});

test('WeChat template message and signed app push', async () => {
  const p = await channelProject();
  await J.ingest(ctx, p, [profile('u3', { name: '钱七', wechat_openid: 'oWX123' })]);
  const wx = await J.launch(ctx, p, sendNode(['wechat'], 'wx_due'));
  const push = await J.launch(ctx, p, sendNode(['push'], 'push_due'));
  await trigger(p, wx, 'u3', { amount: 99 });
  await trigger(p, push, 'u3', { amount: 99 });
  const wechat = await waitFor(() => provider.requests.find((r) => r.path.startsWith('/cgi-bin/') && r.json.touser === 'oWX123'), 5000);
  assert.equal(wechat.query.access_token, 'ACCESS_TOKEN_1');
  assert.equal(wechat.json.template_id, 'TPL_BILL');
  assert.equal(wechat.json.data.content.value, '钱七 应还 99');
  const pushed = await waitFor(() => provider.requests.find((r) => r.path === '/push' && r.json.to === 'u3'), 5000);
  assert.equal(pushed.signatureValid, true);
  assert.equal(pushed.json.title, '还款提醒');
  assert.equal(pushed.json.body, '应还 99 元');
  assert.ok(pushed.headers['idempotency-key'].startsWith(`${push}:v1:s:`));
});

test('fallback by order when the customer has no address; best channel from their click history', async () => {
  const p = await channelProject();
  // One template name with a variant per channel.
  for (const channel of ['push', 'sms', 'email']) {
    const r = await srv.api('PUT', `${base(p)}/templates/any`, { channel, subject: channel === 'sms' ? '3001' : '提醒', body: '提醒 {{profile.name}}' }, as('alice'));
    assert.equal(r.status, 200, r.text);
  }
  const approved = await srv.api('POST', `${base(p)}/templates/any/approve`, undefined, as('bob'));
  assert.deepEqual(approved.body.templates.map((t) => t.channel).sort(), ['email', 'push', 'sms']);
  await J.ingest(ctx, p, [profile('nophone', { name: 'NP', email: 'np@example.com' }), profile('clicker', { name: 'CL', phone: '+8613900000002' })]);
  const j = await J.launch(ctx, p, sendNode(['sms', 'email'], 'any'));
  await trigger(p, j, 'nophone');
  await waitFor(async () => (await J.ledger(ctx, p, 'distinct_id=nophone')).length === 1);
  const fallback = (await J.ledger(ctx, p, 'distinct_id=nophone'))[0];
  assert.equal(fallback.channel, 'email');
  assert.equal(fallback.channel_choice, 'fallback');
  await mail.waitForMessages(2, 5000);

  // "clicker" has been sent a push and an SMS before and clicked the SMS: SMS is their best channel.
  const best = await J.launch(ctx, p, sendNode(['push', 'sms'], 'any', { best_channel: true }));
  const warm = await J.launch(ctx, p, sendNode(['push'], 'any'));
  const warmSms = await J.launch(ctx, p, sendNode(['sms'], 'any'));
  await trigger(p, warm, 'clicker');
  await trigger(p, warmSms, 'clicker');
  await waitFor(async () => (await J.ledger(ctx, p, 'distinct_id=clicker')).length === 2);
  const smsTouch = (await J.ledger(ctx, p, 'distinct_id=clicker')).find((e) => e.channel === 'sms');
  await J.ingest(ctx, p, [track('clicker', '$touch_clicked', { touch_id: smsTouch.touch_id, channel: 'sms' })]);
  await waitFor(async () => (await J.report(ctx, p, warmSms)).nodes.s.clicked === 1);
  await trigger(p, best, 'clicker');
  await waitFor(async () => (await J.ledger(ctx, p, `journey=${best}`)).some((e) => e.kind === 'touch'));
  const chosen = (await J.ledger(ctx, p, `journey=${best}`)).find((e) => e.kind === 'touch');
  assert.equal(chosen.channel, 'sms');
  assert.equal(chosen.channel_choice, 'best_response');
});

test('test send: one message now through a channel, to a recipient the operator names; failures are answers', async () => {
  const p = await channelProject();
  let r = await srv.api('POST', `${base(p)}/channels/email/test`, { recipient: 'ops@bank.example', subject: '渠道测试', body: 'hello from the console' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.delivered, true, r.text);
  assert.equal(r.body.status, 250);
  await waitFor(() => mail.messages.some((m) => m.to.includes('ops@bank.example') && m.subject === '渠道测试'), 5000);
  // SMS: the subject is the provider's template id; without it the provider's rule is the answer.
  r = await srv.api('POST', `${base(p)}/channels/sms/test`, { recipient: '+8613800000000', subject: '' });
  assert.equal(r.body.delivered, false, r.text);
  assert.match(r.body.error, /TemplateId/);
  r = await srv.api('POST', `${base(p)}/channels/sms/test`, { recipient: '+8613800000000', subject: '1234567', body: '2026' });
  assert.equal(r.body.delivered, true, r.text);
  // A channel that cannot be reached answers with the error, not a 5xx.
  r = await srv.api('PUT', `${base(p)}/channels/dead`, { type: 'webhook', url: 'http://127.0.0.1:9/nothing', secret: 's', timeout_ms: 1000 });
  assert.equal(r.status, 200, r.text);
  r = await srv.api('POST', `${base(p)}/channels/dead/test`, { recipient: 'x' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.delivered, false);
  assert.ok(r.body.error.length > 0);
  r = await srv.api('POST', `${base(p)}/channels/nope/test`, { recipient: 'x' });
  assert.equal(r.status, 404);
  r = await srv.api('POST', `${base(p)}/channels/email/test`, {});
  assert.equal(r.status, 400);
  assert.equal(r.body.error.field, 'recipient');
});
