/**
 * A vitest reporter that adds one line after the summary when the review page's browser tests were skipped
 * (no Chromium on this machine), naming what enables them. Vitest's own summary only counts them as skipped.
 */
import type { Reporter, TestModule } from 'vitest/node';
import { CHROMIUM, skipBrowser } from '../serve/browser.js';

export default class SkippedNote implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    if (!skipBrowser) return;
    const skipped = modules
      .filter((m) => /review-page(-stale)?\.test\.ts$/.test(m.moduleId))
      .reduce((n, m) => n + [...m.children.allTests()].filter((t) => t.result().state === 'skipped').length, 0);
    if (skipped === 0) return;
    process.stdout.write(
      `\n${skipped} browser tests skipped: no Chromium at ${CHROMIUM}. ` +
        'Enable them with `sudo apt-get install -y chromium && npm test` (or NERD_CHROMIUM=/path/to/chromium npm test).\n',
    );
  }
}
