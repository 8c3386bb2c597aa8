// The Chinese catalogue (the default language, part of the first load): one file per area.
import base from './zh-CN.json';
// Segments, tags, channels, tasks, audit and accounts pages (keys prefixed by their area).
import pages from './pages.zh-CN.json';
// Journeys: list, canvas editor, dry run, backtest, effect report (keys prefixed "journeys.").
import journeys from './journeys.zh-CN.json';
// Analysis: distribution, interval, paths, attribution, stage map, dashboards (keys prefixed
// "paths.", "distribution.", "interval.", "attribution.", "stagemap.", "dashboards.", "durationUnit.").
import analysis from './analysis.zh-CN.json';
// Settings and the wall screen (keys prefixed "settings.", "wall.").
import settings from './settings.zh-CN.json';

export default { ...base, ...pages, ...journeys, ...analysis, ...settings };
