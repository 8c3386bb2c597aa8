// A tiny typed i18n layer. Every user-visible string lives in zh-CN.json / en.json (and the
// per-area files, merged in catalogue.<locale>.ts); the key type comes from the English files,
// and the two catalogues must have exactly the same keys (checked by the compiler below). `t('key', {n: 3})` replaces `{n}` in the message; a message that depends
// on a count chooses its words with `{n, plural, one {# minute} other {# minutes}}` (ICU
// MessageFormat's plural, by the language's Intl.PluralRules).
//
// A message shown later (a notice after saving, a form's error) is kept as a `Msg` — its key and
// variables — and translated when it is shown, so that it follows the language switch.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import zh from './catalogue.zh-CN';
import type en from './catalogue.en';

export type MessageKey = keyof typeof en;
export type Locale = 'zh-CN' | 'en';
export const LOCALES: Locale[] = ['zh-CN', 'en'];
type Catalogue = Record<MessageKey, string>;

// Chinese, the default, is part of the first load; English is fetched when it is chosen
// (about 110 KiB that most sessions never use). Both directions are checked: a key missing
// from either language fails `tsc -b` (here for Chinese, in the English loader for English).
const zhChecked: Catalogue = zh;
const catalogues: Partial<Record<Locale, Catalogue>> = { 'zh-CN': zhChecked };
const loaders: Record<Locale, () => Promise<Catalogue>> = {
  'zh-CN': async () => zhChecked,
  en: () => import('./catalogue.en').then((m): Catalogue & Record<keyof typeof zh, string> => m.default),
};

/** Makes `locale` available (its catalogue loaded); resolves false when it could not be. */
export async function loadLocale(locale: Locale): Promise<boolean> {
  if (catalogues[locale]) return true;
  try {
    catalogues[locale] = await loaders[locale]();
    return true;
  } catch {
    return false;
  }
}

const STORAGE_KEY = 'sextant.locale';

/** The language chosen last time (localStorage), else Chinese. */
export function initialLocale(): Locale {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    if (v === 'en' || v === 'zh-CN') return v;
  } catch {
    /* ignore */
  }
  return 'zh-CN';
}

export type Vars = Record<string, string | number>;
export type TFunction = (key: MessageKey, vars?: Vars) => string;
export type TxFunction = (key: string, fallback: string, vars?: Vars) => string;

/** A message to translate when it is shown: a catalogue key and its variables. */
export interface Msg {
  key: MessageKey;
  vars?: Vars;
}
export const msg = (key: MessageKey, vars?: Vars): Msg => (vars ? { key, vars } : { key });

/** Is `x` a Msg (e.g. one passed in a navigation's state)? */
export function isMsg(x: unknown): x is Msg {
  if (!x || typeof x !== 'object') return false;
  const m = x as Partial<Msg>;
  return typeof m.key === 'string' && m.key in zhChecked && (m.vars === undefined || (typeof m.vars === 'object' && m.vars !== null));
}

interface I18nValue {
  locale: Locale;
  setLocale: (l: Locale) => void;
  t: TFunction;
  /** Translate a key built at run time; `fallback` when the catalogue does not have it. */
  tx: TxFunction;
  /** A stored message in the current language. */
  tm: (m: Msg) => string;
  /** Number in the current locale; null/undefined → "—". */
  n: (v: number | null | undefined, opts?: Intl.NumberFormatOptions) => string;
  /** Percentage of a 0..1 ratio. */
  pct: (v: number | null | undefined, digits?: number) => string;
  /** Date and time (ms since the epoch) in the project's time zone. */
  dt: (ms: number | null | undefined) => string;
  /** The zone times are shown in (the current project's; undefined = the browser's). */
  timeZone: string | undefined;
  setTimeZone: (tz: string | undefined) => void;
}

const I18nContext = createContext<I18nValue | null>(null);

const pluralRules = new Map<string, Intl.PluralRules>();
function pluralCategory(locale: string, count: number): string {
  let rules = pluralRules.get(locale);
  if (!rules) pluralRules.set(locale, (rules = new Intl.PluralRules(locale)));
  return rules.select(count);
}

/** The count in a variable: a number, or a number already formatted for display ("1,234"). */
function countOf(v: string | number): number {
  return typeof v === 'number' ? v : Number(v.replace(/[^\d.eE+-]/g, ''));
}

/** The end of the `{...}` group opened at `open` (nested groups skipped), or -1. */
function closingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

