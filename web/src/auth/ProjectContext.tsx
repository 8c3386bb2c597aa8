// The project every page works on: chosen in the header, remembered in localStorage, limited
// to the projects the account may open.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { listProjects, type Project } from '../api/projects';
import { useAuth } from './AuthContext';
import { useI18n } from '../i18n';

const STORAGE_KEY = 'sextant.project';

interface ProjectValue {
  projects: Project[];
  project: string | null;
  current: Project | null;
  setProject: (name: string) => void;
  loading: boolean;
  error: unknown;
  reload: () => void;
}

const ProjectContext = createContext<ProjectValue | null>(null);

export function ProjectProvider({ children }: { children: ReactNode }) {
  const { status, canOpenProject } = useAuth();
  const [projects, setProjects] = useState<Project[]>([]);
  const [project, setProjectState] = useState<string | null>(() => {
    try {
      return localStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  });
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (status !== 'signed_in') return;
    let cancelled = false;
    setLoading(true);
    setError(null);
    listProjects()
      .then((all) => {
        if (cancelled) return;
        const allowed = all.filter((p) => canOpenProject(p.name));
        setProjects(allowed);
        setProjectState((cur) => {
          if (cur && allowed.some((p) => p.name === cur)) return cur;
          const pick = allowed.find((p) => p.name === 'default')?.name ?? allowed[0]?.name ?? null;
          return pick;
        });
      })
      .catch((e) => !cancelled && setError(e))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [status, canOpenProject, tick]);

  const setProject = useCallback((name: string) => {
    setProjectState(name);
    try {
      localStorage.setItem(STORAGE_KEY, name);
    } catch {
      /* ignore */
    }
  }, []);

  // Times are shown in the project's time zone, the zone its days are counted in.
  const { setTimeZone } = useI18n();
  const zone = projects.find((p) => p.name === project)?.time_zone;
  useEffect(() => setTimeZone(zone), [zone, setTimeZone]);

  const value = useMemo<ProjectValue>(
    () => ({
      projects,
      project,
      current: projects.find((p) => p.name === project) ?? null,
      setProject,
      loading,
      error,
      reload: () => setTick((x) => x + 1),
    }),
    [projects, project, setProject, loading, error],
  );
  return <ProjectContext.Provider value={value}>{children}</ProjectContext.Provider>;
}

export function useProject(): ProjectValue {
  const v = useContext(ProjectContext);
  if (!v) throw new Error('useProject outside ProjectProvider');
  return v;
}
