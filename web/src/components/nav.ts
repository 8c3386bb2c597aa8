import type { Permission } from '../api/auth';
import type { MessageKey } from '../i18n';

export interface NavItem {
  path: string;
  label: MessageKey;
  /** Any one of these lets the account see the item (none = every account). */
  anyOf?: Permission[];
  /** Built in this version (false: a placeholder page). */
  ready: boolean;
}

export const NAV: NavItem[] = [
  { path: '/', label: 'nav.overview', ready: true },
  { path: '/data', label: 'nav.data', anyOf: ['data.read'], ready: true },
  { path: '/users', label: 'nav.users', anyOf: ['data.read'], ready: true },
  { path: '/analysis', label: 'nav.analysis', anyOf: ['analysis.read'], ready: true },
  { path: '/segments', label: 'nav.segments', anyOf: ['audience.read'], ready: true },
  { path: '/tags', label: 'nav.tags', anyOf: ['audience.read'], ready: true },
  { path: '/journeys', label: 'nav.journeys', anyOf: ['journey.read'], ready: true },
  { path: '/channels', label: 'nav.channels', anyOf: ['rules.read'], ready: true },
  { path: '/tasks', label: 'nav.tasks', anyOf: ['task.read'], ready: true },
  { path: '/audit', label: 'nav.audit', anyOf: ['audit.read', 'ledger.read'], ready: true },
  { path: '/wall', label: 'wall.nav', anyOf: ['analysis.read'], ready: true },
  { path: '/accounts', label: 'accounts.nav', anyOf: ['admin'], ready: true },
  { path: '/settings', label: 'settings.nav', ready: true },
];
