import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { I18nProvider, initialLocale, loadLocale } from './i18n';
import { AuthProvider } from './auth/AuthContext';
import { getToken } from './api/client';
import { App, preloadRoute } from './App';
import './styles.css';

// The page asked for is fetched at once, while the session is being checked (AuthContext starts
// that check when it loads), not after; on the login page, the overview that follows it. With a
// stored session the first render also waits for the page, so that the page renders in one go:
// a page that suspends behind a loading fallback is revealed by React up to 300 ms late. The
// first render waits for the chosen language too, when it is not the built-in Chinese.
const path = window.location.pathname;
const page = preloadRoute(path === '/login' ? '/' : path);
void Promise.all([loadLocale(initialLocale()), getToken() ? page : null]).then(() =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <I18nProvider>
        <AuthProvider>
          <BrowserRouter>
            <App />
          </BrowserRouter>
        </AuthProvider>
      </I18nProvider>
    </StrictMode>,
  ),
);
