import type { Permission } from '../api/auth';
import type { MessageKey } from '../i18n';

export interface NavItem {
  path: string;
  label: MessageKey;
  /** Any one of these lets the account see the item (none = every account). */
  anyOf?: Permission[];
}

export const NAV: NavItem[] = [
  { path: '/', label: 'nav.overview' },
  { path: '/data', label: 'nav.data', anyOf: ['data.read'] },
  { path: '/users', label: 'nav.users', anyOf: ['data.read'] },
  { path: '/analysis', label: 'nav.analysis', anyOf: ['analysis.read'] },
  { path: '/segments', label: 'nav.segments', anyOf: ['audience.read'] },
  { path: '/tags', label: 'nav.tags', anyOf: ['audience.read'] },
  { path: '/journeys', label: 'nav.journeys', anyOf: ['journey.read'] },
  { path: '/channels', label: 'nav.channels', anyOf: ['rules.read'] },
  { path: '/tasks', label: 'nav.tasks', anyOf: ['task.read'] },
  { path: '/audit', label: 'nav.audit', anyOf: ['audit.read', 'ledger.read'] },
  { path: '/wall', label: 'wall.nav', anyOf: ['analysis.read'] },
  { path: '/accounts', label: 'accounts.nav', anyOf: ['admin'] },
  { path: '/settings', label: 'settings.nav' },
];
