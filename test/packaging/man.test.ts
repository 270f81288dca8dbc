import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, parseBlocks, renderPage, roffEscape, summaryOf } from '../../scripts/man.mjs';
import { have, ROOT, tempDir } from '../helpers/run.js';

const DOCS = join(ROOT, 'docs/commands');
const PAGES = readdirSync(DOCS)
  .filter((f) => f.endsWith('.md'))
  .sort();

/** page renders Markdown as the page docs/commands/NAME.md would be. */
function page(md: string, name = 'img-test'): string {
  const file = join(DOCS, `${name}.md`);
  return renderPage(md, { file, pages: new Map([[file, name]]), root: ROOT, version: '9.9.9', date: '2024-01-02' }).roff;
}

/** warnings renders a page at 80 columns as man shows it and returns what groff and man say on stderr. */
function warnings(file: string): string {
  const man = spawnSync('man', ['--warnings', '-l', file], { env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '' }, encoding: 'utf8' });
  const groff = spawnSync('groff', ['-t', '-man', '-ww', '-z', file], { encoding: 'utf8' });
  return `${man.stderr}${groff.stderr}`;
}

/** text renders a page as plain text, 80 columns wide. */
function text(file: string): string {
  return spawnSync('man', ['-l', file], { env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' }, encoding: 'utf8' }).stdout.replace(
    /.\x08/g,
    '',
  );
}

describe.skipIf(!have('man') || !have('groff'))('man pages of docs/commands', () => {
  const out = tempDir('imgpipe-man-');
  const written: string[] = generate({ files: PAGES.map((f) => join(DOCS, f)), out, root: ROOT, version: '0.0.0' });

  it('makes one page per docs/commands page, and one that sources it for each other command its title names', () => {
    for (const f of PAGES) expect(written).toContain(f.replace(/\.md$/, ''));
    expect(readFileSync(join(out, 'img-logout.1'), 'utf8')).toBe('.so man1/img-login.1\n');
  });

  it.each(PAGES)('%s renders without warnings from groff or man, with NAME, SYNOPSIS and DESCRIPTION', (f) => {
    const file = join(out, f.replace(/\.md$/, '.1'));
    expect(warnings(file)).toBe('');
    const shown = text(file);
    const name = f.replace(/\.md$/, '');
    expect(shown).toMatch(new RegExp(`^NAME\\n {7}${name}(, [a-z-]+)* - \\S`, 'm'));
    expect(shown).toMatch(/^SYNOPSIS\n {7}\S/m);
    expect(shown).toMatch(/^DESCRIPTION\n/m);
    if (/^## Flags$/m.test(readFileSync(join(DOCS, f), 'utf8'))) expect(shown).toMatch(/^OPTIONS\n/m);
    // Hyphens in text are minus signs (\-), as options must be to be copied and searched for.
    const textLines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => !/^[.']/.test(l));
    expect(textLines.filter((l) => /(^|[^\\])-/.test(l))).toEqual([]);
  });
});

describe('the Markdown to roff conversion', () => {
  it('escapes roff: a leading dot or apostrophe, backslashes, hyphens as \\-, quotes, non-ASCII', () => {
    expect(roffEscape("a-b \\n 'x' `y` …")).toBe('a\\-b \\en \\(aqx\\(aq \\(gay\\(ga \\[u2026]');
    const roff = page("# img-test\n\nDo it.\n\n## Notes\n\n.hidden request\n'also hidden\n\n```\n.TH in code\n'quoted\n\\fB\n```\n");
    expect(roff).toContain('\\&.hidden request \\(aqalso hidden');
    expect(roff).toMatch(/^\\&\.TH in code$/m);
    expect(roff).toMatch(/^\\\(aqquoted$/m);
    expect(roff).toMatch(/^\\efB$/m);
    expect(roff.split('\n').filter((l) => /^\.TH /.test(l))).toHaveLength(1);
  });

  it('takes NAME from the title and the first sentence, SYNOPSIS from the Synopsis section or a code block under the title', () => {
    const roff = page(
      '# img-test\n\nPrint things, as `skopeo` does. More here.\n\n## Synopsis\n\n```\nimg-test [--flag] REF\n```\n\n## Description\n\nIt prints.\n',
    );
    expect(roff).toMatch(/^\.SH NAME\nimg\\-test \\- Print things, as skopeo does$/m);
    expect(roff).toContain('\n.SH SYNOPSIS\n.nf\nimg\\-test [\\-\\-flag] REF\n.fi\n');
    expect(roff).toMatch(/^\.SH DESCRIPTION\nPrint things, as \\fBskopeo\\fR does\. More here\.\n\.PP\nIt prints\.$/m);
    const bare = page(
      '# img-test, img-other, and friends\n\n```\nimg-test REF\nimg-other REF\n```\n\nimg-test is the first of its kind: it does a lot.\n\nMore.\n',
    );
    expect(bare).toMatch(/^\.SH NAME\nimg\\-test, img\\-other \\- the first of its kind: it does a lot$/m);
    expect(bare).toMatch(/^\.SH SYNOPSIS\n\.nf\nimg\\-test REF\nimg\\-other REF\n\.fi\n\.SH DESCRIPTION\n/m);
  });

  it('shortens a long first sentence to a NAME line', () => {
    const long = '`img-x` checks the credentials against REGISTRY (`HOST[:PORT]`, or a namespace) with the flow (token or basic) and stores them: more.';
    expect(summaryOf(long, ['img-x'])).toBe('checks the credentials against REGISTRY with the flow and stores them');
  });

  it('turns lists, code blocks, emphasis, links and tables into man macros', () => {
    const md = [
      '# img-test',
      '',
      'One line.',
      '',
      '## Description',
      '',
      '- **bold** and *italic* and `code`',
      '  continued',
      '- second, with [img-test](img-test.md#x), [the protocol](../protocol.md#errors) and [a site](https://example.com/a)',
      '',
      '1. first',
      '2. second',
      '',
      '```console',
      '$ img-test --all',
      'output',
      '```',
      '',
      '## Flags',
      '',
      '| flag | meaning |',
      '|---|---|',
      '| `--format oci\\|v2s2` | the format |',
      '',
      '| a | b | c |',
      '|---|---|---|',
      '| 1 | two | three |',
    ].join('\n');
    const roff = page(md);
    expect(roff).toContain('.IP \\(bu 2\n\\fBbold\\fR and \\fIitalic\\fR and \\fBcode\\fR continued\n');
    expect(roff).toContain('.IP \\(bu 2\nsecond, with img\\-test, the protocol and a site <https://example.com/a>\n');
    expect(roff).toContain('.IP 1. 4\nfirst\n.IP 2. 4\nsecond\n');
    expect(roff).toContain('.RS 4\n.nf\n$ \\fBimg\\-test \\-\\-all\\fR\noutput\n.fi\n.RE');
    expect(roff).toContain('.SH OPTIONS\n.TP\n\\fBflag\\fR\n\\fBmeaning\\fR\n.TP\n\\fB\\-\\-format oci|v2s2\\fR\nthe format\n');
    expect(roff.startsWith('\'\\" t\n')).toBe(true);
    expect(roff).toContain('.TS\ntab(\t);\nl l l.\n');
    expect(roff).toMatch(/\.SH SEE ALSO\nThe imgpipe documentation in the imgpipe source tree:\n\\fIdocs\/protocol\.md\\fR$/m);
  });

  it('reads nested list items and paragraphs inside items', () => {
    const blocks = parseBlocks(['- one', '', '  more of one', '- two', 'lazy', '', 'after'].map(String));
    expect(blocks).toEqual([
      {
        type: 'list',
        ordered: false,
        items: [
          [
            { type: 'para', text: 'one' },
            { type: 'para', text: 'more of one' },
          ],
          [{ type: 'para', text: 'two lazy' }],
        ],
      },
      { type: 'para', text: 'after' },
    ]);
  });

  it('makes a page for any docs/commands page, as imgpipe-copy.md would be', () => {
    const dir = tempDir('imgpipe-man-new-');
    mkdirSync(join(dir, 'commands'));
    const file = join(dir, 'commands/imgpipe-copy.md');
    writeFileSync(file, '# imgpipe copy\n\nCopy an image, as `skopeo copy` does.\n\n```\nimgpipe copy SRC DEST\n```\n\nSee [imgpipe](imgpipe.md).\n');
    writeFileSync(join(dir, 'commands/imgpipe.md'), "# imgpipe\n\nskopeo's command line.\n");
    const out = join(dir, 'man');
    const names = generate({ files: [file, join(dir, 'commands/imgpipe.md')], out, root: dir, version: '1' });
    expect(names).toEqual(['imgpipe-copy', 'imgpipe']);
    const roff = readFileSync(join(out, 'imgpipe-copy.1'), 'utf8');
    expect(roff).toMatch(/^\.TH "IMGPIPE\\-COPY" "1" /m);
    expect(roff).toMatch(/^\.SH NAME\nimgpipe\\-copy \\- Copy an image, as skopeo copy does$/m);
    expect(roff).toMatch(/^\.SH SEE ALSO\n\\fBimgpipe\\fR\(1\)$/m);
    if (have('groff')) expect(spawnSync('groff', ['-man', '-ww', '-z', join(out, 'imgpipe-copy.1')], { encoding: 'utf8' }).stderr).toBe('');
  });
});
