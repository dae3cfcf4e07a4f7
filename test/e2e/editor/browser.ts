// Debian's chromium, driven by playwright-core, with a fresh profile; and a log of what the editor page
// reports as broken (uncaught exceptions, console errors, and the editor's own reports of a failing node
// definition or edit dialog).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launch(viewport = { width: 1400, height: 900 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'ps-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
    viewport,
    deviceScaleFactor: 1,
    timeout: 60_000,
  });
  // only loopback: anything else is refused (the editor links to a few external pages it never needs here)
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (route) => route.abort());
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface PageProblem {
  kind: 'pageerror' | 'console';
  level: string;
  text: string;
  url: string;
  /** True when it concerns this package's nodes (by type name, admin endpoint or node definition). */
  ours: boolean;
}

const EDITOR_REPORT = /^(Definition error|onedit(prepare|save|cancel|delete|resize))/;
const OURS = /photoshelter/i;

/** Collects problems the page reports; `allow(re)` marks problems matching re as expected until released. */
export class ProblemLog {
  readonly all: PageProblem[] = [];
  private allowed: RegExp[] = [];

  attach(page: Page): void {
    page.on('pageerror', (err) => {
      const text = `${err.message}\n${err.stack ?? ''}`;
      this.add({ kind: 'pageerror', level: 'error', text, url: page.url(), ours: true });
    });
    page.on('console', (msg: ConsoleMessage) => {
      const text = msg.text();
      const level = msg.type();
      const url = msg.location().url ?? '';
      const editorReport = level === 'log' && EDITOR_REPORT.test(text);
      if (level !== 'error' && level !== 'warning' && !editorReport) return;
      const ours = editorReport ? OURS.test(text) : level === 'error' && (OURS.test(text) || OURS.test(url));
      this.add({ kind: 'console', level, text, url, ours });
    });
  }

  private add(p: PageProblem): void {
    if (this.allowed.some((re) => re.test(p.text) || re.test(p.url))) return;
    this.all.push(p);
  }

  /** Runs fn with problems matching re treated as expected (e.g. the 4xx/5xx of a failing connection test). */
  async allowing<T>(re: RegExp, fn: () => Promise<T>): Promise<T> {
    this.allowed.push(re);
    try {
      return await fn();
    } finally {
      this.allowed = this.allowed.filter((r) => r !== re);
    }
  }

  ours(): PageProblem[] {
    return this.all.filter((p) => p.ours);
  }

  describe(list: PageProblem[] = this.all): string {
    return list.map((p) => `[${p.kind}/${p.level}] ${p.text}${p.url ? ` (${p.url})` : ''}`).join('\n');
  }
}
