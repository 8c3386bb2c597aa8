'use strict';
// Child-process driver for sa-sdk-node 1.2.6 (protocol notes §5.1). One process per scenario:
// the SDK sets a global flag that makes a second submitTo in the same process a silent no-op.
//   SA_URL=http://127.0.0.1:PORT/sa?project=P [GZIP=0] [SINGLE=1] [MODE=track|debug|dryRun] node node_sdk_driver.js
// Prints one JSON line {viewProductTime} so the test knows the $time it used.
const SensorsAnalytics = require('sa-sdk-node');

const sa = new SensorsAnalytics();
const sub = sa.submitTo({ url: process.env.SA_URL, gzip: process.env.GZIP !== '0', mode: process.env.MODE || 'track', timeout: 5000 },
  process.env.SINGLE ? {} : { count: 10, timeSpan: 500 });
sub.catch((e) => { console.error('send failed:', e.message); process.exitCode = 1; });

// Phase 1: the §5.1 calls verbatim, plus a profile property and an item that phase 2 removes.
const viewProductTime = new Date(Date.now() - 60000);
sa.track('anon-1', 'ViewProduct', { product_id: 'p1', price: 9.5, tags: ['a', 'b'], $time: viewProductTime });
sa.trackSignup('user-1', 'anon-1', {});
sa.profileSet('user-1', { name: 'Alice', age: 30 });
sa.profileIncrement('user-1', { points: 5 });
sa.profileAppend('user-1', { interests: ['books'] });
sa.itemSet('book', 'b1', { price: 31.54 });
sa.profileSet('user-1', { tmp_flag: 'x' });
sa.itemSet('book', 'b2', { price: 1 });

// Phase 2 (a separate request, after phase 1 was answered): unset and delete.
setTimeout(() => {
  sa.profileUnset('user-1', ['tmp_flag']);
  sa.itemDelete('book', 'b2');
}, 1200);

setTimeout(() => {
  console.log(JSON.stringify({ viewProductTime: viewProductTime.getTime() }));
  process.exit();
}, 3000);
