// The English catalogue, loaded when English is chosen (i18n/index.tsx): the same files and keys
// as catalogue.zh-CN.ts. Its keys are the type of every message key.
import base from './en.json';
import pages from './pages.en.json';
import journeys from './journeys.en.json';
import analysis from './analysis.en.json';
import settings from './settings.en.json';

export default { ...base, ...pages, ...journeys, ...analysis, ...settings };
