// The local mail page's link tracking (local/ses-feedback.ts): every followable link, however its
// href is quoted, and nothing inside comments, scripts or styles.
import { describe, expect, it } from 'vitest';
import { trackLinks } from '../../local/ses-feedback.ts';

const track = (url: string) => (url.includes('/unsubscribe?') ? undefined : `/t?u=${encodeURIComponent(url)}`);

describe('trackLinks', () => {
  it('rewrites single-quoted, double-quoted and unquoted hrefs, decoding entities in the URL', () => {
    const html = `<a href='https://x.example/s?a=1'>s</a><a class="c" href="https://x.example/d?a=1&amp;b=2">d</a><a href=https://x.example/u>u</a><map><area href="https://x.example/m"></map>`;

    expect(trackLinks(html, track)).toBe(
      '<a href="/t?u=https%3A%2F%2Fx.example%2Fs%3Fa%3D1">s</a><a class="c" href="/t?u=https%3A%2F%2Fx.example%2Fd%3Fa%3D1%26b%3D2">d</a>' +
        '<a href="/t?u=https%3A%2F%2Fx.example%2Fu">u</a><map><area href="/t?u=https%3A%2F%2Fx.example%2Fm"></map>',
    );
  });

  it('leaves links in comments, scripts and styles, non-web links and the ones track declines', () => {
    const html = [
      '<!-- <a href="https://x.example/old">old</a> -->',
      `<script>if (a < b) document.write('<a href="https://x.example/js">');</script>`,
      '<style>a[href="https://x.example/css"] { color: red }</style>',
      '<a href="mailto:help@x.example">mail</a><a href="/relative">rel</a><a>none</a>',
      "<a href='https://x.example/unsubscribe?t=abc'>unsubscribe</a>",
    ].join('');

    expect(trackLinks(html, track)).toBe(html.replace("href='https://x.example/unsubscribe?t=abc'", 'href="https://x.example/unsubscribe?t=abc"'));
  });

  it('keeps the text as written, non-ASCII letters included', () => {
    expect(trackLinks('<p>Grüße, Jürgen &amp; Zoë</p>', track)).toBe('<p>Grüße, Jürgen &amp; Zoë</p>');
  });
});
