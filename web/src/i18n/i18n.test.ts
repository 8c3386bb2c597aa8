// The message layer: placeholders, plurals by the language's rules, the two catalogues kept in
// step, and stored messages (notices, form errors) that follow the language switch.
import { describe, expect, it } from 'vitest';
import { format, isMsg, loadLocale, msg, translator, type MessageKey } from './index';
import en from './en.json';
import pagesEn from './pages.en.json';
import journeysEn from './journeys.en.json';
import analysisEn from './analysis.en.json';
import settingsEn from './settings.en.json';
import zh from './zh-CN.json';
import pagesZh from './pages.zh-CN.json';
import journeysZh from './journeys.zh-CN.json';
import analysisZh from './analysis.zh-CN.json';
import settingsZh from './settings.zh-CN.json';
import { durationText } from '../pages/journeys/labels';

const catalogues: Record<string, Record<string, string>> = {
  en: { ...en, ...pagesEn, ...journeysEn, ...analysisEn, ...settingsEn },
  'zh-CN': { ...zh, ...pagesZh, ...journeysZh, ...analysisZh, ...settingsZh },
};

// English is loaded on demand (the console loads it when it is chosen).
expect(await loadLocale('en')).toBe(true);

describe('format', () => {
  it('fills in placeholders and leaves unknown ones and template variables alone', () => {
    expect(format('Saved (version {version}).', { version: 3 })).toBe('Saved (version 3).');
    expect(format('{a} and {b}', { a: 1 })).toBe('1 and {b}');
    expect(format('Variables such as {{profile.name}} ({channel})', { channel: 'sms' })).toBe('Variables such as {{profile.name}} (sms)');
    expect(format('no variables', undefined)).toBe('no variables');
  });

  it('chooses the plural form by the language rules', () => {
    const m = '{n, plural, one {# minute} other {# minutes}}';
    expect(format(m, { n: 1 }, 'en')).toBe('1 minute');
    expect(format(m, { n: 0 }, 'en')).toBe('0 minutes');
    expect(format(m, { n: 2 }, 'en')).toBe('2 minutes');
    // Chinese has one form: "other".
    expect(format(m, { n: 1 }, 'zh-CN')).toBe('1 minutes');
    // Exact matches first; a count already formatted for display still counts.
    expect(format('{n, plural, =0 {none} one {# item} other {# items}}', { n: 0 }, 'en')).toBe('none');
    expect(format('{n, plural, one {# customer} other {# customers}}', { n: '1,234' }, 'en')).toBe('1,234 customers');
    expect(format('{n, plural, one {# customer} other {# customers}}', { n: '1' }, 'en')).toBe('1 customer');
  });

  it('fills in placeholders inside a plural branch', () => {
    const m = '{n, plural, one {# step in {name}} other {# steps in {name}}} done';
    expect(format(m, { n: 1, name: 'j1' }, 'en')).toBe('1 step in j1 done');
    expect(format(m, { n: 4, name: 'j1' }, 'en')).toBe('4 steps in j1 done');
  });
});

describe('catalogues', () => {
  const placeholders = (m: string) => [...new Set([...m.matchAll(/\{(\w+)(?=\}|\s*,\s*plural)/g)].map((x) => x[1]))].sort();

  it('use the same placeholders in both languages', () => {
    for (const [key, text] of Object.entries(catalogues.en)) expect([key, placeholders(catalogues['zh-CN'][key])]).toEqual([key, placeholders(text)]);
  });

  it('give every plural an "other" form and balanced braces', () => {
    for (const [lang, cat] of Object.entries(catalogues)) {
      for (const [key, text] of Object.entries(cat)) {
        expect([lang, key, (text.match(/\{/g) || []).length]).toEqual([lang, key, (text.match(/\}/g) || []).length]);
        if (/\{\w+\s*,\s*plural\s*,/.test(text)) expect([lang, key, /other\s*\{/.test(text)]).toEqual([lang, key, true]);
      }
    }
  });
});

describe('English counts outside the journey editor', () => {
  const { t } = translator('en');
  it('choose one or other by the number, formatted or not', () => {
    expect(t('analysis.meta', { from: 'a', to: 'b', tz: 'UTC', rows: '1', ms: 3 })).toBe('a to b (UTC) · 1 row scanned in 3 ms');
    expect(t('analysis.meta', { from: 'a', to: 'b', tz: 'UTC', rows: '12,345', ms: 3 })).toBe('a to b (UTC) · 12,345 rows scanned in 3 ms');
    expect(t('drill.total', { n: '1', from: 1, to: 1 })).toBe('1 person; showing 1–1.');
    expect(t('segments.membersRange', { total: '2', from: 1, to: 2 })).toBe('2 members; showing 1–2');
    expect(t('tags.saved', { name: 'vip', n: 1 })).toBe('Tag vip saved and computed: 1 customer has a value.');
    expect(t('audit.chainBrokenDetail', { seq: 7, reason: 'hash', n: 1 })).toBe('First bad entry: #7 (hash); 1 entry before it verified.');
  });
});

describe('English plurals in the journey editor', () => {
  const { tx } = translator('en');
  it('durations', () => {
    expect(durationText('1m', tx)).toBe('1 minute');
    expect(durationText('30m', tx)).toBe('30 minutes');
    expect(durationText('1h', tx)).toBe('1 hour');
    expect(durationText('1d', tx)).toBe('1 day');
    expect(durationText('7d', tx)).toBe('7 days');
    expect(durationText('1s', tx)).toBe('1 second');
  });
  it('in Chinese', () => {
    expect(durationText('1m', translator('zh-CN').tx)).toBe('1 分钟');
  });
  it('backtest summary', () => {
    const { t } = translator('en');
    const text = t('journeys.bt.summary', { events: 1, ms: 5, entered: 1, goal: 0 });
    expect(text).toBe('Replayed 1 event in 5 ms: 1 entry and 0 goal conversions would have happened.');
  });
});

describe('stored messages follow the language switch', () => {
  it('a notice made in one language reads in the other after the switch', () => {
    // Made while the console was in Chinese, kept in the editor's state or the navigation state
    // (which the browser stores as a structured clone).
    const notice = structuredClone(msg('journeys.done.saved', { version: 2 }));
    expect(isMsg(notice)).toBe(true);
    expect(translator('zh-CN').tm(notice)).toBe(catalogues['zh-CN']['journeys.done.saved'].replace('{version}', '2'));
    expect(translator('en').tm(notice)).toBe('Saved (version 2).');
  });

  it('form errors too', () => {
    const error = msg('journeys.panel.idTaken', { id: 'send_1' });
    expect(translator('en').tm(error)).toContain('send_1');
    expect(translator('en').tm(error)).not.toBe(translator('zh-CN').tm(error));
  });

  it('only known keys count as stored messages', () => {
    expect(isMsg('Saved (version 2).')).toBe(false);
    expect(isMsg({ key: 'no.such.key' })).toBe(false);
    expect(isMsg({ key: 'journeys.done.submit' })).toBe(true);
    expect(isMsg({ key: 'journeys.done.saved', vars: 'x' })).toBe(false);
    expect(isMsg(null)).toBe(false);
  });

  it('every key resolves in both languages', () => {
    for (const key of Object.keys(catalogues.en) as MessageKey[]) {
      expect(translator('en').t(key)).not.toBe(key);
      expect(translator('zh-CN').t(key)).not.toBe(key);
    }
  });
});
