// `npm run tour` against the test stack, as a new user runs it against `npm start`: every step's
// command is printed with its answer, and the tour ends with the click and the unsubscribe seen.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.ts';
import { endpoints } from '../support/local.ts';

function tour(): Promise<{ code: number; out: string }> {
  const e = endpoints();
  const env = { ...process.env, BATON_BUS_PORT: new URL(e.bus).port, BATON_DYNAMODB_PORT: new URL(e.dynamodb).port, BATON_SES_PORT: new URL(e.ses).port };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'local/tour.ts', '--stage', 'test'], { cwd: ROOT, env, timeout: 400_000 }, (error, stdout, stderr) => {
      resolve({ code: typeof error?.code === 'number' ? error.code : error ? -1 : 0, out: `${stdout}${stderr}` });
    });
  });
}

describe('npm run tour', () => {
  it('walks from an event to an explained decision, printing each command and its answer', async () => {
    const { code, out } = await tour();

    expect(out, out).toContain('tour done.');
    expect(code).toBe(0);
    for (const command of ['send customer.json', 'templates put template.json', 'rules put rule.json', 'rules test rule.json', 'send sale.json', 'simulate dec-', 'customer show tess.tour-', 'explain dec-', 'rules disable tour-welcome-']) {
      expect(out).toContain(`$ npx baton ${command}`);
    }
    expect(out).toMatch(/decision dec-\S+: mail "Welcome, Tess" to /);
    expect(out).toMatch(/contacts: .* clicks 1 .* unsubscribes 1$/m);
    expect(out).toMatch(/email +no +withdrawn \S+ via unsubscribe-link/);
    expect(out).toMatch(/chosen +tour-welcome-\S+ \(email, campaign tour/);
  }, 420_000);
});
