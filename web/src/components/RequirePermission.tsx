import type { ReactNode } from 'react';
import type { Permission } from '../api/auth';
import { useAuth } from '../auth/AuthContext';
import { NoPermission } from './Feedback';

export function RequirePermission({ anyOf, children }: { anyOf: Permission[]; children: ReactNode }) {
  const { can } = useAuth();
  if (!anyOf.some((p) => can(p))) return <NoPermission permission={anyOf.join(' / ')} />;
  return <>{children}</>;
}
