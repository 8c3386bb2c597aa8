// A tiny typed i18n layer. Every user-visible string lives in zh-CN.json / en.json; the key
// type comes from en.json, and the two catalogues must have exactly the same keys (checked by
// the compiler below). `t('key', {n: 3})` replaces `{n}` in the message.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import enBase from './en.json';
import zhBase from './zh-CN.json';
// Segments, tags, channels, tasks, audit and accounts pages (keys prefixed by their area).
import pagesEn from './pages.en.json';
import pagesZh from './pages.zh-CN.json';
// Journeys: list, canvas editor, dry run, backtest, effect report (keys prefixed "journeys.").
import journeysEn from './journeys.en.json';
import journeysZh from './journeys.zh-CN.json';
// Analysis: distribution, interval, paths, attribution, stage map, dashboards (keys prefixed
// "paths.", "distribution.", "interval.", "attribution.", "stagemap.", "dashboards.", "durationUnit.").
import analysisEn from './analysis.en.json';
import analysisZh from './analysis.zh-CN.json';
// Settings and the wall screen (keys prefixed "settings.", "wall.").
import settingsEn from './settings.en.json';
import settingsZh from './settings.zh-CN.json';

const en = { ...enBase, ...pagesEn, ...journeysEn, ...analysisEn, ...settingsEn };
const zh = { ...zhBase, ...pagesZh, ...journeysZh, ...analysisZh, ...settingsZh };

export type MessageKey = keyof typeof en;
export type Locale = 'zh-CN' | 'en';
export const LOCALES: Locale[] = ['zh-CN', 'en'];

// Both directions: a key missing from either file fails `tsc -b`.
const zhChecked: Record<MessageKey, string> = zh;
const enChecked: Record<keyof typeof zh, string> = en;
const catalogues: Record<Locale, Record<MessageKey, string>> = { 'zh-CN': zhChecked, en: enChecked as Record<MessageKey, string> };

const STORAGE_KEY = 'sextant.locale';

function initialLocale(): Locale {
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

interface I18nValue {
  locale: Locale;
  setLocale: (l: Locale) => void;
  t: TFunction;
  /** Translate a key built at run time; `fallback` when the catalogue does not have it. */
  tx: (key: string, fallback: string, vars?: Vars) => string;
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

export function format(msg: string, vars?: Vars): string {
  if (!vars) return msg;
  return msg.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
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
    setLocaleState(l);
    try {
      localStorage.setItem(STORAGE_KEY, l);
    } catch {
      /* ignore */
    }
  }, []);

  const value = useMemo<I18nValue>(() => {
    const cat = catalogues[locale];
    const t: TFunction = (key, vars) => format(cat[key] ?? key, vars);
    const tx = (key: string, fallback: string, vars?: Vars) => (key in cat ? format(cat[key as MessageKey], vars) : fallback);
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
    return { locale, setLocale, t, tx, n, pct, dt, timeZone, setTimeZone };
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