/** `one {# minute} other {# minutes}` → the text of the branch for `count` (exact `=n` first). */
function pluralBranch(options: string, count: number, locale: string): string | null {
  const branches = new Map<string, string>();
  let i = 0;
  while (i < options.length) {
    const m = /^\s*(=?[\w.]+)\s*\{/.exec(options.slice(i));
    if (!m) break;
    const open = i + m[0].length - 1;
    const close = closingBrace(options, open);
    if (close < 0) break;
    branches.set(m[1], options.slice(open + 1, close));
    i = close + 1;
  }
  return branches.get(`=${count}`) ?? branches.get(pluralCategory(locale, count)) ?? branches.get('other') ?? null;
}

/**
 * Fills in a message: `{name}` is `vars.name`; `{name, plural, one {…} other {…}}` is the branch
 * the language's plural rules choose for the count `vars.name`, with `#` standing for it. A
 * placeholder without a variable is left as it is.
 */
export function format(message: string, vars?: Vars, locale: string = 'en'): string {
  if (!vars || !message.includes('{')) return message;
  let out = '';
  let i = 0;
  while (i < message.length) {
    const open = message.indexOf('{', i);
    if (open < 0) break;
    const close = closingBrace(message, open);
    if (close < 0) break;
    out += message.slice(i, open);
    const body = message.slice(open + 1, close);
    const plural = /^\s*(\w+)\s*,\s*plural\s*,/.exec(body);
    const name = plural ? plural[1] : body.trim();
    if (!(name in vars) || (!plural && !/^\w+$/.test(body))) {
      out += message.slice(open, close + 1);
    } else if (plural) {
      const value = vars[name];
      const branch = pluralBranch(body.slice(plural[0].length), countOf(value), locale);
      out += branch === null ? String(value) : format(branch.replace(/#/g, String(value)), vars, locale);
    } else {
      out += String(vars[name]);
    }
    i = close + 1;
  }
  return out + message.slice(i);
}

/**
 * The translate functions of one language (what the provider offers; also used by tests), in
 * Chinese while the language's catalogue is not loaded (loadLocale).
 */
export function translator(locale: Locale): { t: TFunction; tx: TxFunction; tm: (m: Msg) => string } {
  const cat = catalogues[locale] ?? zhChecked;
  const t: TFunction = (key, vars) => format(cat[key] ?? key, vars, locale);
  const tx: TxFunction = (key, fallback, vars) => (key in cat ? format(cat[key as MessageKey], vars, locale) : fallback);
  return { t, tx, tm: (m) => t(m.key, m.vars) };
}

export function I18nProvider({ children }: { children: ReactNode }) {
  // main.tsx loads the initial language before the first render.
  const [locale, setLocaleState] = useState<Locale>(() => (catalogues[initialLocale()] ? initialLocale() : 'zh-CN'));
  const [timeZone, setTimeZoneState] = useState<string | undefined>(undefined);
  const setTimeZone = useCallback((tz: string | undefined) => {
    // An unknown zone name would make Intl throw: fall back to the browser's.
    try {
      if (tz) new Intl.DateTimeFormat('en', { timeZone: tz });
      setTimeZoneState(tz);
    } catch {
      setTimeZoneState(undefined);
    }
  }, []);

  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);

  const setLocale = useCallback((l: Locale) => {
    try {
      localStorage.setItem(STORAGE_KEY, l);
    } catch {
      /* ignore */
    }
    // The page stays in the current language for the moment the catalogue takes to arrive.
    void loadLocale(l).then((ok) => ok && setLocaleState(l));
  }, []);

  const value = useMemo<I18nValue>(() => {
    const { t, tx, tm } = translator(locale);
    const nf = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
    const n = (v: number | null | undefined, opts?: Intl.NumberFormatOptions) =>
      v === null || v === undefined || Number.isNaN(v) ? '—' : opts ? new Intl.NumberFormat(locale, opts).format(v) : nf.format(v);
    const pct = (v: number | null | undefined, digits = 1) =>
      v === null || v === undefined || !Number.isFinite(v)
        ? '—'
        : new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
    const dtf = new Intl.DateTimeFormat(locale, {
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
      timeZone,
    });
    const dt = (ms: number | null | undefined) => (ms === null || ms === undefined || ms <= 0 ? '—' : dtf.format(new Date(ms)));
    return { locale, setLocale, t, tx, tm, n, pct, dt, timeZone, setTimeZone };
  }, [locale, setLocale, timeZone, setTimeZone]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18nValue {
  const v = useContext(I18nContext);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}

/** The translate function alone. */
export function useT(): TFunction {
  return useI18n().t;
}
