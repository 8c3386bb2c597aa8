import { api } from './client';

export interface Project {
  name: string;
  time_zone?: string;
  token_required?: boolean;
}

export async function listProjects(): Promise<Project[]> {
  const r = await api.get<{ projects: Project[] }>('/api/v1/projects');
  return r.projects || [];
}
