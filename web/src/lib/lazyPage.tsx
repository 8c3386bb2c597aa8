// Route-level code splitting: a page is a component of its own module, downloaded the first time
// the page is shown. `preload()` starts the download early (main.tsx preloads the page of the
// address the console was opened at, alongside the sign-in check, instead of after it).
//
// A page whose module has already arrived is rendered directly, not through React.lazy: a lazy
// component suspends on its first render even then, and React 19 holds back the reveal of a
// suspended boundary for up to 300 ms, which would make every first page load that much slower.
import { lazy, useState, type ComponentProps, type ComponentType } from 'react';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyComponent = ComponentType<any>;

export type LazyPage<C extends AnyComponent> = ComponentType<ComponentProps<C>> & { preload: () => Promise<unknown> };

/** The component `name` of the module `load` imports, loaded on first render or on preload(). */
export function lazyPage<M extends Record<K, AnyComponent>, K extends keyof M>(load: () => Promise<M>, name: K): LazyPage<M[K]> {
  let module: Promise<M> | null = null;
  let loaded: M[K] | null = null;
  const preload = () => {
    module ??= load().then(
      (m) => {
        loaded = m[name];
        return m;
      },
      (e: unknown) => {
        // A failed download (e.g. the console was rebuilt since the tab was opened) is retried.
        module = null;
        throw e;
      },
    );
    return module;
  };
  const Lazy = lazy(() => preload().then((m) => ({ default: m[name] })));
  function Page(props: ComponentProps<M[K]>) {
    // Decided once per mounted page, so that the element type never changes under it.
    const [Direct] = useState(() => loaded);
    return Direct ? <Direct {...props} /> : <Lazy {...props} />;
  }
  Page.displayName = `Page(${String(name)})`;
  return Object.assign(Page, { preload });
}

export function isLazyPage(x: unknown): x is LazyPage<AnyComponent> {
  return typeof x === 'function' && typeof (x as { preload?: unknown }).preload === 'function';
}
